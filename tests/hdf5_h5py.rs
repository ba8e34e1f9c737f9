//! The HDF5 run file from the outside: dmosopt users' h5py idioms, durability under `kill -9`,
//! and a throughput measurement (`--ignored`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use dmosopt::problem::{EvalRecord, ProblemSchema, Status};
use dmosopt::space::{Parameter, ParameterSpace};
use dmosopt::store::{read_run, EpochSummary, Hdf5Store, RunMetadata, RunStore, StoredRow};

mod common;

use common::venv_python as python;

fn meta() -> RunMetadata {
    RunMetadata {
        opt_id: "probe".into(),
        problem_id: 0,
        space: ParameterSpace::new(vec![
            Parameter::continuous("x", -2.0, 3.0),
            Parameter {
                name: "n".into(),
                lower: 1.0,
                upper: 8.0,
                integer: true,
                log: false,
            },
            Parameter {
                name: "k".into(),
                lower: 1e-5,
                upper: 1e-1,
                integer: false,
                log: true,
            },
        ])
        .unwrap(),
        schema: ProblemSchema {
            objectives: vec!["f2".into(), "f1".into()],
            constraints: vec!["c1".into(), "c0".into()],
        },
        constants: vec![("nint".into(), 3.0), ("beta".into(), 0.5)],
        seed: 7,
        config_toml: "[problem]\nid = \"probe\"\n# ünïcode\n".into(),
        program_version: "dmosopt 0.1.0 (test)".into(),
        features: vec![],
        metadata: String::new(),
        optimizer_name: String::new(),
        optimizer_params: vec![],
    }
}

fn record(i: u64) -> EvalRecord {
    let x = i as f64 * 0.1 - 1.0;
    let failed = i == 3;
    EvalRecord {
        eval_id: 100 + i,
        epoch: (i / 2) as u32,
        parameters: vec![x, (i % 8 + 1) as f64, 10f64.powf(-1.0 - x.abs())],
        objectives: if failed {
            vec![f64::NAN, f64::NAN]
        } else {
            vec![x * x, 1.0 / (1.0 + x)]
        },
        constraints: vec![x - 0.3, 0.7 - x],
        predictions: (i % 2 == 1).then(|| vec![x, -x]),
        status: if failed { Status::Failed } else { Status::Ok },
        error: if failed {
            "simulation exited with status 3: ünïcode".into()
        } else {
            String::new()
        },
        features: None,
        worker: (i % 3) as u32,
        start_time: 1.7e9 + i as f64,
        duration: 0.25 * i as f64,
    }
}

/// A Python list literal of floats (`nan` / `inf` are defined by the script).
fn py_floats(values: impl IntoIterator<Item = f64>) -> String {
    let items: Vec<String> = values.into_iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", items.join(", ")).replace("NaN", "nan")
}

/// Run `script` with `args` under `python`; the script reads the `EXP_*` values from the file
/// named by its last argument. Panics with the script's output unless it succeeds and prints
/// `ok_line`.
fn run_python(
    python: &Path,
    dir: &Path,
    script: &str,
    args: &[&Path],
    expected: &str,
    ok_line: &str,
) {
    let script_path = dir.join("script.py");
    let values = dir.join("expected.py");
    std::fs::write(&script_path, script).unwrap();
    std::fs::write(&values, expected).unwrap();
    // HDF5's C library opens files without close-on-exec, so a Python child of another test
    // running in parallel can inherit (and keep locked) a file this test then wants to read.
    let out = Command::new(python)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .arg(&script_path)
        .args(args)
        .arg(&values)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains(ok_line), "{stdout}");
}

const H5PY_SCRIPT: &str = r#"
import sys
import h5py
import numpy as np

nan, inf = float("nan"), float("inf")
path, opt_id = sys.argv[1], sys.argv[2]
exec(open(sys.argv[-1], encoding="utf-8").read())  # defines the EXP_* values

