//! Reading a run back from any dmosopt-layout file: ours (f64) or the Python dmosopt's (f32,
//! arbitrary enum numbering).
//!
//! Names and their order come from the `*_spec` datasets through the enum types; record fields
//! are read by name into a native-f64 memory compound, so HDF5 converts whatever float (or
//! integer) type is stored.

use std::os::raw::c_void;
use std::path::Path;

use hdf5_sys::h5::H5_index_t;
use hdf5_sys::h5::H5_iter_order_t;
use hdf5_sys::h5d;
use hdf5_sys::h5f;
use hdf5_sys::h5g;
use hdf5_sys::h5i::{self, hid_t, H5I_type_t};
use hdf5_sys::h5l;
use hdf5_sys::h5o;
use hdf5_sys::h5p::H5P_DEFAULT;
use hdf5_sys::h5s::{self, H5S_seloper_t};
use hdf5_sys::h5t::{self, H5T_class_t};

use super::extra;
use super::raw::{
    check, check_count, check_tri, cstr, handle, lock, path_cstr, take_h5_string, At, Fail,
};
use super::raw::{Handle, Kind};
use super::types;
use crate::problem::Status;
use crate::store::{StoreError, StoredRow, StoredRun};

/// Read one run (one opt_id, one problem id) from a dmosopt-layout file.
///
/// `opt_id` None → the file's only top-level group (an error lists the choices if there are
/// several); `problem_id` None → the first id in `problem_ids`. Rows are index-aligned across
/// the per-problem datasets; a trailing row present in only some of them (an append cut short)
/// is dropped.
pub fn read_run(
    path: &Path,
    opt_id: Option<&str>,
    problem_id: Option<i32>,
) -> Result<StoredRun, StoreError> {
    if path.symlink_metadata().is_err() {
        return Err(StoreError::NoFile {
            path: path.to_path_buf(),
        });
    }
    let cpath = path_cstr(path).at(path, "/", "open file")?;
    // SAFETY: `cpath` is NUL-terminated; read-only access.
    let file = handle(Kind::File, || unsafe {
        h5f::H5Fopen(cpath.as_ptr(), h5f::H5F_ACC_RDONLY, H5P_DEFAULT)
    })
    .at(path, "/", "open file")?;
    let reader = Reader { path };
    let opt_id = match opt_id {
        Some(id) => id.to_owned(),
        None => reader.only_group(&file)?,
    };
    let opt = reader.open(file.id(), &opt_id, &format!("/{opt_id}"), Kind::Group)?;
    let obj = |name: &str| format!("/{opt_id}/{name}");

    let ids_ds = reader.open(opt.id(), "problem_ids", &obj("problem_ids"), Kind::Dataset)?;
    let ids: Vec<i32> = reader.read_ints(&ids_ds, &obj("problem_ids"))?;
    let problem_id = match problem_id {
        Some(id) if ids.contains(&id) => id,
        Some(id) => {
            return Err(StoreError::Format {
                path: path.to_path_buf(),
                object: obj("problem_ids"),
                detail: format!("no problem id {id}; the file has {}", list(&ids)),
            })
        }
        None => *ids.first().ok_or_else(|| StoreError::Format {
            path: path.to_path_buf(),
            object: obj("problem_ids"),
            detail: "no problem ids".into(),
        })?,
    };

    let objective_names = reader.enum_names(opt.id(), "objective_spec", "objective", &obj)?;
    let constraint_names = if reader.exists(opt.id(), "constraint_spec", &obj("constraint_spec"))? {
        reader.enum_names(opt.id(), "constraint_spec", "constraint", &obj)?
    } else {
        Vec::new()
    };
    let parameter_names = reader.enum_names(opt.id(), "parameter_spec", "parameter", &obj)?;

    let pid = problem_id.to_string();
    let problem = reader.open(opt.id(), &pid, &obj(&pid), Kind::Group)?;
    let pobj = |name: &str| obj(&format!("{pid}/{name}"));
    let column = |name: &str| reader.open(problem.id(), name, &pobj(name), Kind::Dataset);

    let epochs: Vec<u32> = reader.read_ints(&column("epochs")?, &pobj("epochs"))?;
    let parameters = reader.read_fields(
        &column("parameters")?,
        &parameter_names,
        &pobj("parameters"),
    )?;
    let objectives = reader.read_fields(
        &column("objectives")?,
        &objective_names,
        &pobj("objectives"),
    )?;
    let constraints = if constraint_names.is_empty() {
        Vec::new()
    } else {
        reader.read_fields(
            &column("constraints")?,
            &constraint_names,
            &pobj("constraints"),
        )?
    };
    let status = if reader.exists(problem.id(), "status", &pobj("status"))? {
        Some(reader.read_status(&column("status")?, &pobj("status"))?)
    } else {
        None
    };
    let eval_ids = if reader.exists(problem.id(), "eval_id", &pobj("eval_id"))? {
        Some(reader.read_u64s(&column("eval_id")?, &pobj("eval_id"))?)
    } else {
        None
    };
    let errors = if reader.exists(problem.id(), "error", &pobj("error"))? {
        Some(reader.read_strings(&column("error")?, &pobj("error"))?)
    } else {
        None
    };
    let extra = extra::columns(&reader, &problem, &objective_names, &pobj)?;
    let run = extra::run_group(&reader, &opt, &opt_id, &parameter_names, &objective_names)?;

    let (np, nq, nk) = (
        parameter_names.len(),
        objective_names.len(),
        constraint_names.len(),
    );
    let mut n = epochs.len();
    for (values, width) in [(&parameters, np), (&objectives, nq), (&constraints, nk)] {
        if let Some(rows) = values.len().checked_div(width) {
            n = n.min(rows);
        }
    }
    if let Some(status) = &status {
        n = n.min(status.len());
    }
    if let Some(ids) = &eval_ids {
        n = n.min(ids.len());
    }
    if let Some(errors) = &errors {
        n = n.min(errors.len());
    }
    n = n.min(extra.rows());
    let rows = (0..n)
        .map(|i| StoredRow {
            epoch: epochs[i],
            parameters: parameters[i * np..(i + 1) * np].to_vec(),
            objectives: objectives[i * nq..(i + 1) * nq].to_vec(),
            constraints: if nk > 0 {
                constraints[i * nk..(i + 1) * nk].to_vec()
            } else {
                Vec::new()
            },
            status: status.as_ref().map(|s| s[i]),
            eval_id: eval_ids.as_ref().map(|ids| ids[i]),
            error: errors.as_ref().map(|e| e[i].clone()),
            predictions: extra.predictions(i, nq),
            worker: extra.worker.as_ref().map(|w| w[i]),
            start_time: extra.start_time.as_ref().map(|t| t[i]),
            duration: extra.duration.as_ref().map(|d| d[i]),
        })
        .collect();
    Ok(StoredRun {
        opt_id,
        problem_id,
        parameter_names,
        objective_names,
        constraint_names,
        rows,
        config: run.config,
        epochs: run.epochs,
        proposals: run.proposals,
    })
}

