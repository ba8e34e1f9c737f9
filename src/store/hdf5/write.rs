//! Writing: groups, write-once datasets, and appendable 1-D columns (chunked, unlimited).

use std::ffi::CStr;
use std::os::raw::{c_char, c_void};

use hdf5_sys::h5d;
use hdf5_sys::h5g;
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{self, H5P_DEFAULT};
use hdf5_sys::h5s::{self, H5S_class_t, H5S_seloper_t, H5S_ALL, H5S_UNLIMITED};
use hdf5_sys::h5t;

use super::raw::{check, check_tri, cstr, handle, lock, Fail, Handle, Kind};
use super::types;

/// Target size of one chunk of an appendable column. Every flush rewrites the dirty chunk of
/// each column, so chunks are kept small; rows per chunk = target / row size, within
/// [`MIN_CHUNK_ROWS`, `MAX_CHUNK_ROWS`].
const CHUNK_BYTES: usize = 16 * 1024;
const MIN_CHUNK_ROWS: usize = 64;
const MAX_CHUNK_ROWS: usize = 4096;

/// Rows per chunk for a column whose rows take `row_bytes` bytes.
pub(super) fn chunk_rows(row_bytes: usize) -> usize {
    (CHUNK_BYTES / row_bytes.max(1)).clamp(MIN_CHUNK_ROWS, MAX_CHUNK_ROWS)
}