with h5py.File(path, "r") as f:
    g = f[opt_id]
    # Names through the enums and the *_spec datasets.
    obj_enum = h5py.check_enum_dtype(g["objective_enum"].dtype)
    obj_by_value = {v: k for k, v in obj_enum.items()}
    objective_names = [obj_by_value[v] for v in g["objective_spec"]["objective"]]
    assert objective_names == EXP_OBJECTIVE_NAMES, objective_names
    con_enum = h5py.check_enum_dtype(g["constraint_enum"].dtype)
    con_by_value = {v: k for k, v in con_enum.items()}
    constraint_names = [con_by_value[v] for v in g["constraint_spec"]["constraint"]]
    assert constraint_names == EXP_CONSTRAINT_NAMES, constraint_names
    par_enum = h5py.check_enum_dtype(g["parameter_enum"].dtype)
    par_by_value = {v: k for k, v in par_enum.items()}
    assert par_enum == EXP_PARAMETER_ENUM, par_enum
    bounds = {
        par_by_value[row["parameter"]]: (float(row["lower"]), float(row["upper"]), bool(row["is_integer"]))
        for row in g["parameter_spec"][:]
    }
    assert bounds == EXP_BOUNDS, bounds
    constants = {par_by_value[p]: float(v) for p, _, v in g["problem_parameters"][:]}
    assert constants == EXP_CONSTANTS, constants
    assert list(g["problem_ids"][:]) == [0]
    assert int(g["random_seed"][0]) == EXP_SEED

    pid = str(g["problem_ids"][0])
    # Structured arrays, columns by name.
    params = g[pid + "/parameters"][:]
    assert list(params.dtype.names) == EXP_PARAMETER_NAMES, params.dtype.names
    for name in params.dtype.names:
        np.testing.assert_array_equal(params[name], np.array(EXP_PARAMETERS[name]))
    objectives = g[pid + "/objectives"][:]
    for name in objective_names:
        np.testing.assert_array_equal(objectives[name], np.array(EXP_OBJECTIVES[name]))
    constraints = g[pid + "/constraints"][:]
    for name in constraint_names:
        np.testing.assert_array_equal(constraints[name], np.array(EXP_CONSTRAINTS[name]))
    predictions = g[pid + "/predictions"][:]
    for name in objective_names:
        np.testing.assert_array_equal(predictions[name], np.array(EXP_PREDICTIONS[name]))
    epochs = g[pid + "/epochs"][:]
    assert epochs.dtype == np.uint32
    assert list(epochs) == EXP_EPOCHS, epochs
    # Grouping by epoch, as analysis scripts do.
    per_epoch = {int(e): int(np.sum(epochs == e)) for e in np.unique(epochs)}
    assert per_epoch == EXP_PER_EPOCH, per_epoch

    # Our aligned extras.
    status_enum = h5py.check_enum_dtype(g[pid + "/status"].dtype)
    status_by_value = {v: k for k, v in status_enum.items()}
    assert [status_by_value[s] for s in g[pid + "/status"][:]] == EXP_STATUS
    assert list(g[pid + "/error"].asstr()[:]) == EXP_ERRORS
    assert list(g[pid + "/eval_id"][:]) == EXP_EVAL_IDS
    assert list(g[pid + "/worker"][:]) == EXP_WORKERS
    assert len(g[pid + "/start_time"]) == len(g[pid + "/duration"]) == len(epochs)
    assert g["run/config"][()].decode("utf-8") == EXP_CONFIG
    assert g["run/program_version"][()].decode("utf-8") == EXP_VERSION
    assert int(g["run/seed"][()]) == EXP_SEED
    table = g["run/epochs"][:]
    assert list(table["epoch"]) == [0, 1], table
    assert list(table["n_evaluations"]) == [4, 6], table
    assert np.isnan(table["hypervolume"][0]) and table["hypervolume"][1] == 0.75, table
    assert list(table["surrogate_epochs"]) == [-1, 30], table
    assert np.isnan(table["nrmse"][0]) and table["nrmse"][1] == 0.185, table
    assert table["spearman"][1] == 0.75 and table["feasibility_accuracy"][1] == 0.875, table
    assert np.isnan(table["feasibility_f1"]).all(), table
