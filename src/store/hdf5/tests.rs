//! Unit tests of the HDF5 store: round trips, refusals, reading the Python dmosopt's files.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::problem::{ProblemSchema, Status};
use crate::space::{Parameter, ParameterSpace};
use crate::store::{read_run, RunMetadata, StoredRow};
use crate::strategy::Candidate;

/// A copy (in `dir`) of one of the Python dmosopt's files from `../shared/reference/` (files
/// there are read-only for tests).
fn reference(dir: &Path, name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/dmosopt-files")
        .join(name);
    let copy = dir.join(name);
    std::fs::copy(&source, &copy).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    copy
}

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
        constraints: vec![x - 0.3, f64::from_bits(0x7ff8_0000_0000_0042)],
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

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn assert_rows_match(rows: &[StoredRow], records: &[EvalRecord]) {
    assert_eq!(rows.len(), records.len());
    for (row, rec) in rows.iter().zip(records) {
        assert_eq!(row.epoch, rec.epoch);
        assert_eq!(bits(&row.parameters), bits(&rec.parameters));
        assert_eq!(bits(&row.objectives), bits(&rec.objectives));
        assert_eq!(bits(&row.constraints), bits(&rec.constraints));
        assert_eq!(row.status, Some(rec.status));
        assert_eq!(row.eval_id, Some(rec.eval_id));
        assert_eq!(row.error.as_deref(), Some(rec.error.as_str()));
    }
}

#[test]
fn round_trip_is_bitwise_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let meta = meta();
    let records: Vec<EvalRecord> = (0..7).map(record).collect();
    {
        let mut store = Hdf5Store::create(&path, &meta).unwrap();
        for r in &records {
            store.append(r).unwrap();
        }
        // (Debug text: NaN != NaN under PartialEq.)
        assert_eq!(format!("{:?}", store.records()), format!("{records:?}"));
        // Readable while the writer still has the file open (same process).
        assert_eq!(read_run(&path, None, None).unwrap().rows.len(), 7);
    }
    let run = read_run(&path, None, None).unwrap();
    assert_eq!(run.opt_id, "probe");
    assert_eq!(run.problem_id, 0);
    assert_eq!(run.parameter_names, ["x", "n", "k"]);
    assert_eq!(run.objective_names, ["f2", "f1"]);
    assert_eq!(run.constraint_names, ["c1", "c0"]);
    assert_rows_match(&run.rows, &records);
    assert_eq!(run.rows[3].status, Some(Status::Failed));
    assert!(run.rows[3].objectives.iter().all(|v| v.is_nan()));
    // Explicit ids give the same run.
    let again = read_run(&path, Some("probe"), Some(0)).unwrap();
    assert_eq!(format!("{again:?}"), format!("{run:?}"));
}

