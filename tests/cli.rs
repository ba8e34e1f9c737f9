//! The real binary: help, check, run, front, exit codes, reproducibility, and that it starts
//! with no environment at all (libtorch found through the rpath).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{dmosopt, text, BIN};

/// A small, fast ZDT1 configuration (GP surrogate, 2 epochs).
fn small_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("small.toml");
    let body = format!(
        r#"
[problem]
id = "zdt1"
builtin = "zdt1"
dim = 6

[optimizer]
n_initial = 3
n_epochs = 2
population_size = 24
num_generations = 10
resample_fraction = 0.5
seed = 3
{extra}
[surrogate]
kind = "gp"
iterations = 30
restarts = 1
"#
    );
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn help_and_version_work_without_any_environment() {
    let empty = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["--version"],
        &["run", "--help"],
        &["front", "--help"],
        &["check", "--help"],
    ] {
        let output = Command::new(BIN)
            .args(args)
            .env_clear()
            .current_dir(empty.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", text(&output));
    }
    let output = dmosopt(empty.path(), &["run", "--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("Examples:") && help.contains("--set"),
        "{help}"
    );
}

#[test]
fn check_prints_the_resolved_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path(), "");
    let output = dmosopt(
        dir.path(),
        &[
            "check",
            config.to_str().unwrap(),
            "--set",
            "optimizer.n_epochs=7",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "n_epochs = 7",
        "population_size = 24",
        "crossover_eta",
        "file = \"zdt1.h5\"",
        "kind = \"gp\"",
    ] {
        assert!(stdout.contains(expected), "missing {expected}: {stdout}");
    }
}

