//! The subprocess protocol end to end: the real binary runs the misbehaving test simulator
//! (`tests/simulators/misbehave.py`) and the example simulators on configs written into a
//! temporary directory; the result file is read back with `dmosopt::store::read_run`.
//!
//! Python is `$DMOSOPT_PYTHON` or `python3`. Every simulation gets a unique marker on its
//! command line, so `pgrep -f MARKER` finds anything left behind.

use dmosopt::problem::Status;
use dmosopt::store::{read_run, StoredRow};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::{dmosopt, text, BIN};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn python() -> String {
    std::env::var("DMOSOPT_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn misbehave() -> String {
    format!("{ROOT}/tests/simulators/misbehave.py")
}

fn marker(test: &str) -> String {
    format!("dmosopt-test-{test}-{}", std::process::id())
}

fn toml_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| toml::Value::String(s.to_string()).to_string())
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// Processes whose command line contains `marker` (pid and command line).
fn processes(marker: &str) -> Vec<String> {
    let output = Command::new("pgrep")
        .args(["-a", "-f", marker])
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// [`processes`], after giving killed ones a moment to go.
fn leftovers(marker: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let found = processes(marker);
        if found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A config over the misbehaving simulator with `mode` in `[low, high]`, `n` evaluations.
fn misbehave_config(dir: &Path, low: u32, high: u32, n: usize, evaluator: &str) -> PathBuf {
    let path = dir.join("misbehave.toml");
    let body = format!(
        r#"
[problem]
id = "misbehave"
objectives = ["f"]
constraints = ["c"]
[problem.space]
mode = {{ bounds = [{low}, {high}], integer = true }}

[optimizer]
n_initial = {n}
initial_method = "lhs"
n_epochs = 0
population_size = 8
seed = 1

[surrogate]
kind = "none"

[evaluator]
{evaluator}
"#
    );
    std::fs::write(&path, body).unwrap();
    path
}

fn run(dir: &Path, config: &Path, workers: &str) -> Output {
    dmosopt(
        dir,
        &[
            "run",
            config.to_str().unwrap(),
            "--output",
            "out.h5",
            "--workers",
            workers,
        ],
    )
}

fn rows(dir: &Path) -> Vec<StoredRow> {
    read_run(&dir.join("out.h5"), None, None).unwrap().rows
}

fn mode_of(row: &StoredRow) -> u32 {
    row.parameters[0] as u32
}

/// Check each row against `(mode, status, fragments of the error text)`.
fn check_rows(rows: &[StoredRow], expected: &[(u32, Status, &[&str])]) {
    let mut modes: Vec<u32> = rows.iter().map(mode_of).collect();
    modes.sort_unstable();
    let all: Vec<u32> = expected.iter().map(|e| e.0).collect();
    assert_eq!(modes, all, "every mode evaluated once");
    for row in rows {
        let (_, status, fragments) = expected
            .iter()
            .find(|e| e.0 == mode_of(row))
            .expect("a known mode");
        let error = row.error.clone().unwrap_or_default();
        assert_eq!(row.status, Some(*status), "mode {}: {error}", mode_of(row));
        for fragment in *fragments {
            assert!(
                error.contains(fragment),
                "mode {}: error {error:?} lacks {fragment:?}",
                mode_of(row)
            );
        }
        if *status == Status::Ok {
            assert!(error.is_empty(), "mode {}: {error}", mode_of(row));
        } else {
            assert!(row.objectives[0].is_nan() && row.constraints[0].is_nan());
        }
    }
}

fn assert_ok_rows(rows: &[StoredRow]) {
    for row in rows.iter().filter(|r| mode_of(r) == 0) {
        let id = row.eval_id.expect("eval_id stored");
        assert_eq!(row.objectives, [id as f64], "f is the evaluation id");
        assert_eq!(row.constraints, [2.5], "c comes from [evaluator.env]");
    }
    let nan = rows.iter().find(|r| mode_of(r) == 8).expect("mode 8");
    assert!(nan.objectives[0].is_nan() && nan.constraints[0].is_nan());
}

#[test]
fn oneshot_misbehaviour_is_recorded_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker("oneshot");
    let evaluator = format!(
        r#"command = {}
timeout = "1s"
kill_grace = "500ms"
workdir = "runs/{{epoch}}/{{eval_id}}"
max_failure_fraction = 1.0
env = {{ MISBEHAVE_C = "2.5" }}"#,
        toml_list(&[&python(), &misbehave(), &marker])
    );
    let config = misbehave_config(dir.path(), 0, 13, 14, &evaluator);
    let clock = Instant::now();
    let output = run(dir.path(), &config, "3");
    assert!(output.status.success(), "{}", text(&output));
    assert!(clock.elapsed() < Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("14 evaluations (2 ok, 5 failed, 1 timeout, 6 invalid)"),
        "{stdout}"
    );
    let rows = rows(dir.path());
    check_rows(
        &rows,
        &[
            (0, Status::Ok, &[]),
            (
                1,
                Status::Failed,
                &["exited with code 4", "flaky, first attempt"],
            ),
            (
                2,
                Status::Failed,
                &["exited with code 3", "--- stderr", "misbehave: exit 3"],
            ),
            (3, Status::Failed, &["killed by signal SIGSEGV (11"]),
            (4, Status::Failed, &["killed by signal SIGKILL (9)"]),
            (
                5,
                Status::Timeout,
                &[
                    "timed out after 1s",
                    "SIGKILL after 500ms",
                    "misbehave: hanging",
                ],
            ),
            (
                6,
                Status::Invalid,
                &["expected one response line", "computing, please wait"],
            ),
            (7, Status::Invalid, &["no response on stdout"]),
            (8, Status::Ok, &[]),
            (9, Status::Invalid, &["`objectives` is missing `f`"]),
            (10, Status::Failed, &["reported an error: solver diverged"]),
            (
                11,
                Status::Invalid,
                &["`objectives` has 2 values, expected 1"],
            ),
            (12, Status::Invalid, &["objective `f` is not a number"]),
            (13, Status::Invalid, &["not valid JSON"]),
        ],
    );
    assert_ok_rows(&rows);
    for row in &rows {
        let id = row.eval_id.unwrap();
        assert!(
            dir.path().join(format!("runs/0/{id}")).is_dir(),
            "workdir of {id}"
        );
    }
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

#[test]
fn persistent_misbehaviour_is_recorded_and_processes_restart() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker("persistent");
    let log = dir.path().join("processes.log");
    let evaluator = format!(
        r#"command = {}
mode = "persistent"
timeout = "1s"
kill_grace = "500ms"
workdir = "runs/w{{worker}}"
max_failure_fraction = 1.0
env = {{ MISBEHAVE_C = "2.5", MISBEHAVE_LOG = {} }}"#,
        toml_list(&[&python(), &misbehave(), &marker, "--persistent"]),
        toml::Value::String(log.display().to_string())
    );
    let config = misbehave_config(dir.path(), 0, 13, 14, &evaluator);
    let output = run(dir.path(), &config, "2");
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("14 evaluations (2 ok, 6 failed, 1 timeout, 5 invalid)"),
        "{stdout}"
    );
    let rows = rows(dir.path());
    let while_evaluating = "while evaluating";
    check_rows(
        &rows,
        &[
            (0, Status::Ok, &[]),
            (1, Status::Failed, &["flaky: first attempt"]),
            (
                2,
                Status::Failed,
                &["exited with code 3", while_evaluating, "misbehave: exit 3"],
            ),
            (
                3,
                Status::Failed,
                &["killed by signal SIGSEGV (11", while_evaluating],
            ),
            (
                4,
                Status::Failed,
                &["killed by signal SIGKILL (9)", while_evaluating],
            ),
            (
                5,
                Status::Timeout,
                &["timed out after 1s", "restarted", "misbehave: hanging"],
            ),
            (
                6,
                Status::Invalid,
                &["unexpected stdout line", "computing, please wait"],
            ),
            (7, Status::Failed, &["exited with code 0", while_evaluating]),
            (8, Status::Ok, &[]),
            (9, Status::Invalid, &["`objectives` is missing `f`"]),
            (10, Status::Failed, &["reported an error: solver diverged"]),
            (
                11,
                Status::Invalid,
                &["`objectives` has 2 values, expected 1"],
            ),
            (12, Status::Invalid, &["objective `f` is not a number"]),
            (13, Status::Invalid, &["unexpected stdout line"]),
        ],
    );
    assert_ok_rows(&rows);
    // Seven modes end their process; each replacement is a new start.
    let log = std::fs::read_to_string(&log).unwrap();
    let starts = log.lines().filter(|l| l.starts_with("start")).count();
    assert!((3..=9).contains(&starts), "{log}");
    assert!(dir.path().join("runs/w0").is_dir());
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

#[test]
fn retries_rerun_and_name_every_attempt() {
    for persistent in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let marker = marker(if persistent { "retry-p" } else { "retry-o" });
        let log = dir.path().join("processes.log");
        let mut command = vec![python(), misbehave(), marker.clone()];
        let mut extra = String::new();
        if persistent {
            command.push("--persistent".into());
            extra = format!(
                "mode = \"persistent\"\nenv = {{ MISBEHAVE_LOG = {} }}\n",
                toml::Value::String(log.display().to_string())
            );
        } else {
            extra.push_str("workdir = \"runs/{eval_id}\"\n");
        }
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let evaluator = format!(
            "command = {}\nretries = 1\nmax_failure_fraction = 1.0\n{extra}",
            toml_list(&command)
        );
        // Modes 1 (flaky: ok on the second attempt) and 2 (always exits with code 3).
        let config = misbehave_config(dir.path(), 1, 2, 4, &evaluator);
        let output = run(dir.path(), &config, "2");
        assert!(output.status.success(), "{}", text(&output));
        let rows = rows(dir.path());
        assert_eq!(rows.len(), 4);
        for row in &rows {
            let error = row.error.clone().unwrap_or_default();
            if mode_of(row) == 1 {
                assert_eq!(row.status, Some(Status::Ok), "{error}");
            } else {
                assert_eq!(row.status, Some(Status::Failed), "{error}");
                for fragment in [
                    "attempt 2 of 2: ",
                    "exited with code 3",
                    "--- earlier attempts ---\nattempt 1: failed (",
                ] {
                    assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
                }
            }
        }
        if persistent {
            // Mode 2 kills its process on each attempt; every live process got the shutdown line.
            let log = std::fs::read_to_string(&log).unwrap();
            let shutdowns: Vec<&str> = log.lines().filter(|l| l.starts_with("shutdown")).collect();
            for line in &shutdowns {
                let pid = line.trim_start_matches("shutdown ");
                assert!(log.contains(&format!("start {pid}")), "{log}");
            }
        }
        assert_eq!(leftovers(&marker), Vec::<String>::new());
    }
}

