//! The `dmosopt` binary: parse the command line, join the MPI world when started by an MPI
//! launcher (for `run`), set up logging, dispatch, and turn errors into messages and exit
//! codes (0 success, 1 run failed, 2 usage or configuration error).

use clap::Parser;
use dmosopt::cli::{Cli, Command, LoggingArgs};
use dmosopt::commands;
use dmosopt::dist::{self, log::RankPrefix, Cluster};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = Cli::parse();
    let cluster = match cli.command {
        Command::Run(_) => Cluster::from_launcher(),
        _ => None,
    };
    let rank = cluster
        .as_ref()
        .filter(|cluster| cluster.size() > 1)
        .map(Cluster::rank);
    init_logging(&cli.logging, rank);
    let code = dist::abort_on_panic(cluster.as_ref(), || {
        match commands::dispatch(cli, cluster.as_ref()) {
            Ok(()) => 0,
            Err(error) => {
                match rank {
                    Some(rank) => eprintln!("[rank {rank}] error: {error:#}"),
                    None => eprintln!("error: {error:#}"),
                }
                commands::exit_code(&error)
            }
        }
    });
    // Finalize MPI (every rank) before the process exits.
    drop(cluster);
    std::process::exit(code);
}

fn init_logging(args: &LoggingArgs, rank: Option<usize>) {
    let default = match (args.quiet, args.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let format = tracing_subscriber::fmt::format().with_target(false);
    match rank {
        Some(rank) => builder.event_format(RankPrefix::new(rank, format)).init(),
        None => builder.event_format(format).init(),
    }
}