#[test]
fn extras_and_run_group_read_back_with_the_high_level_crate() {
    use ::hdf5::types::VarLenUnicode;

    #[derive(::hdf5::H5Type, Clone, Copy, Debug)]
    #[repr(C)]
    struct EpochRow {
        epoch: u32,
        n_evaluations: u64,
        n_feasible: u64,
        hypervolume: f64,
        fit_seconds: f64,
        search_seconds: f64,
        surrogate_epochs: i64,
        nrmse: f64,
        spearman: f64,
        feasibility_accuracy: f64,
        feasibility_f1: f64,
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let meta = meta();
    let mut store = Hdf5Store::create(&path, &meta).unwrap();
    let records: Vec<EvalRecord> = (0..5).map(record).collect();
    for r in &records {
        store.append(r).unwrap();
    }
    for epoch in 0..3 {
        store
            .record_epoch(&EpochSummary {
                epoch,
                n_evaluations: 10 * u64::from(epoch),
                n_feasible: u64::from(epoch),
                hypervolume: if epoch == 0 {
                    f64::NAN
                } else {
                    0.5 * f64::from(epoch)
                },
                fit_seconds: 1.5,
                search_seconds: 2.5,
                surrogate_epochs: i64::from(epoch) - 1,
                nrmse: 0.125 * f64::from(epoch),
                spearman: 0.5,
                feasibility_accuracy: 0.75,
                feasibility_f1: f64::NAN,
            })
            .unwrap();
    }
    drop(store);

    let file = ::hdf5::File::open(&path).unwrap();
    let g = file.group("probe").unwrap();
    let eval_ids: Vec<u64> = g.dataset("0/eval_id").unwrap().read_raw().unwrap();
    assert_eq!(eval_ids, [100, 101, 102, 103, 104]);
    let workers: Vec<u32> = g.dataset("0/worker").unwrap().read_raw().unwrap();
    assert_eq!(workers, [0, 1, 2, 0, 1]);
    let start: Vec<f64> = g.dataset("0/start_time").unwrap().read_raw().unwrap();
    assert_eq!(start[4], 1.7e9 + 4.0);
    let duration: Vec<f64> = g.dataset("0/duration").unwrap().read_raw().unwrap();
    assert_eq!(duration[2], 0.5);
    let errors: Vec<VarLenUnicode> = g.dataset("0/error").unwrap().read_raw().unwrap();
    assert_eq!(errors[3].as_str(), records[3].error);
    assert_eq!(errors[0].as_str(), "");
    let config: VarLenUnicode = g.dataset("run/config").unwrap().read_scalar().unwrap();
    assert_eq!(config.as_str(), meta.config_toml);
    let version: VarLenUnicode = g
        .dataset("run/program_version")
        .unwrap()
        .read_scalar()
        .unwrap();
    assert_eq!(version.as_str(), meta.program_version);
    let seed: u64 = g.dataset("run/seed").unwrap().read_scalar().unwrap();
    assert_eq!(seed, 7);
    let random_seed: Vec<i32> = g.dataset("random_seed").unwrap().read_raw().unwrap();
    assert_eq!(random_seed, [7]);
    let epochs: Vec<EpochRow> = g.dataset("run/epochs").unwrap().read_raw().unwrap();
    assert_eq!(epochs.len(), 3);
    assert!(epochs[0].hypervolume.is_nan());
    assert_eq!(epochs[2].epoch, 2);
    assert_eq!(epochs[2].n_evaluations, 20);
    assert_eq!(epochs[2].n_feasible, 2);
    assert_eq!(epochs[2].hypervolume, 1.0);
    assert_eq!(epochs[1].fit_seconds, 1.5);
    assert_eq!(epochs[1].search_seconds, 2.5);
    assert_eq!(epochs[2].surrogate_epochs, 1);
    assert_eq!(epochs[0].surrogate_epochs, -1);
    assert_eq!(epochs[2].nrmse, 0.25);
    assert_eq!(
        (epochs[1].spearman, epochs[1].feasibility_accuracy),
        (0.5, 0.75)
    );
    assert!(epochs[1].feasibility_f1.is_nan());
    // Predictions: NaN when the record has none.
    #[derive(::hdf5::H5Type, Clone, Copy, Debug)]
    #[repr(C)]
    struct Pred {
        f2: f64,
        f1: f64,
    }
    let preds: Vec<Pred> = g.dataset("0/predictions").unwrap().read_raw().unwrap();
    assert!(preds[0].f2.is_nan() && preds[0].f1.is_nan());
    assert_eq!((preds[1].f2, preds[1].f1), (-0.9, 0.9));
    for name in [
        "constraint_enum",
        "parameter_enum",
        "status_enum",
        "problem_parameters_type",
    ] {
        assert!(g.link_exists(name), "{name}");
    }
}

#[test]
fn create_refuses_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken.h5");
    std::fs::write(&path, b"precious").unwrap();
    let err = Hdf5Store::create(&path, &meta()).unwrap_err();
    assert!(matches!(err, StoreError::Exists { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn invalid_metadata_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.h5");
    let mut bad = meta();
    bad.constants.push(("x".into(), 1.0)); // clashes with a space parameter
    let err = Hdf5Store::create(&path, &bad).unwrap_err().to_string();
    assert!(err.contains("`x` is used twice"), "{err}");
    assert!(!path.exists());
    let mut bad = meta();
    bad.opt_id = "a/b".into();
    assert!(matches!(
        Hdf5Store::create(&path, &bad),
        Err(StoreError::Invalid { .. })
    ));
    assert!(!path.exists());
}

#[test]
fn wrong_shapes_are_rejected_and_columns_stay_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let mut store = Hdf5Store::create(&path, &meta()).unwrap();
    store.append(&record(0)).unwrap();
    let mut bad = record(1);
    bad.constraints.pop();
    let err = store.append(&bad).unwrap_err().to_string();
    assert!(
        err.contains("constraints") && err.contains("run.h5"),
        "{err}"
    );
    let mut bad = record(1);
    bad.predictions = Some(vec![1.0]);
    assert!(store.append(&bad).is_err());
    store.append(&record(2)).unwrap();
    drop(store);
    let run = read_run(&path, None, None).unwrap();
    assert_rows_match(&run.rows, &[record(0), record(2)]);
}

#[test]
fn runs_without_constraints_or_constants() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let mut meta = meta();
    meta.schema.constraints.clear();
    meta.constants.clear();
    meta.problem_id = 4;
    meta.seed = u64::MAX;
    let mut store = Hdf5Store::create(&path, &meta).unwrap();
    let mut rec = record(1);
    rec.constraints.clear();
    store.append(&rec).unwrap();
    drop(store);
    let run = read_run(&path, None, None).unwrap();
    assert_eq!(run.problem_id, 4);
    assert!(run.constraint_names.is_empty());
    assert_rows_match(&run.rows, &[rec]);
    let file = ::hdf5::File::open(&path).unwrap();
    for absent in [
        "constraint_enum",
        "constraint_spec",
        "problem_parameters",
        "random_seed",
    ] {
        assert!(!file.link_exists(&format!("probe/{absent}")), "{absent}");
    }
    let seed: u64 = file
        .dataset("probe/run/seed")
        .unwrap()
        .read_scalar()
        .unwrap();
    assert_eq!(seed, u64::MAX);
}

#[test]
fn read_errors_name_the_file_and_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    drop(Hdf5Store::create(&path, &meta()).unwrap());
    let err = read_run(&path, Some("nope"), None).unwrap_err().to_string();
    assert!(err.contains("run.h5") && err.contains("/nope"), "{err}");
    let err = read_run(&path, None, Some(9)).unwrap_err().to_string();
    assert!(
        err.contains("no problem id 9") && err.contains("problem_ids"),
        "{err}"
    );
    let missing = dir.path().join("missing.h5");
    let err = read_run(&missing, None, None).unwrap_err();
    assert!(matches!(err, StoreError::NoFile { .. }), "{err}");
    // A second opt_id makes the default ambiguous.
    ::hdf5::File::append(&path)
        .unwrap()
        .create_group("other")
        .unwrap();
    let err = read_run(&path, None, None).unwrap_err().to_string();
    assert!(
        err.contains("opt_id") && err.contains("other, probe"),
        "{err}"
    );
    assert_eq!(read_run(&path, Some("probe"), None).unwrap().rows.len(), 0);
}

