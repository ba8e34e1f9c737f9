//! The run store: where every completed evaluation and every epoch summary goes.
//!
//! [`RunStore`] is what the optimizer loop writes to. [`MemStore`] keeps everything in memory
//! (a test double); [`hdf5::Hdf5Store`] writes the HDF5 file laid out like the Python dmosopt's
//! (see `reference/dmosopt-hdf5.md` and the [`hdf5`] module docs), flushing after every
//! record so that killing the process loses nothing already stored. [`read_run`] reads a run back
//! from any file with that layout — ours or one written by the Python dmosopt.

use std::path::PathBuf;

use thiserror::Error;

use crate::problem::{EvalRecord, ProblemSchema, Status};
use crate::space::ParameterSpace;
use crate::strategy::Candidate;

pub mod hdf5;

pub use self::hdf5::{read_run, Hdf5Store};

/// The stored proposals as candidates (`unit` left empty: [`crate::strategy::Strategy::restore`]
/// recomputes it).
pub fn proposals_as_candidates(run: &StoredRun) -> Vec<Candidate> {
    run.proposals
        .iter()
        .map(|p| Candidate {
            eval_id: p.eval_id,
            epoch: p.epoch,
            parameters: p.parameters.clone(),
            unit: Vec::new(),
            prediction: p.predictions.clone(),
            feasibility: p.feasibility,
            surrogate_epochs: p.surrogate_epochs,
        })
        .collect()
}

/// Everything about a run that is known before the first evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetadata {
    /// Name of the top-level group (dmosopt's `opt_id`).
    pub opt_id: String,
    /// Problem id (dmosopt's default is 0).
    pub problem_id: i32,
    pub space: ParameterSpace,
    pub schema: ProblemSchema,
    /// Problem parameters (`[problem.constants]`), passed to every evaluation; may be empty.
    pub constants: Vec<(String, f64)>,
    pub seed: u64,
    /// The resolved configuration, as TOML text.
    pub config_toml: String,
    pub program_version: String,
    /// Feature names and lengths (1: a scalar f64; n > 1: an f64[n] array member), in order;
    /// empty when the problem declares none (then no `features` column is written).
    pub features: Vec<(String, usize)>,
    /// dmosopt's `metadata` string.
    pub metadata: String,
    /// dmosopt's `optimizer_params/<epoch>/optimizer_name`.
    pub optimizer_name: String,
    /// The optimizer's parameters, written as scalar datasets under
    /// `optimizer_params/<epoch>/` at every recorded epoch.
    pub optimizer_params: Vec<(String, ParamValue)>,
}

/// The value of one optimizer parameter (an i64 or f64 scalar dataset).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
}

/// What happened in one epoch, recorded when it ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochSummary {
    pub epoch: u32,
    /// Evaluations stored so far (cumulative).
    pub n_evaluations: u64,
    /// Feasible evaluations stored so far (cumulative).
    pub n_feasible: u64,
    /// Hypervolume of the feasible front; NaN if undefined.
    pub hypervolume: f64,
    pub fit_seconds: f64,
    pub search_seconds: f64,
    /// Training epochs of the surrogate that proposed this epoch's batch; -1 when not
    /// applicable (initial design, direct search, the GP) or unknown (older files).
    pub surrogate_epochs: i64,
    /// That surrogate's quality on the batch (see `strategy::quality`); NaN when not measured
    /// or not stored (older files).
    pub nrmse: f64,
    pub spearman: f64,
    pub feasibility_accuracy: f64,
    pub feasibility_f1: f64,
}

