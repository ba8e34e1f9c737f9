//! RAII handles and checked calls around the raw HDF5 C API (`hdf5-metno-sys`).
//!
//! Every call into the library runs under `hdf5-metno`'s global reentrant lock
//! ([`::hdf5::sync::sync`]), which also initializes the library and silences HDF5's automatic
//! error printing, so this module cooperates with any use of the high-level crate in the same
//! process. A failed call is turned into a [`Fail`] carrying HDF5's own error description; the
//! caller attaches the file path, the object and the action with [`At::at`].

use std::ffi::{CStr, CString};
use std::path::Path;

use hdf5_sys::h5::{herr_t, htri_t};
use hdf5_sys::h5i::hid_t;

use crate::store::StoreError;

/// Run `f` under the HDF5 library lock (initializing the library on first use).
pub(super) fn lock<T>(f: impl FnOnce() -> T) -> T {
    ::hdf5::sync::sync(f)
}

/// A failed HDF5 call, before the caller has said which file and object it concerned.
#[derive(Debug)]
pub(super) struct Fail(String);

impl Fail {
    /// The current HDF5 error stack's description (call under the lock, right after the failure).
    fn from_stack() -> Self {
        let detail = match ::hdf5::Error::query() {
            Ok(err) => err.to_string(),
            Err(_) => "unknown HDF5 error".to_owned(),
        };
        Fail(detail)
    }

    pub(super) fn msg(detail: impl Into<String>) -> Self {
        Fail(detail.into())
    }

    /// The failure's description.
    pub(super) fn detail(&self) -> &str {
        &self.0
    }
}

/// Attach context (file, object, action) to a low-level failure.
pub(super) trait At<T> {
    fn at(self, path: &Path, object: &str, action: &str) -> Result<T, StoreError>;
}

impl<T> At<T> for Result<T, Fail> {
    fn at(self, path: &Path, object: &str, action: &str) -> Result<T, StoreError> {
        self.map_err(|fail| fail.at(path, object, action))
    }
}

impl Fail {
    /// The store error for this failure on `object` in the file at `path`.
    pub(super) fn at(self, path: &Path, object: &str, action: &str) -> StoreError {
        StoreError::Hdf5 {
            path: path.to_path_buf(),
            object: object.to_owned(),
            action: action.to_owned(),
            detail: self.0,
        }
    }
}

/// Which close function an identifier needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Group,
    Dataset,
    Datatype,
    Dataspace,
    Plist,
    /// Opened with `H5Oopen`: a group, dataset or committed datatype.
    Object,
}

/// An owned HDF5 identifier, closed on drop.
#[derive(Debug)]
pub(super) struct Handle {
    id: hid_t,
    kind: Kind,
}

impl Handle {
    pub(super) fn id(&self) -> hid_t {
        self.id
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let (id, kind) = (self.id, self.kind);
        lock(|| {
            // SAFETY: `id` was returned valid by the library, is owned by this handle alone and
            // is closed exactly once, with the close function matching its kind.
            unsafe {
                match kind {
                    Kind::File => hdf5_sys::h5f::H5Fclose(id),
                    Kind::Group => hdf5_sys::h5g::H5Gclose(id),
                    Kind::Dataset => hdf5_sys::h5d::H5Dclose(id),
                    Kind::Datatype => hdf5_sys::h5t::H5Tclose(id),
                    Kind::Dataspace => hdf5_sys::h5s::H5Sclose(id),
                    Kind::Plist => hdf5_sys::h5p::H5Pclose(id),
                    Kind::Object => hdf5_sys::h5o::H5Oclose(id),
                }
            };
        });
    }
}

/// Run a call returning a new identifier; a negative id becomes a [`Fail`].
pub(super) fn handle(kind: Kind, call: impl FnOnce() -> hid_t) -> Result<Handle, Fail> {
    lock(|| {
        let id = call();
        if id < 0 {
            Err(Fail::from_stack())
        } else {
            Ok(Handle { id, kind })
        }
    })
}

/// Run a call returning `herr_t`; a negative status becomes a [`Fail`].
pub(super) fn check(call: impl FnOnce() -> herr_t) -> Result<(), Fail> {
    lock(|| {
        if call() < 0 {
            Err(Fail::from_stack())
        } else {
            Ok(())
        }
    })
}

/// Run a call returning `htri_t` (true / false / negative error).
pub(super) fn check_tri(call: impl FnOnce() -> htri_t) -> Result<bool, Fail> {
    lock(|| {
        let value = call();
        if value < 0 {
            Err(Fail::from_stack())
        } else {
            Ok(value > 0)
        }
    })
}

/// Run a call returning a count or index (`int`, `ssize_t`, `size_t`-like); negative → [`Fail`].
pub(super) fn check_count<T: Copy + PartialOrd + Default>(
    call: impl FnOnce() -> T,
) -> Result<T, Fail> {
    lock(|| {
        let value = call();
        if value < T::default() {
            Err(Fail::from_stack())
        } else {
            Ok(value)
        }
    })
}

/// A name as a C string (HDF5 names cannot contain NUL bytes).
pub(super) fn cstr(name: &str) -> Result<CString, Fail> {
    CString::new(name).map_err(|_| Fail::msg(format!("name {name:?} contains a NUL byte")))
}

/// A file path as a C string.
pub(super) fn path_cstr(path: &Path) -> Result<CString, Fail> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Fail::msg("path is not valid UTF-8"))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| Fail::msg("path contains a NUL byte"))
}

/// Take ownership of a string the library allocated (e.g. `H5Tget_member_name`) and free it.
pub(super) fn take_h5_string(ptr: *mut std::os::raw::c_char) -> Result<String, Fail> {
    if ptr.is_null() {
        return Err(lock(Fail::from_stack));
    }
    // SAFETY: `ptr` is non-null and points to a NUL-terminated string the library allocated;
    // we copy it before handing it back to the library's allocator exactly once.
    let text = unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: see above; the pointer is not used after this call.
    lock(|| unsafe { hdf5_sys::h5::H5free_memory(ptr.cast()) });
    Ok(text)
}
