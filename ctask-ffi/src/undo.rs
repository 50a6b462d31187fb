//! Snapshots over the C ABI: the history of a workspace and undo (docs/undo.md).

use std::ffi::c_char;
use std::path::Path;

use ctask_core::session::SessionOptions;
use ctask_core::snapshot::{self, UndoOptions};
use ctask_core::workspace::{Overrides, Settings, Workspace};
use serde::Deserialize;

use crate::boundary::json_call;
use crate::error::{FfiResult, ctask_status};

/// Options of `ctask_undo`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UndoOpts {
    session_id: Option<String>,
    #[serde(default)]
    outside: bool,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    force: bool,
}

/// Options of `ctask_history` (none yet: NULL or `{}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoOptions {}

fn undo_in(dir: &str, o: UndoOpts) -> FfiResult<snapshot::UndoReport> {
    let settings = Settings::from_env(&Overrides::default())?;
    let ws = Workspace::open(Path::new(dir))?;
    let sopts = SessionOptions {
        heartbeat_seconds: settings.heartbeat_seconds.value,
        stale_after_seconds: settings.stale_after_seconds.value,
        snapshots: snapshot::Settings::for_workspace(&settings, &ws),
        ..SessionOptions::default()
    };
    let opts = UndoOptions {
        session_id: o.session_id,
        outside: o.outside,
        paths: o.paths,
        dry_run: o.dry_run,
        force: o.force,
    };
    Ok(snapshot::undo(&ws.dir, &opts, sopts)?)
}

/// Gives back the changes of a recorded session of a workspace, all or nothing, as a
/// session of its own; returns an `UndoReport` JSON object (docs/json.md).
///
/// - `dir`: path of a workspace directory, UTF-8, not NULL; borrowed.
/// - `options_json`: NULL (undo the last session), or a JSON object with any of
///   `session_id`, `outside` (bool), `paths` (array of workspace-relative paths),
///   `dry_run` (bool), `force` (bool). Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// A refused undo (a path changed since, or an old content not kept, without `force`)
/// is `CTASK_OK` with `"applied": false` and each such path listed; nothing was written.
/// A live owner is `CTASK_ERR_ACTIVE_SESSION`.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_undo(
    dir: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> ctask_status {
    // SAFETY: the pointers are NULL or valid, per this function's contract.
    unsafe { json_call(Some((dir, "dir")), options_json, out_json, undo_in) }
}

/// The recorded sessions of a workspace, newest first, with whether each can still be
/// undone: a `HistoryReport` JSON object (docs/json.md). Writes nothing.
///
/// - `dir`: path of a workspace directory, UTF-8, not NULL; borrowed.
/// - `options_json`: NULL or `{}`. Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_history(
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
            |dir, _: NoOptions| Ok(snapshot::history(Path::new(dir))?),
        )
    }
}