fn list<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// 4-byte integer element types `read_ints` can convert to.
pub(super) trait NativeInt: Copy {
    fn native_type() -> hid_t;
    /// From 4 native-endian bytes.
    fn from_ne(bytes: &[u8]) -> Self;
}

fn four(bytes: &[u8]) -> [u8; 4] {
    [bytes[0], bytes[1], bytes[2], bytes[3]]
}

impl NativeInt for i32 {
    fn native_type() -> hid_t {
        lock(|| *h5t::H5T_NATIVE_INT32)
    }
    fn from_ne(bytes: &[u8]) -> Self {
        i32::from_ne_bytes(four(bytes))
    }
}

impl NativeInt for u32 {
    fn native_type() -> hid_t {
        lock(|| *h5t::H5T_NATIVE_UINT32)
    }
    fn from_ne(bytes: &[u8]) -> Self {
        u32::from_ne_bytes(four(bytes))
    }
}

/// Read helpers that know the file path for their error messages.
pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
}

impl Reader<'_> {
    pub(super) fn format(&self, object: &str, detail: impl Into<String>) -> StoreError {
        StoreError::Format {
            path: self.path.to_path_buf(),
            object: object.to_owned(),
            detail: detail.into(),
        }
    }

    /// Whether `loc` has a link called `name`.
    pub(super) fn exists(&self, loc: hid_t, name: &str, object: &str) -> Result<bool, StoreError> {
        let cname = cstr(name).at(self.path, object, "look up")?;
        // SAFETY: `loc` is an open group and `cname` a NUL-terminated single-component name.
        check_tri(|| unsafe { h5l::H5Lexists(loc, cname.as_ptr(), H5P_DEFAULT) })
            .at(self.path, object, "look up")
    }

    /// Open the group or dataset `name` under `loc`; [`StoreError::Missing`] if there is none.
    pub(super) fn open(
        &self,
        loc: hid_t,
        name: &str,
        object: &str,
        kind: Kind,
    ) -> Result<Handle, StoreError> {
        if !self.exists(loc, name, object)? {
            return Err(StoreError::Missing {
                path: self.path.to_path_buf(),
                object: object.to_owned(),
            });
        }
        let cname = cstr(name).at(self.path, object, "open")?;
        match kind {
            // SAFETY: `loc` is open and `cname` NUL-terminated.
            Kind::Group => handle(kind, || unsafe {
                h5g::H5Gopen2(loc, cname.as_ptr(), H5P_DEFAULT)
            }),
            // SAFETY: as above.
            _ => handle(Kind::Dataset, || unsafe {
                h5d::H5Dopen2(loc, cname.as_ptr(), H5P_DEFAULT)
            }),
        }
        .at(self.path, object, "open")
    }

    /// The name of the file's only top-level group.
    fn only_group(&self, file: &Handle) -> Result<String, StoreError> {
        let mut info = h5g::H5G_info_t {
            storage_type: h5g::H5G_storage_type_t::H5G_STORAGE_TYPE_COMPACT,
            nlinks: 0,
            max_corder: 0,
            mounted: 0,
        };
        // SAFETY: `file` is open; `info` is a valid out-pointer.
        check(|| unsafe { h5g::H5Gget_info(file.id(), &mut info) }).at(self.path, "/", "list")?;
        let mut groups = Vec::new();
        for i in 0..info.nlinks {
            let name = self.link_name(file.id(), i)?;
            let cname = cstr(&name).at(self.path, &name, "open")?;
            // SAFETY: `name` was just listed in the root group.
            let object = handle(Kind::Object, || unsafe {
                h5o::H5Oopen(file.id(), cname.as_ptr(), H5P_DEFAULT)
            });
            let Ok(object) = object else { continue };
            // SAFETY: `object` is an open object id.
            if lock(|| unsafe { h5i::H5Iget_type(object.id()) }) == H5I_type_t::H5I_GROUP {
                groups.push(name);
            }
        }
        match groups.len() {
            1 => Ok(groups.remove(0)),
            0 => Err(self.format("/", "no top-level (opt_id) group")),
            _ => Err(StoreError::Ambiguous {
                path: self.path.to_path_buf(),
                what: "opt_id".into(),
                choices: groups,
            }),
        }
    }

    /// Name of link number `index` (by name order) in the root group.
    fn link_name(&self, file: hid_t, index: u64) -> Result<String, StoreError> {
        let dot = cstr(".").at(self.path, "/", "list")?;
        let name_at = |buf: *mut std::os::raw::c_char, size: usize| {
            // SAFETY: `dot` is NUL-terminated; `buf` is null (size query) or has `size` bytes.
            check_count(|| unsafe {
                h5l::H5Lget_name_by_idx(
                    file,
                    dot.as_ptr(),
                    H5_index_t::H5_INDEX_NAME,
                    H5_iter_order_t::H5_ITER_INC,
                    index,
                    buf,
                    size,
                    H5P_DEFAULT,
                )
            })
            .at(self.path, "/", "list")
        };
        let len = name_at(std::ptr::null_mut(), 0)?;
        let mut buf = vec![0u8; len as usize + 1];
        name_at(buf.as_mut_ptr().cast(), buf.len())?;
        buf.truncate(len as usize);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Number of elements of a 1-D dataset.
    pub(super) fn len(&self, ds: &Handle, object: &str) -> Result<usize, StoreError> {
        // SAFETY: `ds` is an open dataset.
        let space = handle(Kind::Dataspace, || unsafe { h5d::H5Dget_space(ds.id()) }).at(
            self.path,
            object,
            "get dataspace",
        )?;
        // SAFETY: `space` is an open dataspace.
        let rank = check_count(|| unsafe { h5s::H5Sget_simple_extent_ndims(space.id()) })
            .at(self.path, object, "get rank")?;
        if rank != 1 {
            return Err(self.format(object, format!("expected a 1-D dataset, found rank {rank}")));
        }
        let mut dims = [0u64];
        // SAFETY: rank is 1, so one dimension is written; maxdims may be null.
        check_count(|| unsafe {
            h5s::H5Sget_simple_extent_dims(space.id(), dims.as_mut_ptr(), std::ptr::null_mut())
        })
        .at(self.path, object, "get dimensions")?;
        Ok(dims[0] as usize)
    }

    /// The first `n` elements of a 1-D dataset, converted to `mem_type`, as raw native bytes.
    ///
    /// Selecting exactly `n` elements keeps the read inside the buffer even if the dataset grew
    /// since its length was taken (a writer in the same process).
    pub(super) fn read_bytes(
        &self,
        ds: &Handle,
        mem_type: hid_t,
        n: usize,
        object: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let fail = |f: Fail| f.at(self.path, object, "read");
        let size = types::size(mem_type).map_err(fail)?;
        let mut buf = vec![0u8; n * size];
        if n == 0 {
            return Ok(buf);
        }
        let count = [n as u64];
        // SAFETY: rank 1 matches `count`; null maxdims means fixed size.
        let mem_space = handle(Kind::Dataspace, || unsafe {
            h5s::H5Screate_simple(1, count.as_ptr(), std::ptr::null())
        })
        .map_err(fail)?;
        // SAFETY: `ds` is an open dataset.
        let file_space =
            handle(Kind::Dataspace, || unsafe { h5d::H5Dget_space(ds.id()) }).map_err(fail)?;
        let start = [0u64];
        // SAFETY: rank-1 selection arrays; null stride and block mean 1.
        check(|| unsafe {
            h5s::H5Sselect_hyperslab(
                file_space.id(),
                H5S_seloper_t::H5S_SELECT_SET,
                start.as_ptr(),
                std::ptr::null(),
                count.as_ptr(),
                std::ptr::null(),
            )
        })
        .map_err(fail)?;
        // SAFETY: `n` elements are selected in both spaces and `buf` holds `n` elements of
        // `mem_type` (`n * size` bytes).
        check(|| unsafe {
            h5d::H5Dread(
                ds.id(),
                mem_type,
                mem_space.id(),
                file_space.id(),
                H5P_DEFAULT,
                buf.as_mut_ptr().cast::<c_void>(),
            )
        })
        .map_err(fail)?;
        Ok(buf)
    }

    /// A 1-D integer dataset, converted to `T`.
    pub(super) fn read_ints<T: NativeInt>(
        &self,
        ds: &Handle,
        object: &str,
    ) -> Result<Vec<T>, StoreError> {
        let n = self.len(ds, object)?;
        let bytes = self.read_bytes(ds, T::native_type(), n, object)?;
        Ok(bytes.chunks_exact(4).map(T::from_ne).collect())
    }

    /// A 1-D unsigned 64-bit integer dataset (`eval_id`).
    pub(super) fn read_u64s(&self, ds: &Handle, object: &str) -> Result<Vec<u64>, StoreError> {
        let n = self.len(ds, object)?;
        let bytes = self.read_bytes(ds, lock(|| *h5t::H5T_NATIVE_UINT64), n, object)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect())
    }

    /// A 1-D variable-length string dataset (`error`); a null string reads as empty.
    pub(super) fn read_strings(
        &self,
        ds: &Handle,
        object: &str,
    ) -> Result<Vec<String>, StoreError> {
        let fail = |f: Fail| f.at(self.path, object, "read");
        let file_type = self.dataset_type(ds, object)?;
        if types::class(file_type.id()).map_err(fail)? != H5T_class_t::H5T_STRING {
            return Err(self.format(object, "expected a string dataset"));
        }
        let mem_type = types::vlen_utf8().map_err(fail)?;
        let n = self.len(ds, object)?;
        let bytes = self.read_bytes(ds, mem_type.id(), n, object)?;
        const WIDTH: usize = std::mem::size_of::<usize>();
        let mut strings = Vec::with_capacity(n);
        let mut first_failure = None;
        for chunk in bytes.chunks_exact(WIDTH) {
            let mut raw = [0u8; WIDTH];
            raw.copy_from_slice(chunk);
            // The memory type is a C string pointer per element (`char *`, pointer-sized).
            let ptr = usize::from_ne_bytes(raw) as *mut std::os::raw::c_char;
            if ptr.is_null() {
                strings.push(String::new());
                continue;
            }
            // Each pointer was allocated by the library for this read and is freed exactly once.
            match take_h5_string(ptr) {
                Ok(text) => strings.push(text),
                Err(f) => {
                    strings.push(String::new());
                    first_failure.get_or_insert(f);
                }
            }
        }
        match first_failure {
            Some(f) => Err(fail(f)),
            None => Ok(strings),
        }
    }

    /// The dataset's stored type.
    pub(super) fn dataset_type(&self, ds: &Handle, object: &str) -> Result<Handle, StoreError> {
        // SAFETY: `ds` is an open dataset.
        handle(Kind::Datatype, || unsafe { h5d::H5Dget_type(ds.id()) }).at(
            self.path,
            object,
            "get datatype",
        )
    }

    /// Names in a `*_spec` dataset: member `member` is an enum; each row's value is mapped to
    /// its name through that enum.
    fn enum_names(
        &self,
        opt: hid_t,
        dataset: &str,
        member: &str,
        obj: &dyn Fn(&str) -> String,
    ) -> Result<Vec<String>, StoreError> {
        let object = obj(dataset);
        let ds = self.open(opt, dataset, &object, Kind::Dataset)?;
        let file_type = self.dataset_type(&ds, &object)?;
        let fail = |f: Fail| f.at(self.path, &object, "read enum field");
        let index = types::member_index(file_type.id(), member)
            .map_err(fail)?
            .ok_or_else(|| self.format(&object, format!("no field `{member}`")))?;
        let member_type = types::member_type(file_type.id(), index).map_err(fail)?;
        if types::class(member_type.id()).map_err(fail)? != H5T_class_t::H5T_ENUM {
            return Err(self.format(&object, format!("field `{member}` is not an enum")));
        }
        let native = types::native(member_type.id()).map_err(fail)?;
        let size = types::size(native.id()).map_err(fail)?;
        let mem_type = types::compound(&[(member, native.id())]).map_err(fail)?;
        let n = self.len(&ds, &object)?;
        let buf = self.read_bytes(&ds, mem_type.id(), n, &object)?;
        buf.chunks_exact(size)
            .map(|value| types::enum_name(native.id(), value).map_err(fail))
            .collect()
    }

    /// Fields `names` of a 1-D compound dataset as f64, row-major (`rows × names.len()`).
    pub(super) fn read_fields(
        &self,
        ds: &Handle,
        names: &[String],
        object: &str,
    ) -> Result<Vec<f64>, StoreError> {
        let file_type = self.dataset_type(ds, object)?;
        let fail = |f: Fail| f.at(self.path, object, "read fields");
        if types::class(file_type.id()).map_err(fail)? != H5T_class_t::H5T_COMPOUND {
            return Err(self.format(object, "expected a compound dataset"));
        }
        for name in names {
            if types::member_index(file_type.id(), name)
                .map_err(fail)?
                .is_none()
            {
                let found = types::member_names(file_type.id()).map_err(fail)?;
                return Err(self.format(
                    object,
                    format!("no field `{name}` (fields: {})", found.join(", ")),
                ));
            }
        }
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let n = self.len(ds, object)?;
        let mem_type = types::native_f64_fields(names).map_err(fail)?;
        let bytes = self.read_bytes(ds, mem_type.id(), n, object)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|b| f64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect())
    }

    /// Our `status` column (u8 codes, stored as an enum or a plain integer).
    fn read_status(&self, ds: &Handle, object: &str) -> Result<Vec<Status>, StoreError> {
        let file_type = self.dataset_type(ds, object)?;
        let fail = |f: Fail| f.at(self.path, object, "read");
        // An enum cannot be converted to an integer type, so read it as its native self.
        let mem_type = match types::class(file_type.id()).map_err(fail)? {
            H5T_class_t::H5T_ENUM => types::native(file_type.id()).map_err(fail)?,
            H5T_class_t::H5T_INTEGER => {
                // SAFETY: copying a predefined type.
                handle(Kind::Datatype, || unsafe {
                    h5t::H5Tcopy(*h5t::H5T_NATIVE_UINT8)
                })
                .map_err(fail)?
            }
            _ => return Err(self.format(object, "expected an integer or enum dataset")),
        };
        if types::size(mem_type.id()).map_err(fail)? != 1 {
            return Err(self.format(object, "expected one-byte status codes"));
        }
        let n = self.len(ds, object)?;
        let codes = self.read_bytes(ds, mem_type.id(), n, object)?;
        codes
            .into_iter()
            .enumerate()
            .map(|(row, code)| {
                Status::from_code(code)
                    .ok_or_else(|| self.format(object, format!("row {row}: unknown status {code}")))
            })
            .collect()
    }
}
