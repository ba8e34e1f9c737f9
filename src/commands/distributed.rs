//! `dmosopt run` as one rank of an MPI job: rank 0 is the controller, every other rank a worker
//! (the protocol is described in [`crate::dist`]). Every rank reads the config file itself;
//! only rank 0 checks and creates the result file, touches HDF5 and libtorch, and prints.

use super::run::{
    check_evaluable, deadline, ensure_output_is_new, evaluator, load_config, log_deadline,
    print_summary, set_threads, ConsoleProgress,
};
use super::UsageError;
use crate::cli::RunArgs;
use crate::config::RunConfig;
use crate::deadline::Deadline;
use crate::dist::controller::{self, DispatchStats};
use crate::dist::transport::Transport;
use crate::dist::wire::Message;
use crate::dist::{worker, Cluster, DistError, Layout, Role};
use crate::driver::FailureLimit;
use crate::eval::Evaluator;
use anyhow::Context;
use std::sync::Arc;

pub(super) fn run(args: &RunArgs, cluster: &Cluster) -> anyhow::Result<()> {
    // Every rank reads the same config, so every rank computes the same layout.
    let ranks_per_worker = args
        .execution
        .ranks_per_worker
        .or_else(|| load_config(args).ok().map(|c| c.evaluator.ranks_per_worker))
        .unwrap_or(1);
    let layout = Layout::new(cluster.size(), ranks_per_worker);
    let mut transport = cluster.transport();
    if cluster.rank() == 0 {
        run_controller(args, layout, &mut transport)
    } else {
        run_worker(args, layout, &mut transport)
    }
}

/// What rank 0 has checked before any worker starts.
struct ControllerSetup {
    config: RunConfig,
    layout: Layout,
    deadline: Option<Deadline>,
}

fn setup_controller(
    args: &RunArgs,
    layout: Result<Layout, DistError>,
) -> anyhow::Result<ControllerSetup> {
    let layout = layout.map_err(|error| UsageError(error.to_string()))?;
    let config = load_config(args)?;
    let deadline = deadline(args)?;
    check_evaluable(&config, &args.config)?;
    set_threads(args)?;
    if args.execution.workers.is_some() {
        tracing::warn!("--workers is ignored in an MPI run: every rank but rank 0 is a worker");
    }
    if !args.resume {
        ensure_output_is_new(&config)?;
    }
    Ok(ControllerSetup {
        config,
        layout,
        deadline,
    })
}

fn run_controller(
    args: &RunArgs,
    layout: Result<Layout, DistError>,
    transport: &mut dyn Transport,
) -> anyhow::Result<()> {
    let size = transport.size();
    let setup = setup_controller(args, layout);
    // Hear from every worker before deciding, so that no rank is left waiting either way.
    let hellos = match controller::gather_hellos(transport, size) {
        Ok(hellos) => hellos,
        Err(error) => {
            let _ = controller::broadcast(transport, size, &Message::Shutdown);
            return Err(error.into());
        }
    };
    let started = setup.and_then(|setup| {
        controller::check_hellos(&hellos, &setup.config.to_toml())?;
        let opened = super::resume::open_run(args, &setup.config)?;
        Ok((setup, opened))
    });
    let (setup, (mut store, mut strategy)) = match started {
        Ok(started) => started,
        Err(error) => {
            controller::broadcast(transport, size, &Message::Shutdown)?;
            return Err(error);
        }
    };
    controller::broadcast(transport, size, &Message::Start)?;
    let ControllerSetup {
        config,
        layout,
        deadline,
    } = setup;
    tracing::info!(
        problem = %config.problem.id,
        parameters = config.problem.space.dim(),
        objectives = config.problem.schema.n_objectives(),
        constraints = config.problem.schema.n_constraints(),
        ranks = size,
        workers = layout.n_workers(),
        ranks_per_worker = layout.ranks_per_worker(),
        output = %config.output.file.display(),
        "starting MPI run"
    );
    if layout.n_spare() > 0 {
        tracing::warn!(
            spare = layout.n_spare(),
            "the worker ranks do not split into groups of {}: the last {} rank(s) stay idle; \
             launch 1 + a multiple of {} ranks to use every rank",
            layout.ranks_per_worker(),
            layout.n_spare(),
            layout.ranks_per_worker()
        );
    }
    log_deadline(deadline.as_ref());
    let mut progress = ConsoleProgress::new(&config);
    let summary = controller::run(
        &mut strategy,
        transport,
        layout,
        &mut store,
        &mut progress,
        &mut FailureLimit::new(config.evaluator.max_failure_fraction),
        deadline.as_ref(),
    )
    .with_context(|| format!("run `{}` failed", config.problem.id))?;
    progress.finish();
    drop(store);
    print_summary(&config, &summary.run, deadline.as_ref());
    print_dispatch(&summary.dispatch, &layout);
    Ok(())
}

fn print_dispatch(stats: &DispatchStats, layout: &Layout) {
    let per_worker = if layout.ranks_per_worker() > 1 {
        format!(" of {} ranks", layout.ranks_per_worker())
    } else {
        String::new()
    };
    println!(
        "workers: {}{per_worker}, busy {:.1} % of {:.1} s (idle {:.1} % while proposing, \
         {:.1} % waiting for the end of a batch)",
        stats.n_workers,
        100.0 * stats.utilization(),
        stats.elapsed_seconds,
        100.0 * stats.proposing_fraction(),
        100.0 * stats.draining_fraction()
    );
}

/// What a worker rank has set up.
struct WorkerSetup {
    role: Role,
    /// Leaders only.
    evaluator: Option<Arc<dyn Evaluator>>,
    config_text: String,
}

fn setup_worker(
    args: &RunArgs,
    layout: Result<Layout, DistError>,
    rank: usize,
) -> anyhow::Result<WorkerSetup> {
    let layout = layout?;
    let config = load_config(args)?;
    let role = layout.role(rank);
    let evaluator = match role {
        Role::Leader { .. } => Some(evaluator(&config, &args.config)?),
        Role::Member { .. } | Role::Spare | Role::Controller => None,
    };
    Ok(WorkerSetup {
        role,
        evaluator,
        config_text: config.to_toml(),
    })
}

fn run_worker(
    args: &RunArgs,
    layout: Result<Layout, DistError>,
    transport: &mut dyn Transport,
) -> anyhow::Result<()> {
    let setup = setup_worker(args, layout, transport.rank());
    let report = match &setup {
        Ok(setup) => Ok(setup.config_text.clone()),
        Err(error) => Err(format!("{error:#}")),
    };
    if !worker::hello(transport, report)? {
        return Ok(());
    }
    let setup = setup.context("rank 0 started the run although this rank's setup failed")?;
    match (setup.role, setup.evaluator) {
        (Role::Leader { worker, group }, Some(evaluator)) => {
            let served = worker::serve(transport, Arc::clone(&evaluator), worker, Some(group));
            // Stop persistent simulations and anything still running.
            evaluator.shutdown();
            match served {
                Ok(exit) => {
                    tracing::debug!(?exit, "worker done");
                    Ok(())
                }
                Err(error) => {
                    tracing::error!("{error:#}");
                    Ok(worker::report_failure(transport, format!("{error:#}"))?)
                }
            }
        }
        (Role::Member { .. } | Role::Spare, _) => Ok(worker::wait_for_shutdown(transport)?),
        (role, _) => Err(anyhow::anyhow!(
            "rank {} has no worker role ({role:?})",
            transport.rank()
        )),
    }
}