/// Create a group `name` under `loc`.
pub(super) fn create_group(loc: hid_t, name: &str) -> Result<Handle, Fail> {
    let cname = cstr(name)?;
    // SAFETY: `loc` is an open file or group and `cname` NUL-terminated.
    handle(Kind::Group, || unsafe {
        h5g::H5Gcreate2(loc, cname.as_ptr(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
    })
}

/// Open the group `name` under `loc`, creating it if there is none.
pub(super) fn open_or_create_group(loc: hid_t, name: &str) -> Result<Handle, Fail> {
    let exists = exists(loc, name)?;
    if !exists {
        return create_group(loc, name);
    }
    let cname = cstr(name)?;
    // SAFETY: `loc` is an open file or group, `cname` NUL-terminated; the group exists.
    handle(Kind::Group, || unsafe {
        h5g::H5Gopen2(loc, cname.as_ptr(), H5P_DEFAULT)
    })
}

/// Whether `loc` has a link `name`.
pub(super) fn exists(loc: hid_t, name: &str) -> Result<bool, Fail> {
    let cname = cstr(name)?;
    // SAFETY: `loc` is an open file or group and `cname` a NUL-terminated single-component name.
    check_tri(|| unsafe { hdf5_sys::h5l::H5Lexists(loc, cname.as_ptr(), H5P_DEFAULT) })
}

/// Create a dataset `name` under `loc` with type `ty`, dataspace `space` and creation list `dcpl`.
fn create_dataset(
    loc: hid_t,
    name: &str,
    ty: hid_t,
    space: &Handle,
    dcpl: hid_t,
) -> Result<Handle, Fail> {
    let cname = cstr(name)?;
    // SAFETY: all ids are valid and open; `cname` is NUL-terminated.
    handle(Kind::Dataset, || unsafe {
        h5d::H5Dcreate2(
            loc,
            cname.as_ptr(),
            ty,
            space.id(),
            H5P_DEFAULT,
            dcpl,
            H5P_DEFAULT,
        )
    })
}

/// Write `buf` (laid out exactly as `ty`) to the whole of `ds`.
fn write_all(ds: &Handle, ty: hid_t, buf: *const c_void) -> Result<(), Fail> {
    // SAFETY: callers pass a buffer holding one element of `ty` per element of the dataset's
    // dataspace (checked by the callers that build it).
    check(|| unsafe { h5d::H5Dwrite(ds.id(), ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) })
}

/// Write a fixed-size 1-D dataset `(n,)` of type `ty` whose elements are laid out in `bytes`.
pub(super) fn write_array(
    loc: hid_t,
    name: &str,
    ty: hid_t,
    n: usize,
    bytes: &[u8],
) -> Result<(), Fail> {
    let element = types::size(ty)?;
    if bytes.len() != n * element {
        return Err(Fail::msg(format!(
            "internal: {} bytes for {n} elements of {element} bytes",
            bytes.len()
        )));
    }
    let dims = [n as u64];
    // SAFETY: `dims` holds one dimension, matching rank 1; a null maxdims means fixed size.
    let space = handle(Kind::Dataspace, || unsafe {
        h5s::H5Screate_simple(1, dims.as_ptr(), std::ptr::null())
    })?;
    let ds = create_dataset(loc, name, ty, &space, H5P_DEFAULT)?;
    write_all(&ds, ty, bytes.as_ptr().cast())
}

/// Write a scalar dataset of type `ty` whose single element is laid out in `bytes`.
pub(super) fn write_scalar(loc: hid_t, name: &str, ty: hid_t, bytes: &[u8]) -> Result<(), Fail> {
    if bytes.len() != types::size(ty)? {
        return Err(Fail::msg("internal: scalar buffer size mismatch"));
    }
    // SAFETY: creating a scalar dataspace has no preconditions.
    let space = handle(Kind::Dataspace, || unsafe {
        h5s::H5Screate(H5S_class_t::H5S_SCALAR)
    })?;
    let ds = create_dataset(loc, name, ty, &space, H5P_DEFAULT)?;
    write_all(&ds, ty, bytes.as_ptr().cast())
}

/// Write a scalar variable-length UTF-8 string dataset.
pub(super) fn write_string(loc: hid_t, name: &str, text: &str) -> Result<(), Fail> {
    let ty = types::vlen_utf8()?;
    let text = c_text(text);
    // SAFETY: creating a scalar dataspace has no preconditions.
    let space = handle(Kind::Dataspace, || unsafe {
        h5s::H5Screate(H5S_class_t::H5S_SCALAR)
    })?;
    let ds = create_dataset(loc, name, ty.id(), &space, H5P_DEFAULT)?;
    let ptrs: [*const c_char; 1] = [text.as_ptr()];
    write_all(&ds, ty.id(), ptrs.as_ptr().cast())
}

/// Text as a C string; NUL bytes (which HDF5 strings cannot hold) become U+FFFD.
pub(super) fn c_text(text: &str) -> std::ffi::CString {
    let clean = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.to_owned()
    };
    // The NULs are gone, so this cannot fail; fall back to an empty string regardless.
    std::ffi::CString::new(clean).unwrap_or_default()
}

/// One appendable 1-D dataset (chunked, unlimited), written one row at a time.
#[derive(Debug)]
pub(super) struct Column {
    name: String,
    /// The dataset's own type, also used as the memory type (buffers use the file layout).
    ty: Handle,
    mem_space: Handle,
    ds: Handle,
    row_bytes: usize,
}

impl Column {
    /// Create an empty column `name` under `loc` with element type `ty`.
    pub(super) fn create(loc: hid_t, name: &str, ty: hid_t) -> Result<Self, Fail> {
        let row_bytes = types::size(ty)?;
        let (dims, max) = ([0u64], [H5S_UNLIMITED]);
        // SAFETY: rank 1 matches the one-element `dims` and `max` arrays.
        let space = handle(Kind::Dataspace, || unsafe {
            h5s::H5Screate_simple(1, dims.as_ptr(), max.as_ptr())
        })?;
        // SAFETY: reading the predefined property-list class id.
        let class = lock(|| *h5p::H5P_CLS_DATASET_CREATE);
        // SAFETY: `class` is the dataset-creation class.
        let dcpl = handle(Kind::Plist, || unsafe { h5p::H5Pcreate(class) })?;
        let chunk = [chunk_rows(row_bytes) as u64];
        // SAFETY: `dcpl` is a dataset-creation list; rank 1 matches the one-element `chunk`.
        check(|| unsafe { h5p::H5Pset_chunk(dcpl.id(), 1, chunk.as_ptr()) })?;
        let ds = create_dataset(loc, name, ty, &space, dcpl.id())?;
        Self::from_dataset(name, ds, row_bytes)
    }

    /// Open the existing column `name` under `loc` (to continue appending).
    pub(super) fn open(loc: hid_t, name: &str) -> Result<Self, Fail> {
        let cname = cstr(name)?;
        // SAFETY: `loc` is an open group and `cname` NUL-terminated.
        let ds = handle(Kind::Dataset, || unsafe {
            h5d::H5Dopen2(loc, cname.as_ptr(), H5P_DEFAULT)
        })?;
        // SAFETY: `ds` is an open dataset.
        let ty = handle(Kind::Datatype, || unsafe { h5d::H5Dget_type(ds.id()) })?;
        let row_bytes = types::size(ty.id())?;
        Self::from_dataset(name, ds, row_bytes)
    }

    /// Write `bytes.len() / row size` consecutive rows from `start` (which must exist).
    pub(super) fn write_rows(&self, start: u64, bytes: &[u8]) -> Result<(), Fail> {
        if self.row_bytes == 0 || bytes.len() % self.row_bytes != 0 {
            return Err(Fail::msg(format!(
                "internal: {} bytes for rows of {} bytes",
                bytes.len(),
                self.row_bytes
            )));
        }
        let n = (bytes.len() / self.row_bytes) as u64;
        if n == 0 {
            return Ok(());
        }
        let count = [n];
        // SAFETY: rank 1 matches `count`; null maxdims means fixed size.
        let mem_space = handle(Kind::Dataspace, || unsafe {
            h5s::H5Screate_simple(1, count.as_ptr(), std::ptr::null())
        })?;
        // SAFETY: `bytes` holds exactly `n` elements of the column type.
        unsafe { self.write_selection(start, n, &mem_space, bytes.as_ptr().cast()) }
    }

    fn from_dataset(name: &str, ds: Handle, row_bytes: usize) -> Result<Self, Fail> {
        // SAFETY: `ds` is an open dataset.
        let ty = handle(Kind::Datatype, || unsafe { h5d::H5Dget_type(ds.id()) })?;
        let one = [1u64];
        // SAFETY: rank 1 matches `one`; null maxdims means fixed size.
        let mem_space = handle(Kind::Dataspace, || unsafe {
            h5s::H5Screate_simple(1, one.as_ptr(), std::ptr::null())
        })?;
        Ok(Self {
            name: name.to_owned(),
            ty,
            mem_space,
            ds,
            row_bytes,
        })
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The member names of a compound column (empty for other types).
    pub(super) fn member_names(&self) -> Result<Vec<String>, Fail> {
        if types::class(self.ty.id())? != h5t::H5T_class_t::H5T_COMPOUND {
            return Ok(Vec::new());
        }
        types::member_names(self.ty.id())
    }

    /// Set the number of rows to `rows`.
    pub(super) fn resize(&self, rows: u64) -> Result<(), Fail> {
        let dims = [rows];
        // SAFETY: the dataset is 1-D and chunked with an unlimited maximum.
        check(|| unsafe { h5d::H5Dset_extent(self.ds.id(), dims.as_ptr()) })
    }

    /// Write one row at index `row` (which must exist) from `bytes`, laid out as the column type.
    pub(super) fn write_row(&self, row: u64, bytes: &[u8]) -> Result<(), Fail> {
        if bytes.len() != self.row_bytes {
            return Err(Fail::msg(format!(
                "internal: {} bytes for a {}-byte row",
                bytes.len(),
                self.row_bytes
            )));
        }
        // SAFETY: `bytes` holds exactly one element of the column type.
        unsafe { self.write_raw(row, bytes.as_ptr().cast()) }
    }

    /// Write one variable-length string at index `row` (the column type must be a vlen string).
    pub(super) fn write_str_row(&self, row: u64, text: &CStr) -> Result<(), Fail> {
        // SAFETY: `ty` is an open datatype.
        if !check_tri(|| unsafe { h5t::H5Tis_variable_str(self.ty.id()) })? {
            return Err(Fail::msg("internal: not a variable-length string column"));
        }
        let ptrs: [*const c_char; 1] = [text.as_ptr()];
        // SAFETY: for a vlen string type one element in memory is one `char *`.
        unsafe { self.write_raw(row, ptrs.as_ptr().cast()) }
    }

    /// # Safety
    /// `buf` must point to one element laid out as the column type.
    unsafe fn write_raw(&self, row: u64, buf: *const c_void) -> Result<(), Fail> {
        // SAFETY: forwarded from the caller: one element at `buf`.
        unsafe { self.write_selection(row, 1, &self.mem_space, buf) }
    }

    /// # Safety
    /// `buf` must point to `n` elements laid out as the column type; `mem_space` has `n`.
    unsafe fn write_selection(
        &self,
        row: u64,
        n: u64,
        mem_space: &Handle,
        buf: *const c_void,
    ) -> Result<(), Fail> {
        // SAFETY: `ds` is an open dataset.
        let file_space = handle(Kind::Dataspace, || unsafe {
            h5d::H5Dget_space(self.ds.id())
        })?;
        let (start, count) = ([row], [n]);
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
        })?;
        // SAFETY: `n` selected elements in both spaces; `buf` holds `n` elements (caller).
        check(|| unsafe {
            h5d::H5Dwrite(
                self.ds.id(),
                self.ty.id(),
                mem_space.id(),
                file_space.id(),
                H5P_DEFAULT,
                buf,
            )
        })
    }
}

/// Little-endian bytes of a sequence of f64 values.
pub(super) fn f64_bytes(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    values.into_iter().flat_map(f64::to_le_bytes).collect()
}
