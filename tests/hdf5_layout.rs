//! Our file's structure against the Python dmosopt's (`constr_features.h5`, walked with h5py),
//! and reading a file with h5py while a run is writing it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dmosopt::problem::{EvalRecord, ProblemSchema, Status};
use dmosopt::space::{Parameter, ParameterSpace};
use dmosopt::store::{EpochSummary, Hdf5Store, ParamValue, RunMetadata, RunStore};

mod common;

use common::{venv_python as python, BIN};

/// Run a Python script with arguments; panics with its output unless it prints `ok`.
fn run_python(python: &Path, dir: &Path, script: &str, args: &[&Path]) -> String {
    let script_path = dir.join("script.py");
    std::fs::write(&script_path, script).unwrap();
    let out = Command::new(python)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .arg(&script_path)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ok"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// The problem shape of `constr_features.h5`.
fn meta() -> RunMetadata {
    RunMetadata {
        opt_id: "probe".into(),
        problem_id: 0,
        space: ParameterSpace::new(vec![
            Parameter::continuous("a", 0.1, 1.0),
            Parameter::continuous("b", 0.0, 5.0),
            Parameter::continuous("c", 0.0, 1.0),
        ])
        .unwrap(),
        schema: ProblemSchema {
            objectives: vec!["f1".into(), "f2".into()],
            constraints: vec!["c1".into(), "c2".into()],
        },
        constants: vec![("beta".into(), 0.5), ("nint".into(), 3.0)],
        seed: 7,
        config_toml: String::new(),
        program_version: "test".into(),
        features: vec![("g".into(), 1), ("h".into(), 3)],
        metadata: "probe metadata".into(),
        optimizer_name: "nsga2".into(),
        optimizer_params: vec![
            ("popsize".into(), ParamValue::Int(20)),
            ("crossover_prob".into(), ParamValue::Float(0.9)),
        ],
    }
}

fn record(i: u64, features: Option<&str>) -> EvalRecord {
    let x = i as f64 * 0.1;
    EvalRecord {
        eval_id: i,
        epoch: (i / 2) as u32,
        parameters: vec![0.1 + x, x, x],
        objectives: vec![x, 1.0 - x],
        constraints: vec![x, -x],
        predictions: None,
        status: Status::Ok,
        error: String::new(),
        features: features.map(str::to_owned),
        worker: 0,
        start_time: 0.0,
        duration: 0.0,
    }
}

const STRUCTURE_SCRIPT: &str = r#"
import re, sys, h5py, numpy as np

def kind(t):
    if t.names is not None:
        return ("compound", tuple((n, kind(t.fields[n][0])) for n in t.names))
    if t.subdtype is not None:
        return ("array", kind(t.subdtype[0]), t.subdtype[1])
    if h5py.check_enum_dtype(t) is not None:
        return ("enum", tuple(sorted(h5py.check_enum_dtype(t))))
    if h5py.check_string_dtype(t) is not None:
        return ("string",)
    if t.kind == "f":
        return ("float",)  # widths may differ: dmosopt f32, ours f64
    return (t.kind, t.itemsize)

def walk(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            name = re.sub(r"^(optimizer_(params|stats))/\d+", r"\1/#", name)
            if isinstance(obj, h5py.Group):
                out[name] = ("group",)
            elif isinstance(obj, h5py.Datatype):
                out[name] = ("type", kind(obj.dtype))
            else:
                out[name] = ("dataset", kind(obj.dtype), len(obj.shape))
        f["probe"].visititems(visit)
        return out

ours, theirs = walk(sys.argv[1]), walk(sys.argv[2])
# Ours only (documented in docs/file-format.md).
EXTRA = re.compile(r"^(run(/.*)?|status_enum|0/(status|eval_id|worker|start_time|duration|error))$")
# dmosopt only: the optional record of the MOEA's surrogate evaluations.
ABSENT = re.compile(r"^surrogate_evals(/.*)?$")
PARAMS = re.compile(r"^optimizer_params/#/")
problems = []
for name in sorted(set(ours) | set(theirs)):
    if PARAMS.match(name):
        continue  # the optimizer's parameters differ by optimizer (compared below)
    if name not in theirs:
        if not EXTRA.match(name):
            problems.append("only ours: " + name)
    elif name not in ours:
        if not ABSENT.match(name):
            problems.append("only dmosopt's: " + name)
    elif name == "optimizer_stats/#/stats":
        if ours[name][1][0] != "compound" or any(k != ("float",) for _, k in ours[name][1][1]):
            problems.append("stats is not an f64 compound: %r" % (ours[name],))
    elif ours[name] != theirs[name]:
        problems.append("%s: ours %r, dmosopt's %r" % (name, ours[name], theirs[name]))
assert ("dataset", ("string",), 0) == ours["optimizer_params/#/optimizer_name"]
assert not problems, "\n".join(problems)

with h5py.File(sys.argv[1], "r") as f:
    g = f["probe"]
    feats = g["0/features"][:]
    assert feats.dtype["g"] == np.float64 and feats.dtype["h"].shape == (3,), feats.dtype
    assert feats["g"][0] == 1.5 and list(feats["h"][0]) == [1.0, 2.0, 3.0], feats
    assert np.isnan(feats["g"][1]) and list(feats["h"][1][:2]) == [4.0, 5.0]
    assert np.isnan(feats["h"][1][2]) and np.all(np.isnan(feats["h"][2]))
    names = h5py.check_enum_dtype(g["feature_enum"].dtype)
    inv = {v: k for k, v in names.items()}
    assert [inv[v] for v in g["feature_spec"]["feature"]] == ["g", "h"]
    assert g["metadata"][()].decode() == "probe metadata"
    paths = g["parameter_paths"][:]
    pnames = {v: k for k, v in h5py.check_enum_dtype(g["parameter_enum"].dtype).items()}
    for row in paths:
        assert row["path_length"] == 1 and row["components"][0].decode() == pnames[row["parameter"]]
    assert int(g["optimizer_params/1/popsize"][()]) == 20
    assert g["optimizer_params/1/optimizer_name"][()].decode() == "nsga2"
    assert g["optimizer_stats/1/stats"][0]["fit_seconds"] == 0.5
print("ok")
"#;

#[test]
fn structure_matches_dmosopt() {
    let Some(python) = python() else {
        eprintln!("skipped: no Python with h5py (set DMOSOPT_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.h5");
    {
        let mut store = Hdf5Store::create(&path, &meta()).unwrap();
        store
            .append(&record(0, Some(r#"{"g":1.5,"h":[1,2,3],"other":7}"#)))
            .unwrap();
        store
            .append(&record(1, Some(r#"{"g":null,"h":[4,5]}"#)))
            .unwrap();
        store.append(&record(2, None)).unwrap();
        for epoch in 0..2 {
            store
                .record_epoch(&EpochSummary {
                    epoch,
                    n_evaluations: 3,
                    n_feasible: 1,
                    hypervolume: 0.25,
                    fit_seconds: 0.5,
                    search_seconds: 1.5,
                    surrogate_epochs: -1,
                    nrmse: f64::NAN,
                    spearman: f64::NAN,
                    feasibility_accuracy: f64::NAN,
                    feasibility_f1: f64::NAN,
                })
                .unwrap();
        }
    }
    let theirs = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/dmosopt-files/constr_features.h5");
    run_python(&python, dir.path(), STRUCTURE_SCRIPT, &[&path, &theirs]);
}

const CONCURRENT_CONFIG: &str = r#"
[problem]
id = "delay"
builtin = "delay"
dim = 3
[problem.constants]
delay_ms = 30
[optimizer]
n_initial = 40
n_epochs = 1
population_size = 20
num_generations = 5
seed = 3
[surrogate]
kind = "none"
"#;

const READER_SCRIPT: &str = r#"
import sys, time, h5py
def rows():
    with h5py.File(sys.argv[1], "r") as f:
        g = f["delay/0"]
        n = len(g["epochs"])
        # every row present is complete: columns are extended together, then flushed
        assert len(g["objectives"][:n]) == n and len(g["status"]) >= n
        return n
start = time.time()
first = 0
while first < 3 and time.time() - start < 20:
    try:
        first = rows()
    except (OSError, KeyError):
        pass  # the layout is still being created
    time.sleep(0.05)
time.sleep(0.6)
second = rows()
print("rows", first, second)
assert 0 < first < second, (first, second)
print("ok")
"#;

#[test]
fn h5py_reads_a_file_while_a_run_writes_it() {
    let Some(python) = python() else {
        eprintln!("skipped: no Python with h5py (set DMOSOPT_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), CONCURRENT_CONFIG).unwrap();
    let path = dir.path().join("live.h5");
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .args(["run", "c.toml", "-w", "1", "-o", "live.h5"])
        .env("OMP_NUM_THREADS", "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the file (120 evaluations of 30 ms follow: about 3.6 s); the script waits
    // for rows. This process does not open the file: without HDF5_USE_FILE_LOCKING=FALSE the
    // writer's lock would refuse it.
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run_python(&python, dir.path(), READER_SCRIPT, &[&path]);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}; {out}");
}

/// Appends per second and file size for 10 000 evaluations of a motoneuron-like shape
/// (30 parameters, 2 objectives, 15 features: 6 numbers and 9 arrays of 7).
/// `cargo test --release --test hdf5_layout -- --ignored --nocapture`
#[test]
#[ignore]
fn throughput_with_features() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.h5");
    let mut meta = meta();
    meta.space = ParameterSpace::new(
        (0..30)
            .map(|i| Parameter::continuous(format!("x{i}"), 0.0, 1.0))
            .collect(),
    )
    .unwrap();
    meta.schema.constraints.clear();
    meta.features = (0..15)
        .map(|i| (format!("feat{i}"), if i < 6 { 1 } else { 7 }))
        .collect();
    let json = serde_json::to_string(&serde_json::Value::Object(
        meta.features
            .iter()
            .map(|(name, n)| {
                let value = if *n == 1 {
                    serde_json::json!(1.25)
                } else {
                    serde_json::json!(vec![2.5; *n])
                };
                (name.clone(), value)
            })
            .collect(),
    ))
    .unwrap();
    let mut store = Hdf5Store::create(&path, &meta).unwrap();
    let n = 10_000u64;
    let started = Instant::now();
    for i in 0..n {
        let mut r = record(i, Some(&json));
        r.parameters = vec![0.5; 30];
        r.constraints.clear();
        store.append(&r).unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(store);
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "{n} appends in {seconds:.2} s: {:.0} appends/s; file {:.2} MB ({} bytes/row)",
        n as f64 / seconds,
        size as f64 / 1e6,
        size / n
    );
}