#[test]
fn reads_dmosopt_constrained_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = read_run(&reference(dir.path(), "constr_features.h5"), None, None).unwrap();
    assert_eq!(run.opt_id, "probe");
    assert_eq!(run.problem_id, 0);
    assert_eq!(run.parameter_names, ["a", "b", "c"]);
    assert_eq!(run.objective_names, ["f1", "f2"]);
    // constraint_enum numbers c1 = 1, c2 = 0; constraint_spec gives the configured order.
    assert_eq!(run.constraint_names, ["c1", "c2"]);
    assert_eq!(run.rows.len(), 17);
    let first = &run.rows[0];
    assert_eq!(first.epoch, 0);
    assert_eq!(first.status, None);
    assert_eq!((first.eval_id, first.error.as_deref()), (None, None));
    // Values as h5py reads them (f32 widened to f64).
    assert_eq!(
        first.parameters,
        [0.25, 4.166666507720947, 0.7222222089767456]
    );
    assert_eq!(first.objectives, [0.25, 21.38888931274414]);
    assert_eq!(first.constraints, [0.4166666567325592, -2.9166667461395264]);
    let last = run.rows.last().unwrap();
    assert_eq!(last.epoch, 2);
    assert_eq!(
        last.parameters,
        [0.23348470032215118, 0.0, 0.3287104666233063]
    );
    assert_eq!(last.objectives, [0.23348470032215118, 4.6116461753845215]);
    assert_eq!(last.constraints, [-3.8986377716064453, 1.1013623476028442]);
}

