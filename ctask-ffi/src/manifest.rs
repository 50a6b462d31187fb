//! Manifests over the C ABI: capture a workspace, diff two manifests.

use std::ffi::c_char;
use std::path::Path;

use ctask_core::session::manifest::{self, Manifest};
use ctask_core::session::{CaptureOptions, diff};
use ctask_core::workspace::Workspace;
use serde_json::{Value, json};

use crate::boundary::{arg_str, give_string, guard, json_call, json_string, out_arg};
use crate::error::{Failure, FfiResult, ctask_status};
use crate::options::CaptureOpts;

/// Captures a manifest of a workspace: a JSON object `{"captured_at": …, "files": [entry…]}`
/// in the format of `.ctask/manifest-start.json` (docs/manifest.md), entries sorted by path.
///
/// - `dir`: path of a workspace directory, UTF-8, not NULL; borrowed.
/// - `options_json`: NULL, or a JSON object with `respect_ignore` (bool, default true:
///   leave out what the workspace's `.gitignore` / `.ctaskignore` ignore). Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// Reads and hashes every file; writes nothing. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_manifest_capture(
    dir: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> ctask_status {
    // SAFETY: the pointers are NULL or valid, per this function's contract.
    unsafe {
        json_call(
            Some((dir, "dir")),
            options_json,
            out_json,
            |dir, opts: CaptureOpts| {
                let ws = Workspace::open(Path::new(dir))?;
                capture(&ws.dir, &opts.capture_options())
            },
        )
    }
}

fn capture(dir: &Path, opts: &CaptureOptions) -> FfiResult<Manifest> {
    Ok(manifest::capture(dir, opts, None)?.manifest)
}

/// Parses a manifest given to `ctask_diff`: an object `{captured_at, files}`, or a bare
/// array of entries (the `end_manifest` of a summary).
fn parse_manifest(text: &str, arg: &str) -> FfiResult<Manifest> {
    let bad = |detail: String| {
        Failure::from(ctask_core::Error::format(arg, detail)).with("argument", arg)
    };
    let mut value: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if value.is_array() {
        value = json!({ "files": value });
    }
    let m: Manifest = serde_json::from_value(value).map_err(|e| {
        bad(format!(
            "not a manifest (an object {{captured_at, files}} or an array of entries): {e}"
        ))
    })?;
    Manifest::from_entries(m.captured_at, m.entries, Path::new(arg))
        .map_err(|e| Failure::from(e).with("argument", arg))
}

/// Compares two manifests (as returned by `ctask_manifest_capture`, or bare arrays of
/// entries such as a summary's `end_manifest`) and returns the diff JSON object
/// `{"added": […], "modified": […], "deleted": […], "renamed": [{"from", "to"}…]}`, every
/// list sorted by path. A touch is not a modification; a deleted and an added file with the
/// same content are one rename.
///
/// - `before_json`, `after_json`: UTF-8 JSON, not NULL; borrowed. A malformed manifest is
///   `CTASK_ERR_BAD_FORMAT` naming the argument.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// Pure computation; thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_diff(
    before_json: *const c_char,
    after_json: *const c_char,
    out_json: *mut *mut c_char,
) -> ctask_status {
    guard(|| {
        out_arg(out_json, "out_json")?;
        // SAFETY: NULL or NUL-terminated strings, per the contract.
        let before = unsafe { arg_str(before_json, "before_json") }?;
        // SAFETY: as above.
        let after = unsafe { arg_str(after_json, "after_json") }?;
        let before = parse_manifest(before, "before_json")?;
        let after = parse_manifest(after, "after_json")?;
        let d = diff::diff(&before, &after);
        let text = json_string(&d)?;
        // SAFETY: checked non-NULL above.
        unsafe { give_string(out_json, text) };
        Ok(())
    })
}
