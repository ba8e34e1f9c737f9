//! `dmosopt run`: resolve the config, open the result file, and drive the optimization.

use super::UsageError;
use crate::cli::RunArgs;
use crate::config::{self, ProblemDefinition, RunConfig, SurrogateConfig};
use crate::driver::{run_local, FailureLimit, ProgressSink, RunSummary};
use crate::eval::builtin::BuiltinEvaluator;
use crate::eval::pool::LocalPool;
use crate::eval::subprocess::{install_interrupt_handler, SubprocessEvaluator};
use crate::eval::Evaluator;
use crate::problem::Status;
use crate::store::hdf5::Hdf5Store;
use crate::store::RunMetadata;
use crate::strategy::{EpochReport, SearchMode, Strategy, StrategyConfig};
use crate::surrogate::torch::gp::GpTrainer;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
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
    let config = config::load(&args.config, &overrides)?;
    let evaluator = evaluator(&config, &args.config)?;
    let workers = args.workers.unwrap_or_else(default_workers);
    if workers == 0 {
        return Err(UsageError("--workers must be at least 1".into()).into());
    }
    if let Some(threads) = args.threads {
        if threads == 0 {
            return Err(UsageError("--threads must be at least 1".into()).into());
        }
        crate::surrogate::torch::set_threads(threads);
    }
    let output = &config.output.file;
    if output.exists() {
        return Err(UsageError(format!(
            "result file {} already exists; choose another --output or remove it \
             (resuming a run is not implemented yet)",
            output.display()
        ))
        .into());
    }
    let mut store = Hdf5Store::create(output, &metadata(&config))
        .with_context(|| format!("cannot create result file {}", output.display()))?;
    let mut strategy = Strategy::new(
        config.problem.space.clone(),
        config.problem.schema.clone(),
        strategy_config(&config),
        search_mode(&config),
    );
    let pool = LocalPool::new(Arc::clone(&evaluator), workers)?;
    tracing::info!(
        problem = %config.problem.id,
        parameters = config.problem.space.dim(),
        objectives = config.problem.schema.n_objectives(),
        constraints = config.problem.schema.n_constraints(),
        workers,
        output = %output.display(),
        "starting run"
    );
    if config.evaluator.ranks_per_worker > 1 {
        tracing::warn!(
            "evaluator.ranks_per_worker = {} is used only under MPI; each local worker runs \
             one evaluation at a time",
            config.evaluator.ranks_per_worker
        );
    }
    let mut progress = ConsoleProgress::new(&config);
    let result = run_local(
        &mut strategy,
        &pool,
        &mut store,
        &mut progress,
        FailureLimit::new(config.evaluator.max_failure_fraction),
    );
    // Stop simulations still running (after a failure) or idle (persistent processes) before
    // the pool's threads are joined.
    evaluator.shutdown();
    drop(pool);
    progress.finish();
    let summary = result.with_context(|| format!("run `{}` failed", config.problem.id))?;
    print_summary(&config, &summary);
    Ok(())
}

/// The evaluator the configuration asks for: the `[evaluator]` command if set, otherwise the
/// builtin problem in-process.
fn evaluator(config: &RunConfig, path: &std::path::Path) -> anyhow::Result<Arc<dyn Evaluator>> {
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
        (None, ProblemDefinition::External) => Err(UsageError(format!(
            "{}: problem `{}` needs evaluator.command",
            path.display(),
            problem.id
        ))
        .into()),
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn metadata(config: &RunConfig) -> RunMetadata {
    RunMetadata {
        opt_id: config.problem.id.clone(),
        problem_id: 0,
        space: config.problem.space.clone(),
        schema: config.problem.schema.clone(),
        constants: config.problem.constants.clone(),
        seed: config.optimizer.seed,
        config_toml: config.to_toml(),
        program_version: env!("CARGO_PKG_VERSION").to_string(),
    }
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
        seed: optimizer.seed,
    }
}

/// The search mode the configuration asks for.
pub fn search_mode(config: &RunConfig) -> SearchMode {
    match &config.surrogate {
        SurrogateConfig::Gp(gp) => SearchMode::Surrogate(Box::new(GpTrainer::new(gp.clone()))),
        SurrogateConfig::None => SearchMode::Direct,
    }
}

/// A bar per epoch on a terminal; plain log lines otherwise.
struct ConsoleProgress {
    bar: Option<ProgressBar>,
    n_epochs: usize,
}

impl ConsoleProgress {
    fn new(config: &RunConfig) -> Self {
        Self {
            bar: None,
            n_epochs: config.optimizer.n_epochs,
        }
    }

    fn finish(&mut self) {
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
            "epoch done"
        );
    }
}

fn print_summary(config: &RunConfig, summary: &RunSummary) {
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
    println!(
        "run `{}` finished: {} evaluations ({}), {} feasible, {} epochs in {:.1} s",
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
    println!("results: {}", config.output.file.display());
}