#[test]
fn bad_config_exits_2_and_names_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[problem]\nbuiltin = \"zdt1\"\n[optimizer]\npopulation = 10\n",
    )
    .unwrap();
    for command in ["check", "run"] {
        let output = dmosopt(dir.path(), &[command, path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("bad.toml")
                && stderr.contains("population")
                && stderr.contains("line 4"),
            "{stderr}"
        );
    }
    let output = dmosopt(dir.path(), &["check", "missing.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.toml"));
    let output = dmosopt(dir.path(), &["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn user_problem_without_evaluator_command_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user.toml");
    std::fs::write(
        &path,
        "[problem]\nid = \"mine\"\nobjectives = [\"f\"]\n[problem.space]\nx = [0.0, 1.0]\n[optimizer]\n",
    )
    .unwrap();
    let output = dmosopt(dir.path(), &["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("evaluator.command"));
}

fn run_small(dir: &Path, output_name: &str, seed: &str) -> Output {
    let config = small_config(dir, "");
    dmosopt(
        dir,
        &[
            "run",
            config.to_str().unwrap(),
            "--output",
            output_name,
            "--seed",
            seed,
            "--workers",
            "2",
        ],
    )
}

#[test]
fn run_writes_a_file_that_front_reads_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_small(dir.path(), "out.h5", "3");
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("18 + 2 × 12") || stdout.contains("42 evaluations"),
        "{stdout}"
    );
    assert!(stdout.contains("final hypervolume"), "{stdout}");
    assert!(dir.path().join("out.h5").exists());

    let table = dmosopt(dir.path(), &["front", "out.h5"]);
    assert!(table.status.success(), "{}", text(&table));
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.lines().next().unwrap().contains("f2"), "{table}");
    assert!(table.contains("non-dominated of 42 evaluations"), "{table}");

    let csv = dmosopt(dir.path(), &["front", "out.h5", "--format", "csv", "--all"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.starts_with("epoch,x1,"), "{csv}");
    let json = dmosopt(dir.path(), &["front", "out.h5", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(json.as_array().is_some_and(|a| !a.is_empty()));

    let again = run_small(dir.path(), "out.h5", "3");
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let missing = dmosopt(dir.path(), &["front", "nope.h5"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.h5"));
}

#[test]
fn same_seed_evaluates_the_same_points() {
    let dir = tempfile::tempdir().unwrap();
    let points = |name: &str, seed: &str| {
        let output = run_small(dir.path(), name, seed);
        assert!(output.status.success(), "{}", text(&output));
        let run = dmosopt::store::read_run(&dir.path().join(name), None, None).unwrap();
        // The file is in completion order (workers race); compare the sets of points.
        let mut points: Vec<Vec<f64>> = run.rows.iter().map(|r| r.parameters.clone()).collect();
        points.sort_by(|a, b| a.partial_cmp(b).expect("finite parameters"));
        points
    };
    let first = points("a.h5", "11");
    assert_eq!(first.len(), 42);
    assert_eq!(points("b.h5", "11"), first);
    assert_ne!(points("c.h5", "12"), first);
}

/// The binary's own output, read with h5py the way dmosopt users' scripts do, agrees with
/// what dmosopt's reader returns.
#[test]
fn h5py_reads_a_run_with_dmosopt_idioms() {
    let python = std::env::var("DMOSOPT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    if !python.exists() {
        println!(
            "skipped: no Python with h5py at {} (set DMOSOPT_PYTHON)",
            python.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = run_small(dir.path(), "h5.h5", "5");
    assert!(output.status.success(), "{}", text(&output));
    let script = r#"
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
g = f["zdt1"]
enum = h5py.check_enum_dtype(g["objective_enum"].dtype)
by_value = {v: k for k, v in enum.items()}
names = [by_value[v] for v in g["objective_spec"]["objective"]]
objectives = g["0/objectives"][:]
parameters = g["0/parameters"][:]
penum = {v: k for k, v in h5py.check_enum_dtype(g["parameter_enum"].dtype).items()}
bounds = {penum[r["parameter"]]: [float(r["lower"]), float(r["upper"])] for r in g["parameter_spec"][:]}
print(json.dumps({
    "names": names,
    "f": [[float(row[n]) for n in names] for row in objectives],
    "x1": [float(v) for v in parameters["x1"]],
    "epochs": [int(e) for e in g["0/epochs"][:]],
    "bounds": bounds,
    "config": g["run/config"][()].decode(),
}))
"#;
    let result = Command::new(&python)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .args(["-c", script])
        .arg(dir.path().join("h5.h5"))
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", text(&result));
    let seen: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let run = dmosopt::store::read_run(&dir.path().join("h5.h5"), None, None).unwrap();
    assert_eq!(seen["names"], serde_json::json!(["f1", "f2"]));
    for (i, row) in run.rows.iter().enumerate() {
        assert_eq!(seen["f"][i][0].as_f64(), Some(row.objectives[0]));
        assert_eq!(seen["f"][i][1].as_f64(), Some(row.objectives[1]));
        assert_eq!(seen["x1"][i].as_f64(), Some(row.parameters[0]));
        assert_eq!(seen["epochs"][i].as_u64(), Some(u64::from(row.epoch)));
    }
    assert_eq!(seen["bounds"]["x6"], serde_json::json!([0.0, 1.0]));
    assert!(seen["config"]
        .as_str()
        .unwrap()
        .contains("builtin = \"zdt1\""));
}

/// `dmosopt simulate` speaks the protocol: a run that evaluates ZDT1 through it (persistent
/// mode, a real subprocess per worker) evaluates the same points as the in-process builtin.
#[test]
fn simulate_command_serves_the_subprocess_path() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = run_small(dir.path(), "inprocess.h5", "9");
    assert!(builtin.status.success(), "{}", text(&builtin));
    let config = small_config(
        dir.path(),
        &format!(
            "[evaluator]\ncommand = [{BIN:?}, \"simulate\", \"zdt1\", \"--dim\", \"6\"]\nmode = \"persistent\"\ntimeout = \"30s\"\n"
        ),
    );
    let output = dmosopt(
        dir.path(),
        &[
            "run",
            config.to_str().unwrap(),
            "--output",
            "sub.h5",
            "--seed",
            "9",
            "--workers",
            "2",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let points = |name: &str| {
        let run = dmosopt::store::read_run(&dir.path().join(name), None, None).unwrap();
        let mut rows: Vec<(Vec<f64>, Vec<f64>)> = run
            .rows
            .iter()
            .map(|r| (r.parameters.clone(), r.objectives.clone()))
            .collect();
        rows.sort_by(|a, b| a.0.partial_cmp(&b.0).expect("finite"));
        rows
    };
    assert_eq!(points("sub.h5"), points("inprocess.h5"));
}

/// Every shipped config validates (and the subprocess one finds `dmosopt` for `simulate`).
#[test]
fn every_shipped_config_checks() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let output = dmosopt(&configs, &["check", path.to_str().unwrap()]);
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                text(&output)
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} configs");
}