/// Why the store could not write or read a run. Every message names the file and the object.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{}: the file already exists; refusing to overwrite it", path.display())]
    Exists { path: PathBuf },
    #[error("{}: no such file", path.display())]
    NoFile { path: PathBuf },
    #[error("{}: cannot {action} `{object}`: {detail}", path.display())]
    Hdf5 {
        path: PathBuf,
        object: String,
        action: String,
        detail: String,
    },
    #[error("{}: `{object}` not found", path.display())]
    Missing { path: PathBuf, object: String },
    #[error("{}: `{object}`: {detail}", path.display())]
    Format {
        path: PathBuf,
        object: String,
        detail: String,
    },
    #[error("{}: `{dataset}` expects {expected} values per record, got {got}", path.display())]
    Shape {
        path: PathBuf,
        dataset: String,
        expected: usize,
        got: usize,
    },
    #[error("{}: {what} is ambiguous, choose one of: {}", path.display(), choices.join(", "))]
    Ambiguous {
        path: PathBuf,
        what: String,
        choices: Vec<String>,
    },
    #[error("{}: invalid run metadata: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

/// Where a run's evaluations and epoch summaries are kept.
pub trait RunStore {
    /// Append one completed evaluation; durable (flushed) when this returns.
    fn append(&mut self, record: &EvalRecord) -> Result<(), StoreError>;
    /// Append one epoch summary; durable (flushed) when this returns.
    fn record_epoch(&mut self, summary: &EpochSummary) -> Result<(), StoreError>;
    /// Append a batch of proposed candidates (before any is dispatched); durable when this
    /// returns.
    fn record_proposals(&mut self, batch: &[Candidate]) -> Result<(), StoreError>;
    /// Everything appended so far (kept in memory too).
    fn records(&self) -> &[EvalRecord];
}

/// A run read back from any dmosopt-layout file (ours or the Python dmosopt's).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub opt_id: String,
    pub problem_id: i32,
    /// Space parameters in the order of `parameter_spec`.
    pub parameter_names: Vec<String>,
    /// Objectives in configured order (`objective_spec`).
    pub objective_names: Vec<String>,
    /// Constraints in configured order (`constraint_spec`); empty if the run has none.
    pub constraint_names: Vec<String>,
    pub rows: Vec<StoredRow>,
    /// The resolved configuration (`run/config`); `None` in files without one.
    pub config: Option<String>,
    /// The epoch table (`run/epochs`); empty in files without one.
    pub epochs: Vec<EpochSummary>,
    /// Proposed candidates (`run/proposals`) of complete batches, in write order; empty in
    /// files without the table.
    pub proposals: Vec<StoredProposal>,
}

/// One proposed candidate as stored in `run/proposals`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProposal {
    pub eval_id: u64,
    pub epoch: u32,
    pub parameters: Vec<f64>,
    /// The surrogate's prediction; `None` when it was not stored (NaN).
    pub predictions: Option<Vec<f64>>,
    /// The predicted probability of being feasible; `None` when the model predicts none or
    /// the file has no `feasibility` column (older files).
    pub feasibility: Option<f64>,
    /// Training epochs of the model that proposed it; `None` when not applicable (stored as
    /// −1) or the file has no `surrogate_epochs` column.
    pub surrogate_epochs: Option<usize>,
}

/// One evaluation as stored (values converted to f64, in the name orders of [`StoredRun`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub epoch: u32,
    pub parameters: Vec<f64>,
    pub objectives: Vec<f64>,
    pub constraints: Vec<f64>,
    /// `None` for files without a `status` dataset (the Python dmosopt's).
    pub status: Option<Status>,
    /// `None` for files without an `eval_id` dataset (the Python dmosopt's).
    pub eval_id: Option<u64>,
    /// Why the evaluation was not ok (empty when it was); `None` without an `error` dataset.
    pub error: Option<String>,
    /// The surrogate's prediction; `None` without a `predictions` dataset or when all NaN.
    pub predictions: Option<Vec<f64>>,
    /// `None` in files without the column (the Python dmosopt's).
    pub worker: Option<u32>,
    pub start_time: Option<f64>,
    pub duration: Option<f64>,
}

