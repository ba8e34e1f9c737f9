//! `dmosopt run`: resolve the config, open the result file, and drive the optimization —
//! locally with a pool of worker threads, or (under an MPI launcher with more than one rank)
//! as the controller or a worker of an MPI job ([`super::distributed`]).

use super::UsageError;
use crate::cli::RunArgs;
use crate::config::{self, ProblemDefinition, RunConfig, SurrogateConfig};
use crate::deadline::Deadline;
use crate::dist::Cluster;
use crate::driver::{run_local, FailureLimit, ProgressSink, RunSummary, StopReason};
use crate::eval::builtin::BuiltinEvaluator;
use crate::eval::pool::LocalPool;
use crate::eval::subprocess::{install_interrupt_handler, SubprocessEvaluator};
use crate::eval::Evaluator;
use crate::problem::Status;
use crate::store::hdf5::Hdf5Store;
use crate::store::{ParamValue, RunMetadata};
use crate::strategy::{EpochReport, SearchMode, Strategy, StrategyConfig};
use crate::surrogate::composite::CompositeTrainer;
use crate::surrogate::constraint_regression::ConstraintRegressionTrainer;
use crate::surrogate::torch::ensemble::EnsembleTrainer;
use crate::surrogate::torch::gp::GpTrainer;
use crate::surrogate::torch::joint::JointTrainer;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

pub fn run(args: &RunArgs, cluster: Option<&Cluster>) -> anyhow::Result<()> {
    match cluster {
        Some(cluster) if cluster.size() > 1 => super::distributed::run(args, cluster),
        _ => run_locally(args),
    }
}

fn run_locally(args: &RunArgs) -> anyhow::Result<()> {
    let config = load_config(args)?;
    let deadline = deadline(args)?;
    let evaluator = evaluator(&config, &args.config)?;
    let workers = args.execution.workers.unwrap_or_else(default_workers);
    if workers == 0 {
        return Err(UsageError("--workers must be at least 1".into()).into());
    }
    set_threads(args)?;
    let ranks_per_worker = ranks_per_worker(args, &config);
    if ranks_per_worker > 1 {
        tracing::warn!(
            "ranks per worker = {ranks_per_worker} is used only under MPI; each local worker \
             runs one evaluation at a time"
        );
    }
    let (mut store, mut strategy) = super::resume::open_run(args, &config)?;
    let pool = LocalPool::new(Arc::clone(&evaluator), workers)?;
    tracing::info!(
        problem = %config.problem.id,
        parameters = config.problem.space.dim(),
        objectives = config.problem.schema.n_objectives(),
        constraints = config.problem.schema.n_constraints(),
        workers,
        output = %config.output.file.display(),
        "starting run"
    );
    log_deadline(deadline.as_ref());
    let mut progress = ConsoleProgress::new(&config);
    let result = run_local(
        &mut strategy,
        &pool,
        &mut store,
        &mut progress,
        &mut FailureLimit::new(config.evaluator.max_failure_fraction),
        deadline.as_ref(),
    );
    progress.finish();
    drop(store);
    // Stop simulations still running (after a failure or at the deadline) or idle (persistent
    // processes) before the pool's threads are joined.
    evaluator.shutdown();
    let abandoned = matches!(
        &result,
        Ok(summary) if matches!(summary.stop, StopReason::Deadline { abandoned } if abandoned > 0)
    );
    if abandoned {
        // Do not wait for the evaluations still running: end the process now.
        pool.abandon();
    } else {
        drop(pool);
    }
    let summary = result.with_context(|| format!("run `{}` failed", config.problem.id))?;
    print_summary(&config, &summary, deadline.as_ref());
    Ok(())
}

/// `--threads`: libtorch's intra-op threads for the surrogate, 1 unless asked. More threads
/// than free cores make libtorch's OpenMP workers spin against each other: one GP epoch at 300
/// samples took 59 s with 2 threads on a busy 2-core machine and 3.9 s with 1; on an idle
/// machine 2 threads gain about 1.5×. So more threads are an explicit choice.
pub(super) fn set_threads(args: &RunArgs) -> anyhow::Result<()> {
    let threads = args.execution.threads.unwrap_or(1);
    if threads == 0 {
        return Err(UsageError("--threads must be at least 1".into()).into());
    }
    crate::surrogate::torch::set_threads(threads);
    Ok(())
}

