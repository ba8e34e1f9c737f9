//! Benchmark: how fast candidates are dispatched and how busy the workers are, for the local
//! thread pool (`--workers 3`) and for MPI (`mpirun -n 4`: a controller and 3 workers), on the
//! `delay` builtin (ZDT1 behind a sleep; see `src/problems/delay.rs`).
//!
//! Scenarios: instant evaluations (dispatch overhead: evaluations per second), 50 ms
//! evaluations, 0–200 ms evaluations (random per point), and 50 ms evaluations with the GP
//! surrogate (shows what the epoch boundary costs: workers wait while the surrogate is fitted
//! and searched). Each row is read back from the result file:
//!
//! - span = last evaluation end − first evaluation start;
//! - evaluations/s = rows / span;
//! - utilization = Σ evaluation durations / (3 workers × span).
//!
//! The MPI runs also print the controller's own account (idle while proposing / draining).
//! Skips the MPI rows (with a message) without Open MPI's `mpirun`.
//!
//! Run: `cargo bench --bench dispatch` (through scripts/common.sh's environment).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_dmosopt");
const WORKERS: usize = 3;

struct Scenario {
    name: &'static str,
    delay_ms: f64,
    jitter_ms: f64,
    surrogate: &'static str,
    optimizer: &'static str,
}

const DIRECT: &str = "kind = \"none\"";
const GP: &str = "kind = \"gp\"\niterations = 30\nrestarts = 1";

/// Batches of 24 and 30: multiples of the 3 workers.
const DIRECT_OPTIMIZER: &str =
    "n_initial = 6\nn_epochs = 1\npopulation_size = 30\nnum_generations = 4\nseed = 1";
const GP_OPTIMIZER: &str = "n_initial = 6\nn_epochs = 4\npopulation_size = 30\n\
                            num_generations = 20\nresample_fraction = 0.4\nseed = 1";

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "instant",
        delay_ms: 0.0,
        jitter_ms: 0.0,
        surrogate: DIRECT,
        optimizer:
            "n_initial = 10\nn_epochs = 1\npopulation_size = 90\nnum_generations = 20\nseed = 1",
    },
    Scenario {
        name: "50 ms",
        delay_ms: 50.0,
        jitter_ms: 0.0,
        surrogate: DIRECT,
        optimizer: DIRECT_OPTIMIZER,
    },
    Scenario {
        name: "0-200 ms",
        delay_ms: 0.0,
        jitter_ms: 200.0,
        surrogate: DIRECT,
        optimizer: DIRECT_OPTIMIZER,
    },
    Scenario {
        name: "50 ms + GP",
        delay_ms: 50.0,
        jitter_ms: 0.0,
        surrogate: GP,
        optimizer: GP_OPTIMIZER,
    },
];

fn main() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("cannot create a temporary directory: {error}");
            return;
        }
    };
    let mpi = has_open_mpi();
    if !mpi {
        eprintln!("no Open MPI `mpirun` on PATH: MPI rows skipped");
    }
    println!(
        "dispatch benchmark: `delay` problem (4 parameters), {WORKERS} workers, times from the result file"
    );
    println!(
        "{:<12} {:<6} {:>6} {:>8} {:>10} {:>12}   controller's account",
        "scenario", "mode", "rows", "wall s", "evals/s", "utilization"
    );
    for scenario in &SCENARIOS {
        let config = dir
            .path()
            .join(format!("{}.toml", scenario.name.replace(' ', "_")));
        if let Err(error) = std::fs::write(&config, config_text(scenario)) {
            eprintln!("cannot write {}: {error}", config.display());
            return;
        }
        for mode in ["local", "mpi"] {
            if mode == "mpi" && !mpi {
                continue;
            }
            let output = dir
                .path()
                .join(format!("{}-{mode}.h5", scenario.name.replace(' ', "_")));
            match run(mode, &config, &output) {
                Ok((wall, stdout)) => report(scenario.name, mode, wall, &output, &stdout),
                Err(error) => println!("{:<12} {:<6} failed: {error}", scenario.name, mode),
            }
        }
    }
}

fn config_text(scenario: &Scenario) -> String {
    format!(
        "[problem]\nbuiltin = \"delay\"\ndim = 4\n[problem.constants]\ndelay_ms = {}\n\
         delay_jitter_ms = {}\n[optimizer]\n{}\n[surrogate]\n{}\n",
        scenario.delay_ms, scenario.jitter_ms, scenario.optimizer, scenario.surrogate
    )
}

fn has_open_mpi() -> bool {
    Command::new("mpirun")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("Open MPI"))
        .unwrap_or(false)
}

/// Run one scenario; the wall-clock seconds and stdout.
fn run(mode: &str, config: &Path, output: &Path) -> Result<(f64, String), String> {
    let mut command = if mode == "mpi" {
        let mut command = Command::new("mpirun");
        command.args(["--allow-run-as-root", "--oversubscribe", "-n"]);
        command.arg((WORKERS + 1).to_string()).arg(BIN);
        command
    } else {
        Command::new(BIN)
    };
    command
        .arg("--quiet")
        .arg("run")
        .arg(config)
        .arg("--output")
        .arg(output);
    if mode == "local" {
        command.args(["--workers", &WORKERS.to_string()]);
    }
    let clock = Instant::now();
    let result = command.output().map_err(|e| e.to_string())?;
    let wall = clock.elapsed().as_secs_f64();
    if !result.status.success() {
        return Err(String::from_utf8_lossy(&result.stderr).trim().to_string());
    }
    Ok((wall, String::from_utf8_lossy(&result.stdout).to_string()))
}

fn report(name: &str, mode: &str, wall: f64, output: &Path, stdout: &str) {
    let (starts, durations) = match read_times(output) {
        Ok(times) => times,
        Err(error) => {
            println!(
                "{name:<12} {mode:<6} cannot read {}: {error}",
                output.display()
            );
            return;
        }
    };
    let first = starts.iter().copied().fold(f64::INFINITY, f64::min);
    let last = starts
        .iter()
        .zip(&durations)
        .map(|(s, d)| s + d)
        .fold(f64::NEG_INFINITY, f64::max);
    let span = (last - first).max(1e-9);
    let busy: f64 = durations.iter().sum();
    let rows = starts.len();
    let account = stdout
        .lines()
        .find_map(|line| line.strip_prefix("workers: "))
        .unwrap_or("");
    println!(
        "{name:<12} {mode:<6} {rows:>6} {wall:>8.2} {:>10.0} {:>11.1}%   {account}",
        rows as f64 / span,
        100.0 * busy / (WORKERS as f64 * span),
    );
}

fn read_times(path: &Path) -> Result<(Vec<f64>, Vec<f64>), hdf5::Error> {
    let file = hdf5::File::open(path)?;
    let starts = file.dataset("delay/0/start_time")?.read_raw()?;
    let durations = file.dataset("delay/0/duration")?.read_raw()?;
    Ok((starts, durations))
}
