//! The real binary under Open MPI's `mpirun`: rank 0 controls, the other ranks evaluate. Each
//! test checks the exit code, that nothing hangs (every child runs under a time limit), and
//! the result file. Skipped, with a message, when `mpirun` (Open MPI) is not installed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dmosopt");
const LIMIT: Duration = Duration::from_secs(240);

/// One MPI job at a time: the tests oversubscribe small machines.
static MPI_JOBS: Mutex<()> = Mutex::new(());

/// `mpirun` if it is Open MPI's.
fn mpirun() -> Option<&'static str> {
    let version = Command::new("mpirun").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&version.stdout).to_string()
        + &String::from_utf8_lossy(&version.stderr);
    if text.contains("Open MPI") {
        Some("mpirun")
    } else {
        eprintln!("skipped: `mpirun` is not Open MPI's ({})", text.trim());
        None
    }
}

macro_rules! require_mpirun {
    () => {
        match mpirun() {
            Some(mpirun) => mpirun,
            None => {
                eprintln!("skipped: no Open MPI `mpirun` on PATH");
                return;
            }
        }
    };
}

/// Run `command` to the end or kill it after [`LIMIT`] (then the test fails, showing the
/// output so far).
fn run_with_limit(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let status = child.wait().expect("wait");
            let output = Output {
                status,
                stdout: stdout.join().unwrap_or_default(),
                stderr: stderr.join().unwrap_or_default(),
            };
            panic!("hung: killed after {LIMIT:?}\n{}", text(&output));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `mpirun -n N dmosopt ARGS` in `dir`.
fn mpi(mpirun: &str, dir: &Path, n: usize, args: &[&str]) -> Output {
    let mut command = Command::new(mpirun);
    command
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            &n.to_string(),
            BIN,
        ])
        .args(args)
        .current_dir(dir);
    run_with_limit(command)
}

fn local(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir);
    run_with_limit(command)
}