/// `--ranks-per-worker`, else `evaluator.ranks_per_worker`.
pub(super) fn ranks_per_worker(args: &RunArgs, config: &RunConfig) -> usize {
    args.execution
        .ranks_per_worker
        .unwrap_or(config.evaluator.ranks_per_worker)
}

/// Read the config file with the command-line overrides applied.
pub(super) fn load_config(args: &RunArgs) -> anyhow::Result<RunConfig> {
    let mut overrides = args.overrides.set.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("optimizer.seed={seed}"));
    }
    if let Some(output) = &args.output {
        overrides.push(format!(
            "output.file={}",
            toml_string(&output.to_string_lossy())
        ));
    }
    if args.config_in_result_file {
        // `dmosopt resume FILE`: the configuration stored in the file, written back to it.
        let run = crate::store::read_run(&args.config, None, None)
            .with_context(|| format!("cannot resume from {}", args.config.display()))?;
        let text = run.config.ok_or_else(|| {
            UsageError(format!(
                "{}: no run/config in the file; only files written by dmosopt run can be resumed",
                args.config.display()
            ))
        })?;
        return Ok(config::load_str(&text, &args.config, &overrides)?);
    }
    Ok(config::load(&args.config, &overrides)?)
}

/// The deadline from `--deadline` and `SLURM_JOB_END_TIME`, if any.
pub(super) fn deadline(args: &RunArgs) -> anyhow::Result<Option<Deadline>> {
    let slurm = std::env::var(crate::deadline::SLURM_END_TIME_VARIABLE).ok();
    Deadline::resolve(
        args.execution.deadline.as_deref(),
        args.execution.deadline_margin,
        slurm.as_deref(),
        SystemTime::now(),
    )
    .map_err(|error| UsageError(error.to_string()).into())
}

pub(super) fn log_deadline(deadline: Option<&Deadline>) {
    if let Some(deadline) = deadline {
        tracing::info!(
            source = %deadline.source,
            at_unix = format!("{:.0}", deadline.unix_seconds()),
            margin_s = deadline.margin.as_secs_f64(),
            "deadline set: no new candidates from the deadline minus the margin on"
        );
    }
}

/// Check that the configured problem can be evaluated (without starting anything).
pub(super) fn check_evaluable(config: &RunConfig, path: &Path) -> anyhow::Result<()> {
    match (&config.evaluator.subprocess, &config.problem.definition) {
        (Some(_), _) | (None, ProblemDefinition::Builtin { .. }) => Ok(()),
        (None, ProblemDefinition::External) => Err(no_evaluator(config, path)),
    }
}

/// The evaluator the configuration asks for: the `[evaluator]` command if set, otherwise the
/// builtin problem in-process.
pub(super) fn evaluator(config: &RunConfig, path: &Path) -> anyhow::Result<Arc<dyn Evaluator>> {
    let problem = &config.problem;
    match (&config.evaluator.subprocess, &problem.definition) {
        (Some(subprocess), _) => {
            let evaluator = SubprocessEvaluator::new(
                subprocess.clone(),
                &problem.space,
                &problem.schema,
                &problem.constants,
            )
            .map_err(|error| UsageError(format!("{}: {error}", path.display())))?;
            install_interrupt_handler(subprocess.kill_grace);
            Ok(Arc::new(evaluator))
        }
        (None, ProblemDefinition::Builtin { problem, .. }) => {
            Ok(Arc::new(BuiltinEvaluator::new(Arc::clone(problem))))
        }
        (None, ProblemDefinition::External) => Err(no_evaluator(config, path)),
    }
}

fn no_evaluator(config: &RunConfig, path: &Path) -> anyhow::Error {
    UsageError(format!(
        "{}: problem `{}` needs evaluator.command",
        path.display(),
        config.problem.id
    ))
    .into()
}

