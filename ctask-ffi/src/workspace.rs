//! Workspaces over the C ABI: create, resolve, list, status, diff since the last session.

use std::ffi::c_char;
use std::path::Path;

use ctask_core::session::overview::{self, ListFilter};
use ctask_core::session::{self, status};
use ctask_core::workspace::{Workspace, resolve};

use crate::boundary::json_call;
use crate::error::ctask_status;
use crate::options::{CaptureOpts, CreateOptions, LookupOptions, StatusOptions};

/// Creates a workspace and returns its description (a `WorkspaceInfo` JSON object, see
/// docs/json.md, plus `warnings` when the user's `on_create` hook failed).
///
/// - `options_json`: NULL for the defaults, or a JSON object with any of `title`,
///   `category`, `project` (bool), `agent` (a name such as `"claude"`, or an object
///   `{type, command, args, env}`), `root`, `project_root` (override `CTASK_ROOT`,
///   `CTASK_PROJECT_ROOT` and the config file). Unknown keys are
///   `CTASK_ERR_INVALID_ARGUMENT`. Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// Thread-safe; concurrent creators of one title get distinct directories.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_workspace_create(
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> ctask_status {
    // SAFETY: the pointers are NULL or valid, per this function's contract.
    unsafe {
        json_call(None, options_json, out_json, |_, opts: CreateOptions| {
            let (roots, new) = opts.split();
            let (ws, warnings) = Workspace::create_with_hooks(&roots.settings()?, &new)?;
            Ok(Created {
                info: ws.info(),
                warnings,
            })
        })
    }
}

/// A created workspace and the warning of its failed `on_create` hook, if any.
#[derive(serde::Serialize)]
struct Created {
    #[serde(flatten)]
    info: ctask_core::workspace::WorkspaceInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// Resolves a query (directory name, slug, unique part of a slug, or a path containing
/// `/`) to one workspace and returns its `WorkspaceInfo` JSON object.
///
/// - `query`: UTF-8, not NULL; borrowed.
/// - `options_json`: NULL, or a JSON object with any of `all` (bool: match archived
///   workspaces too), `root`, `project_root`. Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// No match is `CTASK_ERR_NOT_FOUND`; several are `CTASK_ERR_AMBIGUOUS` (the candidates
/// are in `ctask_last_error_json`). Thread-safe; writes nothing.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_workspace_resolve(
    query: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> ctask_status {
    // SAFETY: the pointers are NULL or valid, per this function's contract.
    unsafe {
        json_call(
            Some((query, "query")),
            options_json,
            out_json,
            |query, opts: LookupOptions| {
                let settings = opts.settings()?;
                let ws = resolve(&settings, query, opts.resolve_options())?;
                Ok(overview::describe(&ws, settings.stale_after_seconds.value))
            },
        )
    }
}

/// Lists the workspaces under both roots as a JSON array of `WorkspaceInfo` objects, most
/// recently updated first, broken ones (marked `"broken": true`) last — as `ctask list
/// --json` prints them.
///
/// - `options_json`: NULL, or a JSON object with any of `all` (bool: include archived
///   workspaces), `root`, `project_root`. Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// Thread-safe; writes nothing.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_workspace_list(
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> ctask_status {
    // SAFETY: the pointers are NULL or valid, per this function's contract.
    unsafe {
        json_call(None, options_json, out_json, |_, opts: LookupOptions| {
            let filter = ListFilter {
                include_archived: opts.all,
                ..ListFilter::default()
            };
            Ok(overview::list(&opts.settings()?, &filter))
        })
    }
}

/// Reports who is in a workspace now: a status JSON object (`state` = `"none"`,
/// `"active"`, `"stale"` or `"unknown"`, and when present `mode`, `lease`,
/// `heartbeat_age_s`, `diagnostic`, `last_summary`) — as `ctask status --json` prints it.
///
/// - `dir`: path of a workspace directory, UTF-8, not NULL; borrowed.
/// - `options_json`: NULL, or a JSON object with `stale_after_seconds`. Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// A probe: it never writes, reclaims or recovers anything. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_workspace_status(
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
            |dir, opts: StatusOptions| Ok(status(Path::new(dir), opts.stale_after()?)?),
        )
    }
}

/// Captures a workspace and compares it with the end of its last session: a diff report
/// JSON object (`baseline` = `"last_session"` or `"none"`, `baseline_session_id`, `since`,
/// `added`, `modified`, `deleted`, `renamed`) — as `ctask diff --json` prints it.
///
/// - `dir`: path of a workspace directory, UTF-8, not NULL; borrowed.
/// - `options_json`: NULL, or a JSON object with `respect_ignore` (bool). Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// Reads the whole tree; writes nothing. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_workspace_diff(
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
                Ok(session::diff_since_last(
                    Path::new(dir),
                    &opts.capture_options(),
                )?)
            },
        )
    }
}
