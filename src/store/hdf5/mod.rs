//! The HDF5 run file, laid out like the Python dmosopt's so users' h5py scripts keep working.
//!
//! Under `/<opt_id>/` (see `reference/dmosopt-hdf5.md` for dmosopt's layout):
//! - committed types `objective_enum`, `constraint_enum` (if any constraints), `parameter_enum`
//!   (u16 enums; objectives and constraints numbered in configured order, parameters numbered
//!   constants first (sorted) then space parameters (sorted), as dmosopt does), `status_enum`
//!   (u8, ours), `objective_spec_type`, `constraint_spec_type`, `objective_type`,
//!   `surrogate_objective_type`, `constraint_type` (f64 fields in configured order),
//!   `parameter_space_type` (f64 fields in the space's configured order), `parameter_spec_type`
//!   (packed `{parameter, is_integer: h5py bool, lower: f64, upper: f64}`),
//!   `problem_parameters_type` (packed `{parameter, is_integer, value: f64}`);
//! - datasets `objective_spec`, `constraint_spec` (configured order), `parameter_spec` (one row
//!   per space parameter in configured order, i.e. the field order of `parameter_space_type`),
//!   `problem_parameters` (constants, sorted; `is_integer` is FALSE: our constants are f64),
//!   `problem_ids` (i32 `[problem_id]`), `random_seed` (i32 `(1,)`, only if the seed fits);
//! - `/<opt_id>/<problem_id>/`: aligned, chunked, unlimited 1-D columns `epochs` (u32),
//!   `parameters`, `objectives`, `constraints` (if any), `predictions` (NaN when the record has
//!   none), and ours: `status` (`status_enum`, codes of [`Status::code`](crate::problem::Status)),
//!   `eval_id` (u64), `worker` (u32), `start_time` (f64), `duration` (f64), `error` (vlen UTF-8);
//! - with features (`RunMetadata::features`): `feature_enum`, `feature_spec_type`,
//!   `feature_spec`, `feature_type` (f64 / f64[n] array members) and the aligned `features`
//!   column (the record's JSON parsed by [`feature_values`](crate::store::feature_values));
//! - `metadata` (scalar UTF-8), `parameter_path_type` + `parameter_paths` (names split at `.`),
//!   and per recorded epoch `optimizer_params/<epoch>/…` and `optimizer_stats/<epoch>/stats`;
//! - `/<opt_id>/run/`: `config` (resolved TOML, scalar UTF-8 string), `program_version`,
//!   `seed` (u64 scalar), `epochs` (1-D compound table of [`EpochSummary`] fields, surrogate
//!   quality included), `proposals/` (aligned columns `eval_id`, `epoch`, `batch`,
//!   `parameters`, `predictions`, `feasibility`, `surrogate_epochs`: every proposed candidate,
//!   a whole batch written and flushed before it is dispatched — what
//!   [`Hdf5Store::open_append`] and `Strategy::restore` resume from). Files written before the
//!   quality fields and the last two proposal columns existed are read (the missing values are
//!   −1 / NaN / absent) and continued in their own layout.
//!
//! Values are f64 where dmosopt stores f32. Every [`RunStore::append`] extends all columns by
//! one row and flushes the file (`H5Fflush`), so a `kill -9` loses nothing already returned.
//! The file uses HDF5's default (oldest compatible) format, so any HDF5 ≥ 1.8 reader opens it
//! and a file left open by a killed process needs no repair (`h5clear`) before reading.

mod append;
mod extra;
mod layout;
mod raw;
mod read;
mod types;
mod write;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hdf5_sys::h5f;
use hdf5_sys::h5p::H5P_DEFAULT;

use self::layout::Columns;
use self::raw::{check, handle, path_cstr, At, Handle, Kind};
use self::write::f64_bytes;
use crate::problem::EvalRecord;
use crate::store::{check_record, feature_values, EpochSummary, RunMetadata, RunStore, StoreError};
use crate::strategy::Candidate;

pub use self::read::read_run;

/// A run file being written. Created with [`Hdf5Store::create`]; closed on drop.
#[derive(Debug)]
pub struct Hdf5Store {
    path: PathBuf,
    meta: RunMetadata,
    columns: Columns,
    rows: u64,
    epoch_rows: u64,
    proposal_rows: u64,
    /// The fields of the file's `run/epochs` table ([`layout::EPOCH_FIELDS`], or the first six
    /// of them in a file written before the surrogate-quality fields existed).
    epoch_fields: Vec<String>,
    /// Epochs already in `run/epochs` (a resumed run may report one again: it is skipped).
    recorded_epochs: BTreeSet<u32>,
    records: Vec<EvalRecord>,
    /// Declared last so that it is closed after the datasets.
    file: Handle,
}