/// Refuse to overwrite an existing result file.
pub(super) fn ensure_output_is_new(config: &RunConfig) -> anyhow::Result<()> {
    let output = &config.output.file;
    if output.exists() {
        return Err(UsageError(format!(
            "result file {} already exists; choose another --output or remove it \
             (or continue it with --resume)",
            output.display()
        ))
        .into());
    }
    Ok(())
}

/// Create the result file.
pub(super) fn create_store(config: &RunConfig) -> anyhow::Result<Hdf5Store> {
    let output = &config.output.file;
    Hdf5Store::create(output, &metadata(config))
        .with_context(|| format!("cannot create result file {}", output.display()))
}

/// The strategy for the configuration.
pub(super) fn new_strategy(config: &RunConfig) -> Strategy {
    Strategy::new(
        config.problem.space.clone(),
        config.problem.schema.clone(),
        strategy_config(config),
        search_mode(config),
    )
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

pub(super) fn metadata(config: &RunConfig) -> RunMetadata {
    RunMetadata {
        opt_id: config.problem.id.clone(),
        problem_id: 0,
        space: config.problem.space.clone(),
        schema: config.problem.schema.clone(),
        constants: config.problem.constants.clone(),
        seed: config.optimizer.seed,
        config_toml: config.to_toml(),
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        features: config.problem.features.clone(),
        metadata: format!(
            "dmosopt (Rust) {}: problem {}",
            env!("CARGO_PKG_VERSION"),
            config.problem.id
        ),
        optimizer_name: "nsga2".to_owned(),
        optimizer_params: optimizer_params(config),
    }
}

/// The optimizer's parameters as stored under `optimizer_params/<epoch>/`.
fn optimizer_params(config: &RunConfig) -> Vec<(String, ParamValue)> {
    let o = &config.optimizer;
    let int = |v: usize| ParamValue::Int(i64::try_from(v).unwrap_or(i64::MAX));
    let mut params = vec![
        ("popsize".to_owned(), int(o.population_size)),
        ("num_generations".to_owned(), int(o.num_generations)),
        ("n_epochs".to_owned(), int(o.n_epochs)),
        (
            "resample_fraction".to_owned(),
            ParamValue::Float(o.resample_fraction),
        ),
        (
            "crossover_prob".to_owned(),
            ParamValue::Float(o.nsga2.crossover_probability),
        ),
        (
            "di_crossover".to_owned(),
            ParamValue::Float(o.nsga2.crossover_eta),
        ),
        (
            "di_mutation".to_owned(),
            ParamValue::Float(o.nsga2.mutation_eta),
        ),
        ("nInput".to_owned(), int(config.problem.space.dim())),
        (
            "nOutput".to_owned(),
            int(config.problem.schema.n_objectives()),
        ),
    ];
    if let Some(p) = o.nsga2.mutation_probability {
        params.push(("mutation_prob".to_owned(), ParamValue::Float(p)));
    }
    params
}

/// The strategy's view of the resolved configuration.
pub fn strategy_config(config: &RunConfig) -> StrategyConfig {
    let optimizer = &config.optimizer;
    StrategyConfig {
        initial_design_size: optimizer.initial_design_size(config.problem.space.dim()),
        initial_method: optimizer.initial_method,
        n_epochs: optimizer.n_epochs,
        population_size: optimizer.population_size,
        num_generations: optimizer.num_generations,
        resample_size: optimizer.resample_size(),
        nsga2: optimizer.nsga2.clone(),
        max_evaluations: optimizer.max_evaluations,
        reference_point: config.problem.reference_point.clone(),
        exploration: optimizer.exploration,
        refine: optimizer.refine,
        probe_fraction: optimizer.probe_fraction,
        probe_scale: optimizer.probe_scale,
        feasibility_floor: optimizer.feasibility_floor,
        gain_reference_margin: optimizer.gain_reference_margin,
        seed: optimizer.seed,
    }
}

/// The search mode the configuration asks for.
pub fn search_mode(config: &RunConfig) -> SearchMode {
    match &config.surrogate {
        SurrogateConfig::Gp(gp) => SearchMode::Surrogate(Box::new(GpTrainer::new(gp.clone()))),
        SurrogateConfig::GpWithFeasibility { gp, feasibility } => {
            SearchMode::Surrogate(Box::new(CompositeTrainer::new(
                Box::new(GpTrainer::new(gp.clone())),
                Box::new(JointTrainer::new(feasibility.clone())),
            )))
        }
        SurrogateConfig::GpWithGpFeasibility(gp) => {
            SearchMode::Surrogate(Box::new(CompositeTrainer::new(
                Box::new(GpTrainer::new(gp.clone())),
                Box::new(ConstraintRegressionTrainer::new(Box::new(GpTrainer::new(
                    gp.clone(),
                )))),
            )))
        }
        SurrogateConfig::Neural(joint) => {
            SearchMode::Surrogate(Box::new(JointTrainer::new(joint.clone())))
        }
        SurrogateConfig::Ensemble(ensemble) => {
            SearchMode::Surrogate(Box::new(EnsembleTrainer::new(ensemble.clone())))
        }
        SurrogateConfig::None => SearchMode::Direct,
    }
}

/// A bar per epoch on a terminal; plain log lines otherwise.
pub(super) struct ConsoleProgress {
    bar: Option<ProgressBar>,
    n_epochs: usize,
}

impl ConsoleProgress {
    pub(super) fn new(config: &RunConfig) -> Self {
        Self {
            bar: None,
            n_epochs: config.optimizer.n_epochs,
        }
    }

    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl ProgressSink for ConsoleProgress {
    fn dispatched(&mut self, epoch: u32, n: usize) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} evaluations {elapsed_precise}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        bar.set_prefix(format!("epoch {epoch}/{}", self.n_epochs));
        bar.inc_length(n as u64);
    }

    fn completed(&mut self, _epoch: u32, _status: Status) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn epoch_done(&mut self, report: &EpochReport) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        tracing::info!(
            epoch = report.epoch,
            evaluations = report.n_evaluations,
            feasible = report.n_feasible,
            hypervolume = report.hypervolume,
            fit_s = format!("{:.2}", report.fit_seconds),
            search_s = format!("{:.2}", report.search_seconds),
            surrogate_epochs = report.surrogate_epochs,
            nrmse = report.quality.nrmse,
            spearman = report.quality.spearman,
            feasibility_accuracy = report.quality.feasibility_accuracy,
            feasibility_f1 = report.quality.feasibility_f1,
            "epoch done"
        );
    }
}

