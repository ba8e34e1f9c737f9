//! The subcommands. Each takes its parsed arguments and returns `anyhow::Result`; errors that
//! are the user's to fix (bad config, bad arguments, an existing output file) are marked as
//! [`UsageError`] so that `main` exits with code 2 instead of 1.

pub mod check;
mod distributed;
pub mod front;
pub mod inspect;
pub mod plot;
pub mod resume;
pub mod run;
pub mod simulate;

use crate::cli::{Cli, Command};
use crate::config::ConfigError;
use crate::dist::Cluster;
use thiserror::Error;

/// A problem with what the user asked for (exit code 2).
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Exit codes: 0 success, 1 the run failed, 2 usage or configuration error.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    let usage = error
        .chain()
        .any(|cause| cause.is::<ConfigError>() || cause.is::<UsageError>());
    if usage {
        2
    } else {
        1
    }
}

/// Run the chosen subcommand (`cluster`: the MPI world, when launched by an MPI launcher).
pub fn dispatch(cli: Cli, cluster: Option<&Cluster>) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(&args, cluster),
        Command::Resume(args) => run::run(&args.into_run_args(), cluster),
        Command::Check(args) => check::check(&args),
        Command::Front(args) => front::front(&args),
        Command::Inspect(args) => inspect::inspect(&args),
        Command::Plot(args) => plot::plot(&args),
        Command::Simulate(args) => simulate::simulate(&args),
    }
}
