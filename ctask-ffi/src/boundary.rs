//! The boundary every export goes through: the panic guard, argument checking, and the
//! strings handed to the caller.

use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;

use crate::error::{Failure, FfiResult, ctask_status, record};

/// Runs `body` inside the panic boundary: `CTASK_OK` on success, otherwise the failure's
/// status (recorded as this thread's last error). A panic becomes `CTASK_ERR_PANIC`.
pub(crate) fn guard(body: impl FnOnce() -> FfiResult<()>) -> ctask_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ctask_status::CTASK_OK,
        Ok(Err(f)) => record(f),
        Err(payload) => record(Failure::panic(payload.as_ref())),
    }
}

/// Runs `body` inside the panic boundary for a function without a status; `fallback` is
/// returned if it panics.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// A required string argument: NULL and non-UTF-8 are failures naming `arg`.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, arg: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(Failure::null(arg));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract of every export.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| Failure::utf8(arg))
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, arg: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { arg_str(p, arg) }.map(Some)
    }
}

/// Checks that a required out-parameter is not NULL.
pub(crate) fn out_arg<T>(p: *mut T, arg: &str) -> FfiResult<()> {
    if p.is_null() {
        Err(Failure::null(arg))
    } else {
        Ok(())
    }
}

/// Pretty JSON of `v` as a string the caller frees with `ctask_string_free`.
pub(crate) fn json_string<T: Serialize + ?Sized>(v: &T) -> FfiResult<CString> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| Failure::invalid(format!("cannot serialise JSON: {e}")))?;
    // serde_json escapes NUL as \u0000, so the text never holds a NUL byte.
    CString::new(text).map_err(|e| Failure::invalid(format!("cannot return JSON: {e}")))
}

/// Hands `s` to the caller through `out` (the last step of a successful call).
///
/// # Safety
/// `out` is non-NULL, aligned and writable.
pub(crate) unsafe fn give_string(out: *mut *mut c_char, s: CString) {
    // SAFETY: checked non-NULL by the caller; the contract makes it writable.
    unsafe { out.write(s.into_raw()) };
}

/// Frees a string returned by ctask.
///
/// # Safety
/// `s` is NULL or a pointer returned by ctask that has not been freed yet.
pub(crate) unsafe fn free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: it came from `CString::into_raw` in `give_string`.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// The common shape of an export that reads an optional string argument and an options
/// JSON and hands back a JSON result: checks `out_json`, then the argument (`(pointer,
/// name)`, required when given), then parses the options, runs `body` and gives the result's
/// JSON to the caller. Everything runs inside [`guard`].
///
/// # Safety
/// `arg`'s pointer and `options_json` are NULL or NUL-terminated strings readable for the
/// whole call; `out_json` is NULL or aligned and writable.
pub(crate) unsafe fn json_call<O, T>(
    arg: Option<(*const c_char, &str)>,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
    body: impl FnOnce(&str, O) -> FfiResult<T>,
) -> ctask_status
where
    O: serde::de::DeserializeOwned + Default,
    T: Serialize,
{
    guard(|| {
        out_arg(out_json, "out_json")?;
        let arg = match arg {
            // SAFETY: NULL or a NUL-terminated string, per the caller's contract.
            Some((p, name)) => unsafe { arg_str(p, name) }?,
            None => "",
        };
        // SAFETY: NULL or a NUL-terminated string, per the caller's contract.
        let opts = unsafe { opt_str(options_json, "options_json") }?;
        let opts: O = crate::options::parse(opts, "options_json")?;
        let text = json_string(&body(arg, opts)?)?;
        // SAFETY: checked non-NULL above.
        unsafe { give_string(out_json, text) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::last_json;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let st = guard(|| panic!("boom at the boundary"));
        let v = guard_value(7, || panic!("again"));
        std::panic::set_hook(prev);
        assert_eq!(st, ctask_status::CTASK_ERR_PANIC);
        assert_eq!(v, 7);
        let j = last_json();
        assert_eq!(j["name"], "CTASK_ERR_PANIC");
        assert!(
            j["message"]
                .as_str()
                .unwrap()
                .contains("boom at the boundary")
        );
    }

    #[test]
    fn string_arguments_are_checked() {
        // SAFETY: NULL and valid NUL-terminated literals.
        unsafe {
            assert_eq!(
                arg_str(std::ptr::null(), "dir").unwrap_err().status,
                ctask_status::CTASK_ERR_NULL_ARGUMENT
            );
            assert_eq!(opt_str(std::ptr::null(), "o").unwrap(), None);
            let bad = c"\xff\xfe";
            assert_eq!(
                arg_str(bad.as_ptr(), "dir").unwrap_err().status,
                ctask_status::CTASK_ERR_INVALID_UTF8
            );
            assert_eq!(arg_str(c"ok".as_ptr(), "dir").unwrap(), "ok");
        }
    }
}
