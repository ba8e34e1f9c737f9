//! Reading what our files add to the dmosopt layout: the per-row `predictions`, `worker`,
//! `start_time` and `duration` columns, and the `run/` group (`config`, `epochs`,
//! `proposals/`). Every piece is optional, so files of the Python dmosopt read as well.

use std::os::raw::{c_char, c_void};

use hdf5_sys::h5d;
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::H5P_DEFAULT;
use hdf5_sys::h5s::H5S_ALL;
use hdf5_sys::h5t;

use super::layout::EPOCH_FIELDS;
use super::raw::{check, lock, take_h5_string, At, Handle, Kind};
use super::read::Reader;
use super::types;
use crate::store::{EpochSummary, StoreError, StoredProposal};

/// The optional per-row columns.
pub(super) struct ExtraColumns {
    predictions: Option<Vec<f64>>,
    pub worker: Option<Vec<u32>>,
    pub start_time: Option<Vec<f64>>,
    pub duration: Option<Vec<f64>>,
}

impl ExtraColumns {
    /// The number of rows every present column has.
    pub fn rows(&self) -> usize {
        [
            self.worker.as_ref().map(Vec::len),
            self.start_time.as_ref().map(Vec::len),
            self.duration.as_ref().map(Vec::len),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(usize::MAX)
    }

    /// Row `i`'s predictions (`q` values), `None` when absent or all NaN.
    pub fn predictions(&self, i: usize, q: usize) -> Option<Vec<f64>> {
        let values = self.predictions.as_ref()?.get(i * q..(i + 1) * q)?;
        if values.iter().all(|v| v.is_nan()) {
            None
        } else {
            Some(values.to_vec())
        }
    }
}

/// Read the optional per-row columns of the problem group.
pub(super) fn columns(
    reader: &Reader,
    problem: &Handle,
    objective_names: &[String],
    pobj: &dyn Fn(&str) -> String,
) -> Result<ExtraColumns, StoreError> {
    let present = |name: &str| reader.exists(problem.id(), name, &pobj(name));
    let open = |name: &str| reader.open(problem.id(), name, &pobj(name), Kind::Dataset);
    let f64s = |name: &str| -> Result<Option<Vec<f64>>, StoreError> {
        if !present(name)? {
            return Ok(None);
        }
        let ds = open(name)?;
        let n = reader.len(&ds, &pobj(name))?;
        let bytes = reader.read_bytes(&ds, lock(|| *h5t::H5T_NATIVE_DOUBLE), n, &pobj(name))?;
        Ok(Some(f64s_of(&bytes)))
    };
    let predictions = if present("predictions")? {
        Some(reader.read_fields(&open("predictions")?, objective_names, &pobj("predictions"))?)
    } else {
        None
    };
    let worker = if present("worker")? {
        Some(reader.read_ints::<u32>(&open("worker")?, &pobj("worker"))?)
    } else {
        None
    };
    Ok(ExtraColumns {
        predictions,
        worker,
        start_time: f64s("start_time")?,
        duration: f64s("duration")?,
    })
}

fn f64s_of(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect()
}

/// What the `run/` group holds.
pub(super) struct RunGroup {
    pub config: Option<String>,
    pub epochs: Vec<EpochSummary>,
    pub proposals: Vec<StoredProposal>,
}

/// Read `/<opt_id>/run/` if there is one.
pub(super) fn run_group(
    reader: &Reader,
    opt: &Handle,
    opt_id: &str,
    parameter_names: &[String],
    objective_names: &[String],
) -> Result<RunGroup, StoreError> {
    let obj = |name: &str| format!("/{opt_id}/run/{name}");
    let mut group = RunGroup {
        config: None,
        epochs: Vec::new(),
        proposals: Vec::new(),
    };
    if !reader.exists(opt.id(), "run", &format!("/{opt_id}/run"))? {
        return Ok(group);
    }
    let run = reader.open(opt.id(), "run", &format!("/{opt_id}/run"), Kind::Group)?;
    if reader.exists(run.id(), "config", &obj("config"))? {
        let ds = reader.open(run.id(), "config", &obj("config"), Kind::Dataset)?;
        group.config = Some(scalar_string(reader, &ds, &obj("config"))?);
    }
    if reader.exists(run.id(), "epochs", &obj("epochs"))? {
        let ds = reader.open(run.id(), "epochs", &obj("epochs"), Kind::Dataset)?;
        group.epochs = epochs(reader, &ds, &obj("epochs"))?;
    }
    if reader.exists(run.id(), "proposals", &obj("proposals"))? {
        let g = reader.open(run.id(), "proposals", &obj("proposals"), Kind::Group)?;
        group.proposals = proposals(reader, &g, opt_id, parameter_names, objective_names)?;
    }
    Ok(group)
}

/// The `run/epochs` table. The first six [`EPOCH_FIELDS`] are required; the surrogate-quality
/// fields are optional (files written before they existed read −1 / NaN).
fn epochs(reader: &Reader, ds: &Handle, object: &str) -> Result<Vec<EpochSummary>, StoreError> {
    let file_type = reader.dataset_type(ds, object)?;
    let members = types::member_names(file_type.id()).at(reader.path, object, "read datatype")?;
    let names: Vec<String> = EPOCH_FIELDS
        .iter()
        .enumerate()
        .filter(|&(i, name)| i < 6 || members.iter().any(|m| m == name))
        .map(|(_, name)| name.to_string())
        .collect();
    let values = reader.read_fields(ds, &names, object)?;
    Ok(values
        .chunks_exact(names.len())
        .map(|v| {
            let field = |name: &str| {
                names
                    .iter()
                    .position(|n| n == name)
                    .map_or(f64::NAN, |i| v[i])
            };
            let surrogate_epochs = field("surrogate_epochs");
            EpochSummary {
                epoch: v[0] as u32,
                n_evaluations: v[1] as u64,
                n_feasible: v[2] as u64,
                hypervolume: v[3],
                fit_seconds: v[4],
                search_seconds: v[5],
                surrogate_epochs: if surrogate_epochs.is_nan() {
                    -1
                } else {
                    surrogate_epochs as i64
                },
                nrmse: field("nrmse"),
                spearman: field("spearman"),
                feasibility_accuracy: field("feasibility_accuracy"),
                feasibility_f1: field("feasibility_f1"),
            }
        })
        .collect())
}

/// The proposals of complete batches (a batch cut short by a kill is left out).
fn proposals(
    reader: &Reader,
    group: &Handle,
    opt_id: &str,
    parameter_names: &[String],
    objective_names: &[String],
) -> Result<Vec<StoredProposal>, StoreError> {
    let obj = |name: &str| format!("/{opt_id}/run/proposals/{name}");
    let open = |name: &str| reader.open(group.id(), name, &obj(name), Kind::Dataset);
    let eval_ids = reader.read_u64s(&open("eval_id")?, &obj("eval_id"))?;
    let epochs: Vec<u32> = reader.read_ints(&open("epoch")?, &obj("epoch"))?;
    let batches: Vec<u32> = reader.read_ints(&open("batch")?, &obj("batch"))?;
    let parameters =
        reader.read_fields(&open("parameters")?, parameter_names, &obj("parameters"))?;
    let predictions =
        reader.read_fields(&open("predictions")?, objective_names, &obj("predictions"))?;
    // Optional (older files lack them): 8-byte values per row.
    let optional = |name: &str, native: hid_t| -> Result<Option<Vec<[u8; 8]>>, StoreError> {
        if !reader.exists(group.id(), name, &obj(name))? {
            return Ok(None);
        }
        let ds = open(name)?;
        let rows = reader.len(&ds, &obj(name))?;
        let bytes = reader.read_bytes(&ds, native, rows, &obj(name))?;
        Ok(Some(
            bytes
                .chunks_exact(8)
                .map(|b| [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
                .collect(),
        ))
    };
    let feasibility: Option<Vec<f64>> = optional("feasibility", lock(|| *h5t::H5T_NATIVE_DOUBLE))?
        .map(|rows| rows.into_iter().map(f64::from_ne_bytes).collect());
    let surrogate_epochs: Option<Vec<i64>> =
        optional("surrogate_epochs", lock(|| *h5t::H5T_NATIVE_INT64))?
            .map(|rows| rows.into_iter().map(i64::from_ne_bytes).collect());
    let (np, nq) = (parameter_names.len(), objective_names.len());
    let mut n = eval_ids.len().min(epochs.len()).min(batches.len());
    for len in [
        feasibility.as_ref().map(Vec::len),
        surrogate_epochs.as_ref().map(Vec::len),
    ]
    .into_iter()
    .flatten()
    {
        n = n.min(len);
    }
    if let Some(rows) = parameters.len().checked_div(np) {
        n = n.min(rows);
    }
    if let Some(rows) = predictions.len().checked_div(nq) {
        n = n.min(rows);
    }
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let size = (batches[start] as usize).max(1);
        if start + size > n {
            break; // the last batch was cut short
        }
        for i in start..start + size {
            let prediction = &predictions[i * nq..(i + 1) * nq];
            out.push(StoredProposal {
                eval_id: eval_ids[i],
                epoch: epochs[i],
                parameters: parameters[i * np..(i + 1) * np].to_vec(),
                predictions: if prediction.iter().all(|v| v.is_nan()) {
                    None
                } else {
                    Some(prediction.to_vec())
                },
                feasibility: feasibility.as_ref().map(|f| f[i]).filter(|f| !f.is_nan()),
                surrogate_epochs: surrogate_epochs
                    .as_ref()
                    .and_then(|s| usize::try_from(s[i]).ok()),
            });
        }
        start += size;
    }
    Ok(out)
}

/// A scalar string dataset (vlen or fixed-length UTF-8/ASCII), read as a vlen string.
fn scalar_string(reader: &Reader, ds: &Handle, object: &str) -> Result<String, StoreError> {
    let mem_type = types::vlen_utf8().at(reader.path, object, "read")?;
    let mut ptr: [*mut c_char; 1] = [std::ptr::null_mut()];
    // SAFETY: `ds` is an open scalar dataset; the memory type is one `char *`, and `ptr` holds
    // one pointer that the library fills with a string it allocates.
    check(|| unsafe {
        h5d::H5Dread(
            ds.id(),
            mem_type.id(),
            H5S_ALL,
            H5S_ALL,
            H5P_DEFAULT,
            ptr.as_mut_ptr().cast::<c_void>(),
        )
    })
    .at(reader.path, object, "read")?;
    if ptr[0].is_null() {
        return Ok(String::new());
    }
    take_h5_string(ptr[0]).at(reader.path, object, "read")
}