impl StoredRow {
    /// The row as an evaluation record (`eval_id` given for files without one; a missing
    /// status counts as ok, missing timing as 0).
    pub fn to_record(&self, eval_id: u64) -> EvalRecord {
        EvalRecord {
            eval_id: self.eval_id.unwrap_or(eval_id),
            epoch: self.epoch,
            parameters: self.parameters.clone(),
            objectives: self.objectives.clone(),
            constraints: self.constraints.clone(),
            predictions: self.predictions.clone(),
            status: self.status.unwrap_or(Status::Ok),
            error: self.error.clone().unwrap_or_default(),
            features: None,
            worker: self.worker.unwrap_or(0),
            start_time: self.start_time.unwrap_or(0.0),
            duration: self.duration.unwrap_or(0.0),
        }
    }
}

/// Check a record's lengths against the run's space and schema.
pub(crate) fn check_record(
    meta: &RunMetadata,
    record: &EvalRecord,
    path: &std::path::Path,
) -> Result<(), StoreError> {
    let q = meta.schema.n_objectives();
    let checks = [
        ("parameters", meta.space.dim(), record.parameters.len()),
        ("objectives", q, record.objectives.len()),
        (
            "constraints",
            meta.schema.n_constraints(),
            record.constraints.len(),
        ),
        (
            "predictions",
            q,
            record.predictions.as_ref().map_or(q, |p| p.len()),
        ),
    ];
    for (dataset, expected, got) in checks {
        if expected != got {
            return Err(StoreError::Shape {
                path: path.to_path_buf(),
                dataset: dataset.to_owned(),
                expected,
                got,
            });
        }
    }
    Ok(())
}

/// A record's `features` (compact JSON text) as the flat values of the `features` row:
/// `features` in declared order, each `n` values (numbers; arrays truncated or NaN-padded to
/// `n`; `null`, strings, missing names and unparsable text give NaN). Names not declared are
/// ignored (logged at debug level).
pub fn feature_values(features: &[(String, usize)], json: Option<&str>) -> Vec<f64> {
    let total: usize = features.iter().map(|(_, n)| n).sum();
    let mut out = vec![f64::NAN; total];
    let Some(text) = json else {
        return out;
    };
    let object = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) | Err(_) => {
            tracing::debug!("features are not a JSON object: {text:.200}");
            return out;
        }
    };
    let number = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let mut offset = 0;
    for (name, n) in features {
        match object.get(name) {
            Some(serde_json::Value::Array(values)) => {
                for (slot, value) in out[offset..offset + n].iter_mut().zip(values) {
                    *slot = number(value);
                }
            }
            Some(value) => out[offset] = number(value),
            None => {}
        }
        offset += n;
    }
    for name in object.keys() {
        if !features.iter().any(|(declared, _)| declared == name) {
            tracing::debug!("feature `{name}` is not declared in [problem.features]; not stored");
        }
    }
    out
}

/// In-memory store (test double): keeps records and epoch summaries in vectors.
#[derive(Debug, Clone)]
pub struct MemStore {
    meta: RunMetadata,
    records: Vec<EvalRecord>,
    epochs: Vec<EpochSummary>,
    proposals: Vec<Candidate>,
}

impl MemStore {
    pub fn new(meta: RunMetadata) -> Self {
        Self {
            meta,
            records: Vec::new(),
            epochs: Vec::new(),
            proposals: Vec::new(),
        }
    }

    pub fn metadata(&self) -> &RunMetadata {
        &self.meta
    }

    pub fn epochs(&self) -> &[EpochSummary] {
        &self.epochs
    }

    pub fn proposals(&self) -> &[Candidate] {
        &self.proposals
    }
}

impl RunStore for MemStore {
    fn append(&mut self, record: &EvalRecord) -> Result<(), StoreError> {
        check_record(&self.meta, record, std::path::Path::new("<memory>"))?;
        self.records.push(record.clone());
        Ok(())
    }

