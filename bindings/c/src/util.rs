//! Checked conversions of the raw pointers C hands in.

use std::ffi::{c_char, CStr};
use std::time::Duration;

use crate::error::{ee_status_t, Failure, Result};

/// A borrowed string argument: NULL gives `EE_NULL_POINTER`, bytes that are not UTF-8 give
/// `EE_INVALID_UTF8`.
pub(crate) fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL, and the caller passes a NUL-terminated string (documented).
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| {
        Failure::new(
            ee_status_t::EE_INVALID_UTF8,
            format!("{what} is not valid UTF-8 ({e})"),
        )
    })
}

/// A borrowed byte-buffer argument: `data` may be NULL only when `len` is 0.
pub(crate) fn bytes_arg<'a>(data: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if data.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(Failure::null(what));
    }
    // SAFETY: the caller passes `len` readable bytes at `data` (documented).
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A borrowed array argument of `count` elements: `items` may be NULL only when `count` is 0.
pub(crate) fn array_arg<'a, T>(items: *const T, count: usize, what: &str) -> Result<&'a [T]> {
    if items.is_null() {
        if count == 0 {
            return Ok(&[]);
        }
        return Err(Failure::null(what));
    }
    // SAFETY: the caller passes `count` readable elements at `items` (documented).
    Ok(unsafe { std::slice::from_raw_parts(items, count) })
}

/// A handle argument, shared.
pub(crate) fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: a non-NULL handle is one the library made and the caller has not freed
    // (documented).
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// A handle argument, exclusive.
pub(crate) fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: as for `handle`; the caller does not use the handle from two threads at once
    // (documented).
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(what))
}

/// An out-parameter: NULL gives `EE_NULL_POINTER`.
pub(crate) fn out<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: the caller passes a pointer to writable memory for one `T` (documented).
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(what))
}

/// An out-parameter for a new handle: set to NULL at once, so that it is NULL whenever the call
/// fails.
pub(crate) fn out_handle<'a, T>(p: *mut *mut T, what: &str) -> Result<&'a mut *mut T> {
    let slot = out(p, what)?;
    *slot = std::ptr::null_mut();
    Ok(slot)
}

/// An optional out-parameter: NULL means the caller does not want the value.
pub(crate) fn write_opt<T>(p: *mut T, value: T) {
    // SAFETY: as for `out`, when non-NULL.
    if let Some(slot) = unsafe { p.as_mut() } {
        *slot = value;
    }
}

/// A time-out in milliseconds from C: negative means "no time-out".
pub(crate) fn timeout_arg(ms: i64) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// Moves a value into a new handle.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Releases a handle made by [`into_handle`]; NULL is ignored.
pub(crate) fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: `p` came from `into_handle` and is freed once (documented).
        drop(unsafe { Box::from_raw(p) });
    }
}

/// A string for C: its bytes up to the first NUL, then a NUL.
pub(crate) fn c_string(s: &str) -> std::ffi::CString {
    let text = s.split('\0').next().unwrap_or_default();
    std::ffi::CString::new(text).unwrap_or_default()
}