#[test]
fn persistent_processes_are_reused_and_shut_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker("reuse");
    let log = dir.path().join("processes.log");
    let evaluator = format!(
        "command = {}\nmode = \"persistent\"\nenv = {{ MISBEHAVE_C = \"2.5\", MISBEHAVE_LOG = {} }}\n",
        toml_list(&[&python(), &misbehave(), &marker, "--persistent"]),
        toml::Value::String(log.display().to_string())
    );
    let config = misbehave_config(dir.path(), 0, 0, 12, &evaluator);
    let output = run(dir.path(), &config, "2");
    assert!(output.status.success(), "{}", text(&output));
    assert!(rows(dir.path())
        .iter()
        .all(|r| r.status == Some(Status::Ok)));
    let log = std::fs::read_to_string(&log).unwrap();
    let count = |what: &str| log.lines().filter(|l| l.starts_with(what)).count();
    assert!((1..=2).contains(&count("start")), "{log}");
    assert_eq!(count("shutdown"), count("start"), "{log}");
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

#[test]
fn too_many_failures_stop_the_run_with_a_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker("fraction");
    let evaluator = format!(
        "command = {}\nmax_failure_fraction = 0.5\n",
        toml_list(&[&python(), &misbehave(), &marker])
    );
    let config = misbehave_config(dir.path(), 2, 2, 30, &evaluator);
    let output = run(dir.path(), &config, "2");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for fragment in [
        "stopping the run: 10 of 10 evaluations were not ok (100%)",
        "max_failure_fraction = 0.5",
        "exited with code 3",
    ] {
        assert!(stderr.contains(fragment), "{stderr}");
    }
    let rows = rows(dir.path());
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r.status == Some(Status::Failed)));
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