impl Hdf5Store {
    /// Create a new file (error [`StoreError::Exists`] naming the path if it exists — never
    /// overwrite) and write the run's metadata, types and spec datasets.
    pub fn create(path: &Path, meta: &RunMetadata) -> Result<Self, StoreError> {
        if path.symlink_metadata().is_ok() {
            return Err(StoreError::Exists {
                path: path.to_path_buf(),
            });
        }
        layout::validate(meta, path)?;
        let cpath = path_cstr(path).at(path, "/", "create file")?;
        // SAFETY: `cpath` is NUL-terminated; EXCL fails rather than truncating an existing file.
        let file = handle(Kind::File, || unsafe {
            h5f::H5Fcreate(cpath.as_ptr(), h5f::H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT)
        })
        .map_err(|fail| {
            if path.symlink_metadata().is_ok() {
                StoreError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                fail.at(path, "/", "create file")
            }
        })?;
        let columns = match layout::create(file.id(), meta, path) {
            Ok(columns) => columns,
            Err(err) => {
                // We created the file (EXCL), so a half-written one is ours to remove.
                drop(file);
                let _ = std::fs::remove_file(path);
                return Err(err);
            }
        };
        let store = Self {
            path: path.to_path_buf(),
            meta: meta.clone(),
            columns,
            rows: 0,
            epoch_rows: 0,
            proposal_rows: 0,
            epoch_fields: layout::EPOCH_FIELDS.iter().map(|s| s.to_string()).collect(),
            recorded_epochs: BTreeSet::new(),
            records: Vec::new(),
            file,
        };
        store.flush()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn metadata(&self) -> &RunMetadata {
        &self.meta
    }

    fn flush(&self) -> Result<(), StoreError> {
        // SAFETY: `file` is an open file id.
        check(|| unsafe { h5f::H5Fflush(self.file.id(), h5f::H5F_scope_t::H5F_SCOPE_LOCAL) })
            .at(&self.path, "/", "flush")
    }

    fn object(&self, column: &str) -> String {
        format!("/{}/{}/{column}", self.meta.opt_id, self.meta.problem_id)
    }

    /// Bytes of one row of the fixed-size column `name` (laid out as its little-endian type).
    fn encode(&self, name: &str, record: &EvalRecord) -> Vec<u8> {
        let q = self.meta.schema.n_objectives();
        match name {
            "epochs" => record.epoch.to_le_bytes().to_vec(),
            "parameters" => f64_bytes(record.parameters.iter().copied()),
            "objectives" => f64_bytes(record.objectives.iter().copied()),
            "constraints" => f64_bytes(record.constraints.iter().copied()),
            "features" => f64_bytes(feature_values(
                &self.meta.features,
                record.features.as_deref(),
            )),
            "predictions" => match &record.predictions {
                Some(p) => f64_bytes(p.iter().copied()),
                None => f64_bytes(std::iter::repeat_n(f64::NAN, q)),
            },
            "status" => vec![record.status.code()],
            "eval_id" => record.eval_id.to_le_bytes().to_vec(),
            "worker" => record.worker.to_le_bytes().to_vec(),
            "start_time" => record.start_time.to_le_bytes().to_vec(),
            "duration" => record.duration.to_le_bytes().to_vec(),
            _ => Vec::new(),
        }
    }

    /// Grow every column to `n + 1` rows and write row `n`.
    fn write_row(&self, n: u64, record: &EvalRecord) -> Result<(), StoreError> {
        let error_column = &self.columns.error;
        for column in self.columns.fixed.iter().chain([error_column]) {
            column
                .resize(n + 1)
                .at(&self.path, &self.object(column.name()), "extend dataset")?;
        }
        for column in &self.columns.fixed {
            column
                .write_row(n, &self.encode(column.name(), record))
                .at(&self.path, &self.object(column.name()), "write row")?;
        }
        error_column
            .write_str_row(n, &write::c_text(&record.error))
            .at(&self.path, &self.object("error"), "write row")
    }
}

impl RunStore for Hdf5Store {
    fn append(&mut self, record: &EvalRecord) -> Result<(), StoreError> {
        check_record(&self.meta, record, &self.path)?;
        let n = self.rows;
        if let Err(err) = self.write_row(n, record) {
            // Keep the columns aligned: shrink back what was grown (best effort).
            for column in self.columns.fixed.iter().chain([&self.columns.error]) {
                let _ = column.resize(n);
            }
            let _ = self.flush();
            return Err(err);
        }
        self.flush()?;
        self.rows += 1;
        self.records.push(record.clone());
        Ok(())
    }

    fn record_epoch(&mut self, summary: &EpochSummary) -> Result<(), StoreError> {
        if self.recorded_epochs.contains(&summary.epoch) {
            return Ok(());
        }
        let bytes = layout::epoch_row(summary, &self.epoch_fields);
        layout::epoch_groups(self.file.id(), &self.meta, &self.path, summary)?;
        let n = self.epoch_rows;
        let column = &self.columns.epochs;
        let object = format!("/{}/run/epochs", self.meta.opt_id);
        column
            .resize(n + 1)
            .at(&self.path, &object, "extend dataset")?;
        if let Err(err) = column
            .write_row(n, &bytes)
            .at(&self.path, &object, "write row")
        {
            let _ = column.resize(n);
            return Err(err);
        }
        self.flush()?;
        self.epoch_rows += 1;
        self.recorded_epochs.insert(summary.epoch);
        Ok(())
    }

    fn record_proposals(&mut self, batch: &[Candidate]) -> Result<(), StoreError> {
        self.write_proposals(batch)
    }

    fn records(&self) -> &[EvalRecord] {
        &self.records
    }
}

#[cfg(test)]
mod tests;