    fn record_epoch(&mut self, summary: &EpochSummary) -> Result<(), StoreError> {
        self.epochs.push(*summary);
        Ok(())
    }

    fn record_proposals(&mut self, batch: &[Candidate]) -> Result<(), StoreError> {
        self.proposals.extend_from_slice(batch);
        Ok(())
    }

    fn records(&self) -> &[EvalRecord] {
        &self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Parameter;

    fn meta() -> RunMetadata {
        RunMetadata {
            opt_id: "t".into(),
            problem_id: 0,
            space: ParameterSpace::new(vec![Parameter::continuous("x", 0.0, 1.0)]).unwrap(),
            schema: ProblemSchema {
                objectives: vec!["f".into()],
                constraints: vec![],
            },
            constants: vec![],
            seed: 1,
            config_toml: String::new(),
            program_version: "test".into(),
            features: vec![],
            metadata: String::new(),
            optimizer_name: String::new(),
            optimizer_params: vec![],
        }
    }

    fn record(id: u64, x: f64) -> EvalRecord {
        EvalRecord {
            eval_id: id,
            epoch: 0,
            parameters: vec![x],
            objectives: vec![x * x],
            constraints: vec![],
            predictions: None,
            status: Status::Ok,
            error: String::new(),
            features: None,
            worker: 0,
            start_time: 0.0,
            duration: 0.0,
        }
    }

    #[test]
    fn mem_store_keeps_records_and_epochs() {
        let mut store = MemStore::new(meta());
        store.append(&record(0, 0.5)).unwrap();
        store.append(&record(1, 0.25)).unwrap();
        let summary = EpochSummary {
            epoch: 0,
            n_evaluations: 2,
            n_feasible: 2,
            hypervolume: f64::NAN,
            fit_seconds: 0.1,
            search_seconds: 0.2,
            surrogate_epochs: -1,
            nrmse: f64::NAN,
            spearman: f64::NAN,
            feasibility_accuracy: f64::NAN,
            feasibility_f1: f64::NAN,
        };
        store.record_epoch(&summary).unwrap();
        assert_eq!(store.records().len(), 2);
        assert_eq!(store.records()[1], record(1, 0.25));
        assert_eq!(store.epochs().len(), 1);
        assert_eq!(store.epochs()[0].n_evaluations, 2);
        assert_eq!(store.metadata().opt_id, "t");
    }

    #[test]
    fn feature_values_follow_the_declaration() {
        let features = vec![("g".to_owned(), 1), ("h".to_owned(), 3)];
        let values = |json: Option<&str>| feature_values(&features, json);
        let same = |a: Vec<f64>, b: [f64; 4]| {
            a.len() == 4
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x == &y || (x.is_nan() && y.is_nan()))
        };
        let nan = f64::NAN;
        assert!(same(values(None), [nan; 4]));
        assert!(same(
            values(Some("{\"g\":1.5,\"h\":[1,2,3]}")),
            [1.5, 1.0, 2.0, 3.0]
        ));
        assert!(same(
            values(Some("{\"h\":[1,2,3,4],\"x\":2}")),
            [nan, 1.0, 2.0, 3.0]
        ));
        assert!(same(
            values(Some("{\"g\":null,\"h\":[1]}")),
            [nan, 1.0, nan, nan]
        ));
        assert!(same(
            values(Some("{\"g\":[7],\"h\":5}")),
            [7.0, 5.0, nan, nan]
        ));
        assert!(same(values(Some("[1]")), [nan; 4]));
        assert!(same(values(Some("not json")), [nan; 4]));
    }

    #[test]
    fn mem_store_rejects_wrong_shapes() {
        let mut store = MemStore::new(meta());
        let mut bad = record(0, 0.5);
        bad.objectives.push(1.0);
        let err = store.append(&bad).unwrap_err().to_string();
        assert!(err.contains("objectives"), "{err}");
        assert!(store.records().is_empty());
    }
}
