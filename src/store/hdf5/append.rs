//! Continuing an existing run file ([`Hdf5Store::open_append`]) and the proposal table
//! ([`Hdf5Store::write_proposals`]).

use std::collections::BTreeSet;
use std::path::Path;

use hdf5_sys::h5f;
use hdf5_sys::h5g;
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::H5P_DEFAULT;

use super::layout::{Columns, PROPOSAL_COLUMNS};
use super::raw::{cstr, handle, path_cstr, At, Handle, Kind};
use super::write::{self, f64_bytes, Column};
use super::{read_run, Hdf5Store};
use crate::store::{RunMetadata, StoreError, StoredRun};
use crate::strategy::Candidate;

impl Hdf5Store {
    /// Open an existing run file to continue appending. The file's names (opt_id, problem id,
    /// parameters, objectives, constraints) must match `meta` — an error lists the
    /// differences. Columns left misaligned by a kill mid-append, and a proposal batch cut
    /// short, are trimmed. Returns the store and the run as read (records, proposals, epochs).
    pub fn open_append(path: &Path, meta: &RunMetadata) -> Result<(Self, StoredRun), StoreError> {
        let stored = read_run(path, Some(&meta.opt_id), Some(meta.problem_id))?;
        let differences = name_differences(meta, &stored);
        if !differences.is_empty() {
            return Err(StoreError::Invalid {
                path: path.to_path_buf(),
                detail: format!(
                    "the file's run does not match the configuration: {}",
                    differences.join("; ")
                ),
            });
        }
        let mut records = Vec::with_capacity(stored.rows.len());
        for (i, row) in stored.rows.iter().enumerate() {
            if row.eval_id.is_none() {
                return Err(StoreError::Format {
                    path: path.to_path_buf(),
                    object: format!("/{}/{}/eval_id", meta.opt_id, meta.problem_id),
                    detail: "missing: only files written by this program can be continued".into(),
                });
            }
            records.push(row.to_record(i as u64));
        }
        let cpath = path_cstr(path).at(path, "/", "open file")?;
        // SAFETY: `cpath` is NUL-terminated.
        let file = handle(Kind::File, || unsafe {
            h5f::H5Fopen(cpath.as_ptr(), h5f::H5F_ACC_RDWR, H5P_DEFAULT)
        })
        .at(path, "/", "open file for writing")?;
        let columns = open_columns(&file, meta, path)?;
        let epoch_fields = columns.epochs.member_names().at(
            path,
            &format!("/{}/run/epochs", meta.opt_id),
            "read datatype",
        )?;
        let rows = stored.rows.len() as u64;
        let epoch_rows = stored.epochs.len() as u64;
        let proposal_rows = stored.proposals.len() as u64;
        let trim = |column: &Column, n: u64, group: &str| {
            let object = format!("/{}/{group}/{}", meta.opt_id, column.name());
            column.resize(n).at(path, &object, "trim dataset")
        };
        let pid = meta.problem_id.to_string();
        for column in columns.fixed.iter().chain([&columns.error]) {
            trim(column, rows, &pid)?;
        }
        trim(&columns.epochs, epoch_rows, "run")?;
        for column in &columns.proposals {
            trim(column, proposal_rows, "run/proposals")?;
        }
        let store = Self {
            path: path.to_path_buf(),
            meta: meta.clone(),
            columns,
            rows,
            epoch_rows,
            proposal_rows,
            epoch_fields,
            recorded_epochs: stored
                .epochs
                .iter()
                .map(|e| e.epoch)
                .collect::<BTreeSet<_>>(),
            records,
            file,
        };
        store.flush()?;
        Ok((store, stored))
    }