fn config(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// ZDT1 with 6 parameters: 18 initial points and 2 epochs of 12 = 42 evaluations (with a GP:
/// half of a population of 24 per epoch; without a surrogate: one generation of 12).
fn zdt1(dir: &Path, surrogate: &str) -> PathBuf {
    let body = format!(
        r#"
[problem]
id = "zdt1"
builtin = "zdt1"
dim = 6

[optimizer]
n_initial = 3
n_epochs = 2
population_size = {population}
num_generations = {generations}
resample_fraction = 0.5
seed = 3

[surrogate]
{surrogate}
"#,
        population = if surrogate.contains("none") { 12 } else { 24 },
        generations = if surrogate.contains("none") { 1 } else { 10 },
    );
    config(dir, "zdt1.toml", &body)
}

const GP: &str = "kind = \"gp\"\niterations = 30\nrestarts = 1\n";
const NONE: &str = "kind = \"none\"\n";

fn sorted_points(file: &Path) -> Vec<Vec<f64>> {
    let run = dmosopt::store::read_run(file, None, None).expect("read the result file");
    let mut points: Vec<Vec<f64>> = run.rows.iter().map(|r| r.parameters.clone()).collect();
    points.sort_by(|a, b| a.partial_cmp(b).expect("finite parameters"));
    points
}

fn workers(file: &Path, opt_id: &str) -> Vec<u32> {
    let file = hdf5::File::open(file).expect("open the result file");
    let mut workers: Vec<u32> = file
        .dataset(&format!("{opt_id}/0/worker"))
        .expect("worker dataset")
        .read_raw()
        .expect("read workers");
    workers.sort_unstable();
    workers.dedup();
    workers
}

/// Runs `config` under MPI and locally with the same seed; checks both and returns the MPI
/// run's stdout.
fn check_against_local(
    mpirun: &str,
    dir: &Path,
    config: &Path,
    n: usize,
    extra: &[&str],
) -> String {
    let config = config.to_str().unwrap();
    let mut args = vec!["run", config, "--output", "mpi.h5"];
    args.extend_from_slice(extra);
    let output = mpi(mpirun, dir, n, &args);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(stdout.contains("42 evaluations"), "{}", text(&output));
    assert_eq!(
        stdout.matches("final hypervolume").count(),
        1,
        "only rank 0 prints the summary: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in stderr
        .lines()
        .filter(|l| l.contains("INFO") || l.contains("WARN"))
    {
        assert!(
            line.starts_with("[rank "),
            "log line without its rank: {line}"
        );
    }

    let reference = local(
        dir,
        &["run", config, "--output", "local.h5", "--workers", "2"],
    );
    assert!(reference.status.success(), "{}", text(&reference));
    let points = sorted_points(&dir.join("mpi.h5"));
    assert_eq!(points.len(), 42);
    assert_eq!(points, sorted_points(&dir.join("local.h5")));
    assert_eq!(workers(&dir.join("mpi.h5"), "zdt1"), [0, 1]);
    stdout
}

#[test]
fn an_mpi_run_evaluates_the_local_runs_points_on_every_worker() {
    let mpirun = require_mpirun!();
    let _one_job = MPI_JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let stdout = check_against_local(mpirun, dir.path(), &zdt1(dir.path(), GP), 3, &[]);
    assert!(stdout.contains("workers: 2, busy"), "{stdout}");
}

#[test]
fn groups_of_ranks_evaluate_together() {
    let mpirun = require_mpirun!();
    let _one_job = MPI_JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let config = zdt1(dir.path(), NONE);
    let stdout = check_against_local(mpirun, dir.path(), &config, 5, &["--ranks-per-worker", "2"]);
    assert!(stdout.contains("workers: 2 of 2 ranks"), "{stdout}");
}

/// ZDT1 evaluated through the subprocess protocol (`dmosopt simulate`, a real child process
/// per evaluation or per worker), with `[evaluator]` settings appended.
fn zdt1_subprocess(dir: &Path, evaluator: &str) -> PathBuf {
    let builtin = zdt1(dir, GP);
    let mut body = std::fs::read_to_string(&builtin).unwrap();
    body.push_str(&format!(
        "\n[evaluator]\ncommand = [{BIN:?}, \"simulate\", \"zdt1\", \"--dim\", \"6\"]\ntimeout = \"60s\"\n{evaluator}"
    ));
    config(dir, "zdt1-subprocess.toml", &body)
}

#[test]
fn an_mpi_run_of_a_subprocess_problem_matches_the_local_run() {
    let mpirun = require_mpirun!();
    let _one_job = MPI_JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let config = zdt1_subprocess(dir.path(), "mode = \"persistent\"\n");
    let stdout = check_against_local(mpirun, dir.path(), &config, 3, &[]);
    assert!(stdout.contains("workers: 2, busy"), "{stdout}");
}

/// `mpirun -n 4` with `ranks_per_worker = 2`: one group of two ranks evaluates (the third
/// worker rank has no partner and idles, with a warning), on a subprocess problem.
#[test]
fn four_ranks_with_groups_of_two_run_one_group() {
    let mpirun = require_mpirun!();
    let _one_job = MPI_JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let config = zdt1_subprocess(dir.path(), "ranks_per_worker = 2\n");
    let output = mpi(
        mpirun,
        dir.path(),
        4,
        &["run", config.to_str().unwrap(), "--output", "groups.h5"],
    );
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("42 evaluations") && stdout.contains("workers: 1 of 2 ranks"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("stay idle"));
    assert_eq!(workers(&dir.path().join("groups.h5"), "zdt1"), [0]);
    let reference = local(
        dir.path(),
        &[
            "run",
            config.to_str().unwrap(),
            "--output",
            "local.h5",
            "--workers",
            "1",
        ],
    );
    assert!(reference.status.success(), "{}", text(&reference));
    assert_eq!(
        sorted_points(&dir.path().join("groups.h5")),
        sorted_points(&dir.path().join("local.h5"))
    );

    // 2 ranks cannot hold a controller and a group of 2.
    let output = mpi(
        mpirun,
        dir.path(),
        2,
        &["run", config.to_str().unwrap(), "--output", "too-few.h5"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ranks per worker = 2"));
    assert!(!dir.path().join("too-few.h5").exists());
}

#[test]
fn a_worker_that_cannot_start_ends_the_run_with_exit_1() {
    let mpirun = require_mpirun!();
    let _one_job = MPI_JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let good = zdt1(dir.path(), NONE);
    let good = good.to_str().unwrap();
    // Multiple-program launch: rank 0 gets the good config, ranks 1–2 a missing one.
    let mut command = Command::new(mpirun);
    command
        .args(["--allow-run-as-root", "--oversubscribe"])
        .args(["-n", "1", BIN, "run", good, "--output", "out.h5"])
        .arg(":")
        .args(["-n", "2", BIN, "run", "missing.toml", "--output", "out.h5"])
        .current_dir(dir.path());
    let output = run_with_limit(command);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("worker rank 1 could not start") && stderr.contains("missing.toml"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("out.h5").exists(),
        "no file for a run that never started"
    );
}

#[test]
fn the_deadline_stops_handing_out_work_and_leaves_a_readable_file() {
    let mpirun = require_mpirun!();
    let _one_job = MPI_JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        "delay.toml",
        r#"
[problem]
builtin = "delay"
dim = 4
[problem.constants]
delay_ms = 100
[optimizer]
n_initial = 10
n_epochs = 3
population_size = 20
num_generations = 5
[surrogate]
kind = "none"
"#,
    );
    let config = config.to_str().unwrap();
    let args = [
        "run",
        config,
        "--output",
        "late.h5",
        "--deadline",
        "4",
        "--deadline-margin",
        "2",
    ];
    let output = mpi(mpirun, dir.path(), 3, &args);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("stopped at deadline"), "{stdout}");
    let rows = dmosopt::store::read_run(&dir.path().join("late.h5"), None, None)
        .unwrap()
        .rows
        .len();
    // 2 workers × 2 s of 100 ms evaluations ≈ 40 of the 340 the run would do.
    assert!(rows > 0 && rows < 100, "{rows} rows");
}