print("h5py idioms OK")
"#;

#[test]
fn h5py_idioms_read_our_file() {
    let Some(python) = python() else {
        println!("skipping: no Python with h5py (set DMOSOPT_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let meta = meta();
    let records: Vec<EvalRecord> = (0..6).map(record).collect();
    let mut store = Hdf5Store::create(&path, &meta).unwrap();
    for r in &records {
        store.append(r).unwrap();
    }
    for (epoch, n, hv) in [(0u32, 4u64, f64::NAN), (1, 6, 0.75)] {
        store
            .record_epoch(&EpochSummary {
                epoch,
                n_evaluations: n,
                n_feasible: 1,
                hypervolume: hv,
                fit_seconds: 0.5,
                search_seconds: 0.25,
                surrogate_epochs: if epoch == 0 { -1 } else { 30 },
                nrmse: if epoch == 0 { f64::NAN } else { 0.185 },
                spearman: if epoch == 0 { f64::NAN } else { 0.75 },
                feasibility_accuracy: if epoch == 0 { f64::NAN } else { 0.875 },
                feasibility_f1: f64::NAN,
            })
            .unwrap();
    }
    drop(store);

    let column = |names: &[String], get: &dyn Fn(&EvalRecord, usize) -> f64| {
        let entries: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(j, name)| format!("{name:?}: {}", py_floats(records.iter().map(|r| get(r, j)))))
            .collect();
        format!("{{{}}}", entries.join(", "))
    };
    let space_names = meta.space.names();
    let q = &meta.schema.objectives;
    let mut per_epoch = std::collections::BTreeMap::new();
    for r in &records {
        *per_epoch.entry(r.epoch).or_insert(0) += 1;
    }
    let expected = [
        format!("EXP_OBJECTIVE_NAMES = {q:?}"),
        format!("EXP_CONSTRAINT_NAMES = {:?}", meta.schema.constraints),
        format!("EXP_PARAMETER_NAMES = {space_names:?}"),
        // Constants first (sorted), then space parameters (sorted), as dmosopt numbers them.
        "EXP_PARAMETER_ENUM = {'beta': 0, 'nint': 1, 'k': 2, 'n': 3, 'x': 4}".into(),
        "EXP_BOUNDS = {'x': (-2.0, 3.0, False), 'n': (1.0, 8.0, True), 'k': (1e-05, 0.1, False)}"
            .into(),
        "EXP_CONSTANTS = {'beta': 0.5, 'nint': 3.0}".into(),
        format!("EXP_SEED = {}", meta.seed),
        format!(
            "EXP_PARAMETERS = {}",
            column(&space_names, &|r, j| r.parameters[j])
        ),
        format!("EXP_OBJECTIVES = {}", column(q, &|r, j| r.objectives[j])),
        format!(
            "EXP_CONSTRAINTS = {}",
            column(&meta.schema.constraints, &|r, j| r.constraints[j])
        ),
        format!(
            "EXP_PREDICTIONS = {}",
            column(q, &|r, j| r.predictions.as_ref().map_or(f64::NAN, |p| p[j]))
        ),
        format!(
            "EXP_EPOCHS = {:?}",
            records.iter().map(|r| r.epoch).collect::<Vec<_>>()
        ),
        format!("EXP_PER_EPOCH = {per_epoch:?}"),
        format!(
            "EXP_STATUS = {:?}",
            records
                .iter()
                .map(|r| r.status.as_str())
                .collect::<Vec<_>>()
        ),
        format!(
            "EXP_ERRORS = {:?}",
            records.iter().map(|r| r.error.as_str()).collect::<Vec<_>>()
        ),
        format!(
            "EXP_EVAL_IDS = {:?}",
            records.iter().map(|r| r.eval_id).collect::<Vec<_>>()
        ),
        format!(
            "EXP_WORKERS = {:?}",
            records.iter().map(|r| r.worker).collect::<Vec<_>>()
        ),
        format!("EXP_CONFIG = {:?}", meta.config_toml),
        format!("EXP_VERSION = {:?}", meta.program_version),
    ]
    .join("\n");
    let opt_id = Path::new("probe");
    run_python(
        &python,
        dir.path(),
        H5PY_SCRIPT,
        &[&path, opt_id],
        &expected,
        "h5py idioms OK",
    );
}

const CROSS_CHECK_SCRIPT: &str = r#"
import sys
import h5py
import numpy as np

nan, inf = float("nan"), float("inf")
path, opt_id, pid = sys.argv[1], sys.argv[2], sys.argv[3]
exec(open(sys.argv[-1], encoding="utf-8").read())  # defines the EXP_* values

with h5py.File(path, "r") as f:
    g = f[opt_id]

    def names(kind):
        if kind + "_spec" not in g:
            return []
        by_value = {v: k for k, v in h5py.check_enum_dtype(g[kind + "_enum"].dtype).items()}
        return [by_value[v] for v in g[kind + "_spec"][kind]]

    assert names("objective") == EXP_OBJECTIVE_NAMES, names("objective")
    assert names("constraint") == EXP_CONSTRAINT_NAMES, names("constraint")
    assert names("parameter") == EXP_PARAMETER_NAMES, names("parameter")
    p = g[pid]
    assert list(p["epochs"][:]) == EXP_EPOCHS
    for dataset, fields, rows in [
        ("parameters", EXP_PARAMETER_NAMES, EXP_PARAMETERS),
        ("objectives", EXP_OBJECTIVE_NAMES, EXP_OBJECTIVES),
        ("constraints", EXP_CONSTRAINT_NAMES, EXP_CONSTRAINTS),
    ]:
        if not fields:
            continue
        data = p[dataset][:]
        got = np.stack([data[name].astype(np.float64) for name in fields], axis=1)
        np.testing.assert_array_equal(got, np.array(rows, dtype=np.float64))
print("h5py agrees")
"#;

/// `read_run` on the Python dmosopt's files gives exactly what h5py reads (f32 widened to f64).
#[test]
fn read_run_agrees_with_h5py_on_dmosopt_files() {
    let Some(python) = python() else {
        println!("skipping: no Python with h5py (set DMOSOPT_PYTHON)");
        return;
    };
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/dmosopt-files");
    for (file, opt_id, problem_ids) in [
        ("constr_features.h5", "probe", &[0][..]),
        ("multiproblem_nested.h5", "mp", &[3, 5][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        std::fs::copy(reference.join(file), &path).unwrap();
        for &pid in problem_ids {
            let run = read_run(&path, Some(opt_id), Some(pid)).unwrap();
            assert!(!run.rows.is_empty());
            let rows = |get: &dyn Fn(&StoredRow) -> &[f64]| {
                let rows: Vec<String> = run
                    .rows
                    .iter()
                    .map(|r| py_floats(get(r).iter().copied()))
                    .collect();
                format!("[{}]", rows.join(", "))
            };
            let expected = [
                format!("EXP_PARAMETER_NAMES = {:?}", run.parameter_names),
                format!("EXP_OBJECTIVE_NAMES = {:?}", run.objective_names),
                format!("EXP_CONSTRAINT_NAMES = {:?}", run.constraint_names),
                format!(
                    "EXP_EPOCHS = {:?}",
                    run.rows.iter().map(|r| r.epoch).collect::<Vec<_>>()
                ),
                format!("EXP_PARAMETERS = {}", rows(&|r| &r.parameters)),
                format!("EXP_OBJECTIVES = {}", rows(&|r| &r.objectives)),
                format!("EXP_CONSTRAINTS = {}", rows(&|r| &r.constraints)),
            ]
            .join("\n");
            let pid_text = pid.to_string();
            run_python(
                &python,
                dir.path(),
                CROSS_CHECK_SCRIPT,
                &[&path, Path::new(opt_id), Path::new(&pid_text)],
                &expected,
                "h5py agrees",
            );
        }
    }
}

/// Environment variable that turns [`crash_child_helper`] into the process that gets killed.
const CRASH_CHILD: &str = "DMOSOPT_STORE_CRASH_CHILD";

/// In the crash test's child process: append until killed, reporting each durable count on
/// stdout.
/// A no-op in a normal test run.
#[test]
fn crash_child_helper() {
    let Some(path) = std::env::var_os(CRASH_CHILD) else {
        return;
    };
    let mut store = Hdf5Store::create(Path::new(&path), &meta()).unwrap();
    // Bounded, and a closed pipe (parent gone) makes `println!` panic, so it never runs away.
    for i in 0..200_000 {
        store.append(&record(i)).unwrap();
        println!("durable {}", i + 1);
    }
}

#[test]
fn kill_9_loses_nothing_already_appended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.h5");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_helper",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut durable = 0u64;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("durable ") {
            durable = n.trim().parse().unwrap();
            if durable >= 300 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no H5Fclose
    child.wait().unwrap();
    assert!(durable >= 300, "child reported only {durable} appends");
    let run = read_run(&path, None, None).unwrap();
    assert!(
        run.rows.len() as u64 >= durable,
        "{} rows on disk, {durable} reported durable",
        run.rows.len()
    );
    for (i, row) in run.rows.iter().enumerate() {
        let expected = record(i as u64);
        assert_eq!(row.epoch, expected.epoch, "row {i}");
        assert_eq!(row.parameters, expected.parameters, "row {i}");
        assert_eq!(row.status, Some(expected.status), "row {i}");
    }
}

#[test]
#[ignore = "throughput measurement; run with --ignored --nocapture"]
fn append_throughput_and_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.h5");
    let mut meta = meta();
    meta.space = ParameterSpace::uniform_box(30, 0.0, 1.0).unwrap();
    meta.schema.constraints.clear();
    let n: u64 = std::env::var("DMOSOPT_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let records: Vec<EvalRecord> = (0..n)
        .map(|i| {
            let u = (i as f64 * 0.618_033_988_7).fract();
            EvalRecord {
                eval_id: i,
                epoch: (i / 500) as u32,
                parameters: (0..30).map(|j| (u + j as f64 * 0.1).fract()).collect(),
                objectives: vec![u, 1.0 - u * u],
                constraints: vec![],
                predictions: (i >= 500).then(|| vec![u, 1.0 - u]),
                status: Status::Ok,
                error: if i % 100 == 7 {
                    "exit status 1".into()
                } else {
                    String::new()
                },
                features: None,
                worker: (i % 64) as u32,
                start_time: 1.7e9 + i as f64,
                duration: 12.5,
            }
        })
        .collect();
    let mut store = Hdf5Store::create(&path, &meta).unwrap();
    let start = Instant::now();
    for r in &records {
        store.append(r).unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(store);
    let bytes = std::fs::metadata(&path).unwrap().len();
    let start = Instant::now();
    let run = read_run(&path, None, None).unwrap();
    let read = start.elapsed().as_secs_f64();
    assert_eq!(run.rows.len() as u64, n);
    println!(
        "{n} appends (30 params, 2 objectives, flush each): {elapsed:.2} s = {:.0} appends/s; \
         file {:.2} MB ({:.0} B/evaluation); read_run {read:.3} s",
        n as f64 / elapsed,
        bytes as f64 / 1e6,
        bytes as f64 / n as f64
    );
}