/// The run summary on stdout.
pub(super) fn print_summary(config: &RunConfig, summary: &RunSummary, deadline: Option<&Deadline>) {
    let statuses: Vec<String> = Status::ALL
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                summary.status_counts.get(s.as_str()).unwrap_or(&0),
                s
            )
        })
        .collect();
    let ended = match summary.stop {
        StopReason::Finished => "finished",
        StopReason::Deadline { .. } => "stopped at deadline",
    };
    println!(
        "run `{}` {ended}: {} evaluations ({}), {} feasible, {} epochs in {:.1} s",
        config.problem.id,
        summary.n_evaluations,
        statuses.join(", "),
        summary.n_feasible,
        summary.epochs.len().saturating_sub(1),
        summary.elapsed_seconds
    );
    match &config.problem.reference_point {
        Some(reference) => println!(
            "final hypervolume: {:.6} (reference point {:?})",
            summary.final_hypervolume, reference
        ),
        None => println!("final hypervolume: n/a (set problem.reference_point)"),
    }
    if let (StopReason::Deadline { abandoned }, Some(deadline)) = (summary.stop, deadline) {
        println!(
            "deadline: {} (Unix time {:.0}); no new candidates in its last {:.0} s; {abandoned} \
             evaluations still running were abandoned",
            deadline.source,
            deadline.unix_seconds(),
            deadline.margin.as_secs_f64(),
        );
    }
    println!("results: {}", config.output.file.display());
}
