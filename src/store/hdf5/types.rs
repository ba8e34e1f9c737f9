//! Building and inspecting HDF5 datatypes with runtime member names: enums, compounds,
//! variable-length strings.
//!
//! Every type built here has a fixed little-endian layout, and the writer fills buffers with
//! exactly that layout (`to_le_bytes`), so the file type also serves as the memory type and no
//! conversion happens on write, on any host.

use std::os::raw::{c_char, c_uint, c_void};

use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::H5P_DEFAULT;
use hdf5_sys::h5t::{self, H5T_class_t, H5T_cset_t, H5T_direction_t};

use super::raw::{check, check_count, cstr, handle, lock, take_h5_string, Fail, Handle, Kind};

/// Copy a predefined type (a transient, modifiable copy).
fn copy(base: hid_t) -> Result<Handle, Fail> {
    // SAFETY: `base` is a valid predefined or open datatype id; H5Tcopy returns a new id.
    handle(Kind::Datatype, || unsafe { h5t::H5Tcopy(base) })
}

/// Little-endian IEEE f64.
pub(super) fn f64_le() -> Result<Handle, Fail> {
    // SAFETY: reading the predefined type id (valid once the library is open, which `lock` ensures).
    copy(lock(|| *h5t::H5T_IEEE_F64LE))
}

/// Little-endian u8 / u16 / u32 / u64 / i32 / i8.
pub(super) fn int_le(bytes: usize, signed: bool) -> Result<Handle, Fail> {
    let id = lock(|| match (bytes, signed) {
        (1, false) => Ok(*h5t::H5T_STD_U8LE),
        (2, false) => Ok(*h5t::H5T_STD_U16LE),
        (4, false) => Ok(*h5t::H5T_STD_U32LE),
        (8, false) => Ok(*h5t::H5T_STD_U64LE),
        (1, true) => Ok(*h5t::H5T_STD_I8LE),
        (8, true) => Ok(*h5t::H5T_STD_I64LE),
        (4, true) => Ok(*h5t::H5T_STD_I32LE),
        _ => Err(Fail::msg(format!("no {bytes}-byte integer type"))),
    })?;
    copy(id)
}

/// A variable-length, NUL-terminated UTF-8 string (what h5py writes for `str`).
pub(super) fn vlen_utf8() -> Result<Handle, Fail> {
    let string = copy(lock(|| *h5t::H5T_C_S1))?;
    // SAFETY: `string` is a transient string type we own; setting size and charset is allowed.
    check(|| unsafe { h5t::H5Tset_size(string.id(), h5t::H5T_VARIABLE) })?;
    // SAFETY: as above.
    check(|| unsafe { h5t::H5Tset_cset(string.id(), H5T_cset_t::H5T_CSET_UTF8) })?;
    Ok(string)
}

/// An enum over a little-endian integer base of `base_bytes` bytes (u8/u16; i8 if `signed`).
pub(super) fn enumeration(
    base_bytes: usize,
    signed: bool,
    members: &[(&str, i64)],
) -> Result<Handle, Fail> {
    let base = int_le(base_bytes, signed)?;
    // SAFETY: `base` is a valid integer type; H5Tenum_create returns a new enum type id.
    let ty = handle(Kind::Datatype, || unsafe { h5t::H5Tenum_create(base.id()) })?;
    for &(name, value) in members {
        let cname = cstr(name)?;
        // The value in the base type's (little-endian) layout.
        let bytes = value.to_le_bytes();
        let mut native = [0u8; 8];
        native[..base_bytes].copy_from_slice(&bytes[..base_bytes]);
        // H5Tenum_insert takes the value in the enum's own byte order (little-endian here).
        // SAFETY: `cname` is NUL-terminated and `native` holds at least `base_bytes` bytes,
        // the size of the enum's base type.
        check(|| unsafe {
            h5t::H5Tenum_insert(ty.id(), cname.as_ptr(), native.as_ptr().cast::<c_void>())
        })
        .map_err(|e| Fail::msg(format!("enum member {name:?}: {}", fail_text(e))))?;
    }
    Ok(ty)
}

/// h5py's bool: enum `{FALSE: 0, TRUE: 1}` over i8.
pub(super) fn bool_enum() -> Result<Handle, Fail> {
    enumeration(1, true, &[("FALSE", 0), ("TRUE", 1)])
}