#[test]
fn reads_dmosopt_multiproblem_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = reference(dir.path(), "multiproblem_nested.h5");
    let run = read_run(&path, None, None).unwrap();
    assert_eq!(run.opt_id, "mp");
    assert_eq!(run.problem_id, 3);
    assert_eq!(run.parameter_names, ["grp.u", "grp.v"]);
    assert_eq!(run.objective_names, ["o1", "o2"]);
    assert!(run.constraint_names.is_empty());
    assert_eq!(run.rows.len(), 8);
    assert_eq!(
        run.rows[0].parameters,
        [0.0833333358168602, 0.4166666567325592]
    );
    assert_eq!(
        run.rows[0].objectives,
        [3.0833332538604736, 1.3333333730697632]
    );
    let run5 = read_run(&path, Some("mp"), Some(5)).unwrap();
    assert_eq!(run5.problem_id, 5);
    assert_eq!(run5.rows.len(), 8);
    assert_eq!(
        run5.rows[0].parameters,
        [0.4166666567325592, 0.0833333358168602]
    );
    assert_eq!(
        run5.rows[0].objectives,
        [5.416666507720947, 0.6666666865348816]
    );
    assert!(run5.rows[0].constraints.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn any_values_round_trip(raw in proptest::collection::vec(any::<u64>(), 7 * 4)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.h5");
        let mut store = Hdf5Store::create(&path, &meta()).unwrap();
        let records: Vec<EvalRecord> = raw
            .chunks(7)
            .enumerate()
            .map(|(i, w)| {
                let v = |j: usize| f64::from_bits(w[j]);
                EvalRecord {
                    parameters: vec![v(0), v(1), v(2)],
                    objectives: vec![v(3), v(4)],
                    constraints: vec![v(5), v(6)],
                    ..record(i as u64)
                }
            })
            .collect();
        for r in &records {
            store.append(r).unwrap();
        }
        drop(store);
        let run = read_run(&path, None, None).unwrap();
        assert_rows_match(&run.rows, &records);
    }
}

fn proposal(i: u64, feasibility: Option<f64>, surrogate_epochs: Option<usize>) -> Candidate {
    let r = record(i);
    Candidate {
        eval_id: r.eval_id,
        epoch: r.epoch,
        parameters: r.parameters,
        unit: Vec::new(),
        prediction: r.predictions,
        feasibility,
        surrogate_epochs,
    }
}

fn summary(epoch: u32, measured: bool) -> EpochSummary {
    let nan = f64::NAN;
    EpochSummary {
        epoch,
        n_evaluations: 2 * u64::from(epoch) + 2,
        n_feasible: 1,
        hypervolume: 0.5 + f64::from(epoch),
        fit_seconds: 0.25,
        search_seconds: 0.125,
        surrogate_epochs: if measured { 40 + i64::from(epoch) } else { -1 },
        nrmse: if measured { 0.185 } else { nan },
        spearman: if measured { 0.75 } else { nan },
        feasibility_accuracy: if measured { 0.9 } else { nan },
        feasibility_f1: nan,
    }
}

/// The file's epochs as text (NaN compares equal there).
fn epochs_text(path: &Path) -> Vec<String> {
    let run = read_run(path, None, None).unwrap();
    run.epochs.iter().map(|e| format!("{e:?}")).collect()
}

/// Write two batches of proposals (epoch 0 without predictions, epoch 1 with) and their epochs.
fn write_two_epochs(path: &Path, meta: &RunMetadata) {
    let mut store = Hdf5Store::create(path, meta).unwrap();
    store
        .record_proposals(&[proposal(0, None, None), proposal(1, None, None)])
        .unwrap();
    store.record_epoch(&summary(0, false)).unwrap();
    store
        .record_proposals(&[
            proposal(2, Some(0.7), Some(41)),
            proposal(3, Some(0.25), Some(41)),
        ])
        .unwrap();
    store.record_epoch(&summary(1, true)).unwrap();
}