#[test]
fn an_interrupt_stops_the_simulations_too() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker("interrupt");
    let evaluator = format!(
        "command = {}\ntimeout = \"60s\"\nkill_grace = \"500ms\"\n",
        toml_list(&[&python(), &misbehave(), &marker])
    );
    let config = misbehave_config(dir.path(), 5, 5, 2, &evaluator);
    let mut child = Command::new(BIN)
        .args(["-q", "run", config.to_str().unwrap(), "--workers", "2"])
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    // Both hanging simulations and their grandchildren are running.
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes(&marker).len() < 4 {
        assert!(Instant::now() < deadline, "simulations did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "dmosopt did not exit after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(2), "{status:?}");
    assert_eq!(leftovers(&marker), Vec::<String>::new());
}

/// ZDT1 (6 parameters) as a builtin or through `examples/simulators/zdt1.py`.
fn zdt1_config(dir: &Path, name: &str, evaluator: &str) -> PathBuf {
    let problem = if evaluator.is_empty() {
        "builtin = \"zdt1\"\ndim = 6\n".to_string()
    } else {
        let space: Vec<String> = (1..=6).map(|i| format!("x{i} = [0.0, 1.0]")).collect();
        format!(
            "objectives = [\"f1\", \"f2\"]\nreference_point = [1.1, 1.1]\n[problem.space]\n{}\n",
            space.join("\n")
        )
    };
    let path = dir.join(format!("{name}.toml"));
    let body = format!(
        r#"
[problem]
id = "zdt1"
{problem}
[optimizer]
n_initial = 3
n_epochs = 1
population_size = 16
num_generations = 10
resample_fraction = 0.5
seed = 3

[surrogate]
kind = "gp"
iterations = 30
restarts = 1

{evaluator}
"#
    );
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn example_zdt1_simulator_gives_the_builtin_points() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("{ROOT}/examples/simulators/zdt1.py");
    let python = python();
    let oneshot = format!(
        "[evaluator]\ncommand = {}\n",
        toml_list(&[&python, &script])
    );
    let persistent = format!(
        "[evaluator]\ncommand = {}\nmode = \"persistent\"\n",
        toml_list(&[&python, &script, "--persistent"])
    );
    let mut results = Vec::new();
    for (name, evaluator) in [
        ("builtin", ""),
        ("oneshot", &oneshot),
        ("persistent", &persistent),
    ] {
        let config = zdt1_config(dir.path(), name, evaluator);
        let file = format!("{name}.h5");
        let output = dmosopt(
            dir.path(),
            &[
                "run",
                config.to_str().unwrap(),
                "-o",
                &file,
                "--workers",
                "2",
            ],
        );
        assert!(output.status.success(), "{name}: {}", text(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("26 evaluations (26 ok, 0 failed, 0 timeout, 0 invalid)"),
            "{stdout}"
        );
        let run = read_run(&dir.path().join(&file), None, None).unwrap();
        // Completion order differs between runs (workers race): compare by eval_id.
        let mut rows: Vec<(u64, Vec<f64>, Vec<f64>)> = run
            .rows
            .iter()
            .map(|r| {
                (
                    r.eval_id.unwrap(),
                    r.parameters.clone(),
                    r.objectives.clone(),
                )
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        results.push((name, rows));
    }
    let (_, builtin) = &results[0];
    assert_eq!(builtin.len(), 26);
    for (name, rows) in &results[1..] {
        assert_eq!(rows, builtin, "{name} differs from the builtin");
    }
}

#[test]
fn example_shell_simulator_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sphere.toml");
    let body = format!(
        r#"
[problem]
id = "sphere"
objectives = ["f"]
[problem.space]
x1 = [-1.0, 1.0]
x2 = [-1.0, 1.0]
[optimizer]
n_initial = 4
n_epochs = 0
[surrogate]
kind = "none"
[evaluator]
command = [{:?}]
timeout = 10
"#,
        format!("{ROOT}/examples/simulators/sphere.sh")
    );
    std::fs::write(&path, body).unwrap();
    let output = run(dir.path(), &path, "2");
    assert!(output.status.success(), "{}", text(&output));
    let rows = rows(dir.path());
    assert_eq!(rows.len(), 8);
    for row in rows {
        let expected: f64 = row.parameters.iter().map(|x| x * x).sum();
        assert_eq!(row.status, Some(Status::Ok));
        assert!((row.objectives[0] - expected).abs() < 1e-12, "{row:?}");
    }
}

#[test]
fn check_shows_the_evaluator_and_a_missing_program_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let evaluator = "command = [\"no-such-simulator-dmosopt\", \"--fast\"]\nmode = \"persistent\"\ntimeout = 5400\nretries = 2\nworkdir = \"runs/w{worker}\"\nenv = { OMP_NUM_THREADS = 1 }\n";
    let config = misbehave_config(dir.path(), 0, 1, 2, evaluator);
    let output = dmosopt(dir.path(), &["check", config.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "[evaluator]",
        "command = [\n    \"no-such-simulator-dmosopt\",\n    \"--fast\",\n]",
        "mode = \"persistent\"",
        "timeout = \"1h30m\"",
        "kill_grace = \"10s\"",
        "retries = 2",
        "workdir = \"runs/w{worker}\"",
        "max_failure_fraction = 0.5",
        "ranks_per_worker = 1",
        "OMP_NUM_THREADS = \"1\"",
    ] {
        assert!(stdout.contains(expected), "missing {expected}: {stdout}");
    }
    let output = run(dir.path(), &config, "1");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not found in PATH"));
    assert!(!dir.path().join("out.h5").exists());
}

#[test]
fn protocol_docs_embed_the_example_simulators() {
    let docs = std::fs::read_to_string(format!("{ROOT}/docs/protocol.md")).unwrap();
    for example in [
        "examples/simulators/zdt1.py",
        "examples/simulators/sphere.sh",
    ] {
        let code = std::fs::read_to_string(format!("{ROOT}/{example}")).unwrap();
        assert!(
            docs.contains(&code),
            "docs/protocol.md does not show {example} as it is"
        );
    }
}