/// A packed compound of the given (name, type) members, in order.
pub(super) fn compound(members: &[(&str, hid_t)]) -> Result<Handle, Fail> {
    let mut sizes = Vec::with_capacity(members.len());
    for &(_, ty) in members {
        sizes.push(size(ty)?);
    }
    let total: usize = sizes.iter().sum();
    if total == 0 {
        return Err(Fail::msg("a compound type needs at least one member"));
    }
    // SAFETY: H5Tcreate with class COMPOUND and a positive size returns a new type id.
    let ty = handle(Kind::Datatype, || unsafe {
        h5t::H5Tcreate(H5T_class_t::H5T_COMPOUND, total)
    })?;
    let mut offset = 0;
    for (&(name, member), size) in members.iter().zip(sizes) {
        let cname = cstr(name)?;
        // SAFETY: `ty` is our compound, `cname` is NUL-terminated, `member` is a valid type and
        // `offset + size <= total`.
        check(|| unsafe { h5t::H5Tinsert(ty.id(), cname.as_ptr(), offset, member) })
            .map_err(|e| Fail::msg(format!("compound member {name:?}: {}", fail_text(e))))?;
        offset += size;
    }
    Ok(ty)
}

/// A compound of little-endian f64 fields named `names`, in order.
pub(super) fn compound_f64(names: &[String]) -> Result<Handle, Fail> {
    let f64_type = f64_le()?;
    let members: Vec<(&str, hid_t)> = names.iter().map(|n| (n.as_str(), f64_type.id())).collect();
    compound(&members)
}

/// A compound of native f64 fields named `names` at offsets `8 i` — the memory type used to read
/// fields by name, whatever their stored float type (HDF5 converts, e.g. f32 → f64).
pub(super) fn native_f64_fields(names: &[String]) -> Result<Handle, Fail> {
    let native = copy(lock(|| *h5t::H5T_NATIVE_DOUBLE))?;
    let members: Vec<(&str, hid_t)> = names.iter().map(|n| (n.as_str(), native.id())).collect();
    compound(&members)
}

/// A 1-D array type of `n` elements of `base`.
pub(super) fn array(base: hid_t, n: usize) -> Result<Handle, Fail> {
    let dims = [n as u64];
    // SAFETY: `base` is a valid datatype, rank 1 matches the one-element `dims`.
    handle(Kind::Datatype, || unsafe {
        h5t::H5Tarray_create2(base, 1, dims.as_ptr())
    })
}

/// A fixed-length ASCII string of `len` bytes, NUL-padded (numpy's `S<len>`).
pub(super) fn fixed_ascii(len: usize) -> Result<Handle, Fail> {
    let string = copy(lock(|| *h5t::H5T_C_S1))?;
    // SAFETY: `string` is a transient string type we own; setting size and padding is allowed.
    check(|| unsafe { h5t::H5Tset_size(string.id(), len) })?;
    // SAFETY: as above.
    check(|| unsafe { h5t::H5Tset_strpad(string.id(), h5t::H5T_str_t::H5T_STR_NULLPAD) })?;
    Ok(string)
}

/// A compound of little-endian f64 fields, `(name, n)`: a scalar for n = 1, an `f64[n]`
/// array member otherwise.
pub(super) fn compound_f64_arrays(fields: &[(String, usize)]) -> Result<Handle, Fail> {
    let f64_type = f64_le()?;
    let mut owned = Vec::new();
    for (_, n) in fields {
        owned.push(if *n == 1 {
            None
        } else {
            Some(array(f64_type.id(), *n)?)
        });
    }
    let members: Vec<(&str, hid_t)> = fields
        .iter()
        .zip(&owned)
        .map(|((name, _), ty)| (name.as_str(), ty.as_ref().map_or(f64_type.id(), Handle::id)))
        .collect();
    compound(&members)
}

/// Commit (name) a transient type at `loc/name`.
pub(super) fn commit(loc: hid_t, name: &str, ty: &Handle) -> Result<(), Fail> {
    let cname = cstr(name)?;
    // SAFETY: `loc` is an open file or group, `cname` NUL-terminated, `ty` a transient type.
    check(|| unsafe {
        h5t::H5Tcommit2(
            loc,
            cname.as_ptr(),
            ty.id(),
            H5P_DEFAULT,
            H5P_DEFAULT,
            H5P_DEFAULT,
        )
    })
}

