//! The `dmosopt` binary: parse the command line, set up logging, dispatch, and turn errors
//! into messages and exit codes (0 success, 1 run failed, 2 usage or configuration error).

use clap::Parser;
use dmosopt::cli::{Cli, LoggingArgs};
use dmosopt::commands;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = Cli::parse();
    init_logging(&cli.logging);
    if let Err(error) = commands::dispatch(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(commands::exit_code(&error));
    }
}

fn init_logging(args: &LoggingArgs) {
    let default = match (args.quiet, args.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
