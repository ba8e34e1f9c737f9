//! Command-line interface types (clap derive). The doc comments are the help text; the
//! behaviour lives in `commands/`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Surrogate-assisted multi-objective optimization of expensive, constrained simulations.
#[derive(Debug, Parser)]
#[command(name = "dmosopt", version, about, propagate_version = true)]
#[command(after_help = "Examples:
  dmosopt run configs/zdt1.toml
  dmosopt run configs/zdt1.toml --set problem.builtin=dtlz2 --set optimizer.n_epochs=5
  dmosopt check configs/zdt1.toml
  dmosopt front zdt1.h5 --format csv
  dmosopt plot zdt1.h5 -o front.png")]
pub struct Cli {
    #[command(flatten)]
    pub logging: LoggingArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Verbosity of the log (`RUST_LOG` overrides both flags).
#[derive(Debug, Args)]
pub struct LoggingArgs {
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an optimization described by a TOML config file.
    #[command(after_help = "Examples:
  dmosopt run configs/zdt1.toml
  dmosopt run configs/zdt1.toml --output /scratch/me/zdt1.h5 --workers 8 --seed 7
  dmosopt run configs/zdt1.toml --set problem.builtin=dtlz2 --set optimizer.n_epochs=5
  dmosopt run configs/zdt1.toml --deadline 2h --deadline-margin 300
  srun dmosopt run configs/zdt1.toml                    # MPI: rank 0 controls, the rest evaluate
  srun -n 33 dmosopt run configs/net.toml --ranks-per-worker 4")]
    Run(RunArgs),
    /// Continue the run in a result file with the configuration stored in it
    /// (`/<opt_id>/run/config`); the same as `dmosopt run CONFIG --resume` with that config.
    #[command(after_help = "Examples:
  dmosopt resume zdt1.h5
  dmosopt resume zdt1.h5 --set optimizer.n_epochs=20 --workers 8
  srun dmosopt resume /scratch/me/net.h5")]
    Resume(ResumeArgs),
    /// Validate a config file and print the resolved configuration (every default filled in).
    #[command(after_help = "Examples:
  dmosopt check configs/zdt1.toml
  dmosopt check configs/zdt1.toml --set optimizer.population_size=200")]
    Check(CheckArgs),
    /// Print the non-dominated feasible evaluations of a result file.
    #[command(after_help = "Examples:
  dmosopt front zdt1.h5
  dmosopt front zdt1.h5 --format csv > front.csv
  dmosopt front zdt1.h5 --all --format json")]
    Front(FrontArgs),
    /// Summarize a result file: evaluations per epoch and status, failure reasons, timing,
    /// hypervolume per epoch.
    #[command(after_help = "Examples:
  dmosopt inspect zdt1.h5
  dmosopt inspect results.h5 --opt-id net --problem 1")]
    Inspect(InspectArgs),
    /// Draw the front and the hypervolume per epoch of a result file to a PNG or SVG image
    /// (chosen by the output's extension). The front: 2 objectives, a scatter; 3, the pairwise
    /// scatters; more, parallel coordinates. Needs the font
    /// /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf (package fonts-dejavu-core) or
    /// DMOSOPT_FONT=FILE.
    #[command(after_help = "Examples:
  dmosopt plot zdt1.h5 -o front.png
  dmosopt plot zdt1.h5 -o front.svg --all          # infeasible points too, constraints ignored
  dmosopt plot results.h5 -o net.png --opt-id net --problem 1")]
    Plot(PlotArgs),
    /// Act as a simulation: evaluate a builtin problem over the subprocess protocol (JSON
    /// request lines on stdin, response lines on stdout; oneshot and persistent alike).
    #[command(after_help = "Examples:
  echo '{\"protocol\":1,\"id\":0,\"params\":{\"x1\":0.5,\"x2\":0.1}}' | dmosopt simulate zdt1 --dim 2
  # in a config, to exercise the subprocess path with a builtin problem:
  #   [evaluator]
  #   command = [\"dmosopt\", \"simulate\", \"zdt1\"]
  #   mode = \"persistent\"")]
    Simulate(SimulateArgs),
}

/// Config overrides shared by `run` and `check`.
#[derive(Debug, Args)]
pub struct OverrideArgs {
    /// Override a config key with a TOML value, e.g. `--set optimizer.n_epochs=5`
    /// (repeatable; a value that is not TOML is taken as a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The TOML config file.
    pub config: PathBuf,
    /// Result file (overrides output.file).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Random seed (overrides optimizer.seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// Continue the run in the result file: stored evaluations are kept, the ones in flight
    /// at the interruption are evaluated again, and the run goes on as if never stopped. The
    /// config must match the file's (epochs, budget, evaluator and output may change). Without
    /// a result file a new run starts.
    #[arg(long, conflicts_with = "initial_data")]
    pub resume: bool,
    /// Seed a new run with the evaluations in another result file (ours or the Python
    /// dmosopt's; parameter names must match the space): they count toward the initial design.
    #[arg(long, value_name = "FILE")]
    pub initial_data: Option<PathBuf>,
    /// `config` is a result file whose stored configuration is used (`dmosopt resume`).
    #[arg(skip)]
    pub config_in_result_file: bool,
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// How a run executes (not what it optimizes): shared by `run` and `resume`.
#[derive(Debug, Args)]
pub struct ExecutionArgs {
    /// Concurrent evaluations without MPI (default: the number of cores); under an MPI
    /// launcher the number of ranks decides.
    #[arg(short, long, value_name = "N")]
    pub workers: Option<usize>,
    /// Threads for surrogate training and prediction (default 1). Set it to the free cores of
    /// the controller (rank 0) when they are its own: more threads than free cores slow
    /// libtorch down by an order of magnitude.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// MPI runs: this many consecutive worker ranks evaluate one candidate together; the first
    /// receives it and passes DMOSOPT_GROUP_SIZE and DMOSOPT_GROUP_RANKS to the evaluation.
    /// Launch 1 + a multiple of K ranks (leftover ranks idle, with a warning). Overrides
    /// evaluator.ranks_per_worker.
    #[arg(long, value_name = "K")]
    pub ranks_per_worker: Option<usize>,
    /// Stop handing out candidates before this time: an RFC 3339 time
    /// (2025-06-01T18:00:00Z) or a duration from now (3600, 90s, 45m, 2h). Inside a Slurm job
    /// SLURM_JOB_END_TIME counts too (the earlier one wins).
    #[arg(long, value_name = "WHEN")]
    pub deadline: Option<String>,
    /// Seconds before the deadline from which no new candidate is handed out; running
    /// evaluations are awaited until a quarter of the margin is left, then abandoned.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::deadline::DEFAULT_MARGIN_SECONDS)]
    pub deadline_margin: f64,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The result file to continue.
    pub file: PathBuf,
    #[command(flatten)]
    pub execution: ExecutionArgs,
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

impl ResumeArgs {
    /// The equivalent `run FILE --resume` with the file's stored configuration.
    pub fn into_run_args(self) -> RunArgs {
        RunArgs {
            output: Some(self.file.clone()),
            config: self.file,
            seed: None,
            execution: self.execution,
            resume: true,
            initial_data: None,
            config_in_result_file: true,
            overrides: self.overrides,
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The TOML config file.
    pub config: PathBuf,
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

#[derive(Debug, Args)]
pub struct FrontArgs {
    /// A result file written by dmosopt.
    pub file: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FrontFormat::Table)]
    pub format: FrontFormat,
    /// Include infeasible evaluations: the front by objectives alone, constraints ignored.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub run: RunSelection,
    /// Sort the front by this parameter, objective or constraint (default: first objective).
    #[arg(long, value_name = "NAME")]
    pub sort_by: Option<String>,
}

/// Which run of a result file to read (shared by `front`, `inspect` and `plot`).
#[derive(Debug, Args)]
pub struct RunSelection {
    /// Which optimization in the file (its HDF5 group); needed when the file holds several.
    #[arg(long, value_name = "ID")]
    pub opt_id: Option<String>,
    /// Which problem id within the optimization (default: the first).
    #[arg(long, value_name = "N")]
    pub problem: Option<i32>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A result file written by dmosopt (or the Python dmosopt).
    pub file: PathBuf,
    #[command(flatten)]
    pub run: RunSelection,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A result file written by dmosopt (or the Python dmosopt).
    pub file: PathBuf,
    /// The image to write: `.png` or `.svg` (overwritten if it exists).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Include infeasible evaluations: the front by objectives alone, constraints ignored.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub run: RunSelection,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The builtin problem (zdt1, dtlz2, tnk, …).
    pub problem: String,
    /// Number of parameters of a scalable problem.
    #[arg(long)]
    pub dim: Option<usize>,
    /// Number of objectives of a scalable problem.
    #[arg(long)]
    pub n_objectives: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FrontFormat {
    Table,
    Csv,
    Json,
}