/// Size in bytes of a datatype.
pub(super) fn size(ty: hid_t) -> Result<usize, Fail> {
    // SAFETY: `ty` is a valid datatype id; H5Tget_size returns 0 on error.
    let size = lock(|| unsafe { h5t::H5Tget_size(ty) });
    if size == 0 {
        Err(Fail::msg("cannot get the size of a datatype"))
    } else {
        Ok(size)
    }
}

/// Class of a datatype.
pub(super) fn class(ty: hid_t) -> Result<H5T_class_t, Fail> {
    // SAFETY: `ty` is a valid datatype id.
    let class = lock(|| unsafe { h5t::H5Tget_class(ty) });
    if class == H5T_class_t::H5T_NO_CLASS {
        Err(Fail::msg("cannot get the class of a datatype"))
    } else {
        Ok(class)
    }
}

/// Names of a compound type's members, in order.
pub(super) fn member_names(ty: hid_t) -> Result<Vec<String>, Fail> {
    // SAFETY: `ty` is a valid datatype id.
    let n = check_count(|| unsafe { h5t::H5Tget_nmembers(ty) })?;
    let mut names = Vec::with_capacity(n as usize);
    for i in 0..n as c_uint {
        // SAFETY: `i` is a valid member index; the returned string is freed by `take_h5_string`.
        let ptr = lock(|| unsafe { h5t::H5Tget_member_name(ty, i) });
        names.push(take_h5_string(ptr)?);
    }
    Ok(names)
}

/// Index of the member called `name` in a compound type, if any.
pub(super) fn member_index(ty: hid_t, name: &str) -> Result<Option<c_uint>, Fail> {
    let cname = cstr(name)?;
    // SAFETY: `ty` is a valid compound type and `cname` NUL-terminated; a missing name returns -1
    // (and pushes an error we ignore).
    let index = lock(|| unsafe { h5t::H5Tget_member_index(ty, cname.as_ptr()) });
    Ok(u32::try_from(index).ok())
}

/// The type of member `index` of a compound type.
pub(super) fn member_type(ty: hid_t, index: c_uint) -> Result<Handle, Fail> {
    // SAFETY: `index` was obtained from `member_index` on the same type.
    handle(Kind::Datatype, || unsafe {
        h5t::H5Tget_member_type(ty, index)
    })
}

/// The native (memory) equivalent of a stored type.
pub(super) fn native(ty: hid_t) -> Result<Handle, Fail> {
    // SAFETY: `ty` is a valid datatype id.
    handle(Kind::Datatype, || unsafe {
        h5t::H5Tget_native_type(ty, H5T_direction_t::H5T_DIR_ASCEND)
    })
}

/// The name of the enum member whose value is stored at `value` (in the enum's memory layout).
pub(super) fn enum_name(enum_type: hid_t, value: &[u8]) -> Result<String, Fail> {
    if value.len() < size(enum_type)? {
        return Err(Fail::msg("internal: enum value buffer too short"));
    }
    let mut buf = vec![0u8; 1024];
    // SAFETY: `value` holds one element of `enum_type` (length checked above) and `buf` has
    // `buf.len()` writable bytes.
    check(|| unsafe {
        h5t::H5Tenum_nameof(
            enum_type,
            value.as_ptr().cast::<c_void>(),
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len(),
        )
    })?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

fn fail_text(fail: Fail) -> String {
    fail.detail().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_members_round_trip() {
        let names = vec!["b".to_owned(), "a.x".to_owned(), "c d".to_owned()];
        let ty = compound_f64(&names).unwrap();
        assert_eq!(size(ty.id()).unwrap(), 24);
        assert_eq!(member_names(ty.id()).unwrap(), names);
        assert_eq!(member_index(ty.id(), "a.x").unwrap(), Some(1));
        assert_eq!(member_index(ty.id(), "zz").unwrap(), None);
        assert_eq!(class(ty.id()).unwrap(), H5T_class_t::H5T_COMPOUND);
    }

    #[test]
    fn enum_names_by_value() {
        let ty = enumeration(2, false, &[("f1", 1), ("f2", 0)]).unwrap();
        assert_eq!(enum_name(ty.id(), &1u16.to_le_bytes()).unwrap(), "f1");
        assert_eq!(enum_name(ty.id(), &0u16.to_le_bytes()).unwrap(), "f2");
        assert!(enum_name(ty.id(), &7u16.to_le_bytes()).is_err());
    }

    #[test]
    fn duplicate_member_names_fail() {
        let names = vec!["a".to_owned(), "a".to_owned()];
        assert!(compound_f64(&names).is_err());
    }
}