#[test]
fn epoch_quality_and_proposal_feasibility_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.h5");
    let meta = meta();
    write_two_epochs(&path, &meta);
    let run = read_run(&path, None, None).unwrap();
    let expected: Vec<String> = [summary(0, false), summary(1, true)]
        .iter()
        .map(|e| format!("{e:?}"))
        .collect();
    assert_eq!(epochs_text(&path), expected);
    assert_eq!(run.epochs[1].surrogate_epochs, 41);
    assert_eq!(run.epochs[1].nrmse, 0.185);
    let feasibility: Vec<_> = run.proposals.iter().map(|p| p.feasibility).collect();
    assert_eq!(feasibility, [None, None, Some(0.7), Some(0.25)]);
    let epochs: Vec<_> = run.proposals.iter().map(|p| p.surrogate_epochs).collect();
    assert_eq!(epochs, [None, None, Some(41), Some(41)]);
    // The candidates a resume restores carry them.
    let candidates = crate::store::proposals_as_candidates(&run);
    assert_eq!(candidates[2].feasibility, Some(0.7));
    assert_eq!(candidates[3].surrogate_epochs, Some(41));

    // Continued: the same columns keep growing.
    let (mut store, _) = Hdf5Store::open_append(&path, &meta).unwrap();
    store
        .record_proposals(&[proposal(4, Some(0.9), Some(42))])
        .unwrap();
    store.record_epoch(&summary(2, true)).unwrap();
    drop(store);
    let run = read_run(&path, None, None).unwrap();
    assert_eq!(run.proposals.len(), 5);
    assert_eq!(run.proposals[4].feasibility, Some(0.9));
    assert_eq!(run.proposals[4].surrogate_epochs, Some(42));
    assert_eq!(epochs_text(&path)[2], format!("{:?}", summary(2, true)));

    // h5py-style access: named fields of the table.
    let file = ::hdf5::File::open(&path).unwrap();
    let feasibility: Vec<f64> = file
        .dataset("probe/run/proposals/feasibility")
        .unwrap()
        .read_raw()
        .unwrap();
    assert_eq!(feasibility[2..], [0.7, 0.25, 0.9]);
    let epochs: Vec<i64> = file
        .dataset("probe/run/proposals/surrogate_epochs")
        .unwrap()
        .read_raw()
        .unwrap();
    assert_eq!(epochs, [-1, -1, 41, 41, 42]);
}

/// The `run/epochs` row of files written before the surrogate-quality fields.
#[derive(::hdf5::H5Type, Clone, Copy, Debug)]
#[repr(C)]
struct OldEpochRow {
    epoch: u32,
    n_evaluations: u64,
    n_feasible: u64,
    hypervolume: f64,
    fit_seconds: f64,
    search_seconds: f64,
}

/// Rewrite `path` into the layout of the previous version: a six-field `run/epochs` table and
/// no `feasibility` / `surrogate_epochs` proposal columns.
fn downgrade(path: &Path) {
    let file = ::hdf5::File::open_rw(path).unwrap();
    let run = file.group("probe/run").unwrap();
    let rows: Vec<OldEpochRow> = run.dataset("epochs").unwrap().read_raw().unwrap();
    run.unlink("epochs").unwrap();
    let table = run
        .new_dataset::<OldEpochRow>()
        .packed(true)
        .chunk(16)
        .shape(0..)
        .create("epochs")
        .unwrap();
    table.resize(rows.len()).unwrap();
    table.write(&rows).unwrap();
    let proposals = run.group("proposals").unwrap();
    proposals.unlink("feasibility").unwrap();
    proposals.unlink("surrogate_epochs").unwrap();
}

#[test]
fn files_without_the_quality_columns_read_and_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.h5");
    let meta = meta();
    write_two_epochs(&path, &meta);
    downgrade(&path);
    let run = read_run(&path, None, None).unwrap();
    assert_eq!(run.epochs.len(), 2);
    let old = run.epochs[1];
    assert_eq!(
        (old.hypervolume, old.fit_seconds, old.surrogate_epochs),
        (1.5, 0.25, -1)
    );
    assert!(old.nrmse.is_nan() && old.spearman.is_nan() && old.feasibility_f1.is_nan());
    assert_eq!(run.proposals.len(), 4);
    assert!(run
        .proposals
        .iter()
        .all(|p| p.feasibility.is_none() && p.surrogate_epochs.is_none()));

    // Continued in its own layout: the new values are not stored, everything else is.
    let (mut store, _) = Hdf5Store::open_append(&path, &meta).unwrap();
    store
        .record_proposals(&[proposal(4, Some(0.9), Some(42))])
        .unwrap();
    store.record_epoch(&summary(2, true)).unwrap();
    drop(store);
    let run = read_run(&path, None, None).unwrap();
    assert_eq!(run.proposals.len(), 5);
    assert_eq!(run.proposals[4].eval_id, 104);
    assert_eq!(run.proposals[4].feasibility, None);
    assert_eq!(run.epochs.len(), 3);
    assert_eq!(run.epochs[2].hypervolume, 2.5);
    assert_eq!(run.epochs[2].surrogate_epochs, -1);
    assert!(run.epochs[2].nrmse.is_nan());
}