    /// Append a batch of proposed candidates to `run/proposals/` and flush.
    pub(super) fn write_proposals(&mut self, batch: &[Candidate]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let q = self.meta.schema.n_objectives();
        let size = batch.len() as u32;
        let n = self.proposal_rows;
        let k = batch.len() as u64;
        let object = |name: &str| format!("/{}/run/proposals/{name}", self.meta.opt_id);
        let mut result = Ok(());
        for column in &self.columns.proposals {
            let bytes: Vec<u8> = batch
                .iter()
                .flat_map(|c| match column.name() {
                    "eval_id" => c.eval_id.to_le_bytes().to_vec(),
                    "epoch" => c.epoch.to_le_bytes().to_vec(),
                    "batch" => size.to_le_bytes().to_vec(),
                    "parameters" => f64_bytes(c.parameters.iter().copied()),
                    "feasibility" => f64_bytes([c.feasibility.unwrap_or(f64::NAN)]),
                    "surrogate_epochs" => c
                        .surrogate_epochs
                        .and_then(|n| i64::try_from(n).ok())
                        .unwrap_or(-1)
                        .to_le_bytes()
                        .to_vec(),
                    _ => match &c.prediction {
                        Some(p) => f64_bytes(p.iter().copied()),
                        None => f64_bytes(std::iter::repeat_n(f64::NAN, q)),
                    },
                })
                .collect();
            result = column
                .resize(n + k)
                .at(&self.path, &object(column.name()), "extend dataset")
                .and_then(|()| {
                    column.write_rows(n, &bytes).at(
                        &self.path,
                        &object(column.name()),
                        "write rows",
                    )
                });
            if result.is_err() {
                break;
            }
        }
        if let Err(err) = result {
            for column in &self.columns.proposals {
                let _ = column.resize(n);
            }
            let _ = self.flush();
            return Err(err);
        }
        self.flush()?;
        self.proposal_rows += k;
        Ok(())
    }
}

/// Differences between the names in the file and the configuration's.
fn name_differences(meta: &RunMetadata, stored: &StoredRun) -> Vec<String> {
    let mut out = Vec::new();
    let pairs = [
        ("parameters", meta.space.names(), &stored.parameter_names),
        (
            "objectives",
            meta.schema.objectives.clone(),
            &stored.objective_names,
        ),
        (
            "constraints",
            meta.schema.constraints.clone(),
            &stored.constraint_names,
        ),
    ];
    for (what, configured, in_file) in pairs {
        if &configured != in_file {
            out.push(format!(
                "{what}: file [{}], config [{}]",
                in_file.join(", "),
                configured.join(", ")
            ));
        }
    }
    out
}

/// The [`PROPOSAL_COLUMNS`] the file has (older files lack `feasibility` and
/// `surrogate_epochs`).
fn present_proposal_columns(
    group: &Handle,
    path: &Path,
    opt_id: &str,
) -> Result<Vec<&'static str>, StoreError> {
    let mut present = Vec::with_capacity(PROPOSAL_COLUMNS.len());
    for name in PROPOSAL_COLUMNS {
        let object = format!("/{opt_id}/run/proposals/{name}");
        if write::exists(group.id(), name).at(path, &object, "look up")? {
            present.push(name);
        }
    }
    Ok(present)
}

fn open_group(loc: hid_t, name: &str, path: &Path, object: &str) -> Result<Handle, StoreError> {
    let cname = cstr(name).at(path, object, "open group")?;
    // SAFETY: `loc` is open and `cname` NUL-terminated.
    handle(Kind::Group, || unsafe {
        h5g::H5Gopen2(loc, cname.as_ptr(), H5P_DEFAULT)
    })
    .at(path, object, "open group")
}

/// Open the appendable columns of an existing file, in the order [`layout`] creates them.
///
/// [`layout`]: super::layout
fn open_columns(file: &Handle, meta: &RunMetadata, path: &Path) -> Result<Columns, StoreError> {
    let opt_id = &meta.opt_id;
    let pid = meta.problem_id.to_string();
    let opt = open_group(file.id(), opt_id, path, &format!("/{opt_id}"))?;
    let problem = open_group(opt.id(), &pid, path, &format!("/{opt_id}/{pid}"))?;
    let run = open_group(opt.id(), "run", path, &format!("/{opt_id}/run"))?;
    let proposals = open_group(
        run.id(),
        "proposals",
        path,
        &format!("/{opt_id}/run/proposals"),
    )?;
    let open = |group: &Handle, group_name: &str, name: &str| {
        Column::open(group.id(), name).at(
            path,
            &format!("/{opt_id}/{group_name}/{name}"),
            "open dataset",
        )
    };
    let mut names = vec!["epochs", "parameters", "objectives"];
    if meta.schema.n_constraints() > 0 {
        names.push("constraints");
    }
    if !meta.features.is_empty() {
        names.push("features");
    }
    names.extend([
        "predictions",
        "status",
        "eval_id",
        "worker",
        "start_time",
        "duration",
    ]);
    let fixed = names
        .iter()
        .map(|name| open(&problem, &pid, name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Columns {
        fixed,
        error: open(&problem, &pid, "error")?,
        epochs: open(&run, "run", "epochs")?,
        proposals: present_proposal_columns(&proposals, path, opt_id)?
            .into_iter()
            .map(|name| open(&proposals, "run/proposals", name))
            .collect::<Result<Vec<_>, _>>()?,
    })
}
