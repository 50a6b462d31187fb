//! Sessions over the C ABI: begin, info, heartbeat, end, free.

use std::ffi::{c_char, c_int};
use std::path::{Path, PathBuf};

use ctask_core::session::persistent;
use ctask_core::session::{Ending, Mode, Session, SessionOptions};
use serde::Serialize;

use crate::boundary::{arg_str, give_string, guard, guard_value, json_string, opt_str, out_arg};
use crate::error::{Failure, ctask_status};
use crate::options::{self, Begin, BeginOptions};

/// A begun session (opaque).
///
/// Created by `ctask_session_begin`, released by `ctask_session_free`. All functions taking
/// a session may be called from any thread, also concurrently, except `ctask_session_free`,
/// which must not race with any other use of the same handle.
#[allow(non_camel_case_types)]
pub struct ctask_session {
    kind: Kind,
}

// The handle is always boxed, so the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Kind {
    /// A session begun in this process.
    Direct { session: Session },
    /// A persistent session started detached: its supervisor owns and ends it.
    Persistent(PersistentInfo),
}

/// What `ctask_session_info_json` reports for a persistent session.
#[derive(Serialize)]
struct PersistentInfo {
    session_id: String,
    workspace: PathBuf,
    role: &'static str,
    mode: Mode,
    tmux_session: String,
    supervisor_pid: u32,
    adopted: bool,
    supervisor: PathBuf,
    warnings: Vec<String>,
}

/// Starts a detached persistent session: the supervisor (`<supervisor> __supervise`) runs
/// begin, starts `argv` in tmux, and reports once the tmux session exists.
fn start_persistent(
    dir: &Path,
    opts: SessionOptions,
    argv: Vec<String>,
    supervisor: PathBuf,
) -> Result<PersistentInfo, Failure> {
    let cmd = vec![supervisor.to_string_lossy().into_owned()];
    let (workspace, started) = persistent::start(dir, argv, &opts, &cmd)?;
    Ok(PersistentInfo {
        session_id: started.session_id,
        workspace,
        role: "supervised",
        mode: Mode::Persistent,
        tmux_session: started.tmux_session,
        supervisor_pid: started.supervisor_pid,
        adopted: started.adopted,
        supervisor,
        warnings: started.warnings,
    })
}

/// The session behind a handle argument.
///
/// # Safety
/// `s` is NULL or a live handle from `ctask_session_begin`.
unsafe fn handle<'a>(s: *const ctask_session) -> Result<&'a ctask_session, Failure> {
    // SAFETY: per the contract, a non-NULL handle points to a live `ctask_session`.
    unsafe { s.as_ref() }.ok_or_else(|| Failure::null("session"))
}

/// Begins a session in the workspace directory `dir` (docs/design.md §4.3).
///
/// - `dir`: path of a workspace directory (one holding `task.yaml`), UTF-8, not NULL.
///   Borrowed for the duration of the call.
/// - `options_json`: NULL for the defaults, or a JSON object with any of `agent` (label
///   recorded in the lease and summary, default `"library"`), `on_active` (`"error"`, the
///   default, or `"coexist"`), `force` (bool), `launch_dir` (relative to the workspace),
///   `heartbeat` (bool, default true: a background thread refreshes the lease),
///   `heartbeat_seconds`, `stale_after_seconds`, `respect_ignore` (bool), `env` (object of
///   extra variables for the child), `root` (reported as `CTASK_ROOT`), `mode`
///   (`"direct"`, the default, or `"persistent"`), and in persistent mode only `argv`
///   (required: the agent's command, an array of strings) and `supervisor` (the `ctask`
///   executable; default: `ctask` found on PATH). Unknown keys, and keys of the other
///   mode, are `CTASK_ERR_INVALID_ARGUMENT` naming the key. Borrowed.
/// - `out`: receives the new handle on success (untouched on failure); not NULL. The
///   caller owns the handle and releases it with `ctask_session_free`.
///
/// Direct mode begins the session in this process; the host runs the agent. Persistent
/// mode starts a detached supervisor (`<supervisor> __supervise`) that begins the session,
/// runs `argv` in tmux and owns the session until the agent exits; the call returns once
/// the tmux session runs. Its handle only describes the session: `ctask_session_end` and
/// `ctask_session_heartbeat` do nothing, `ctask_session_free` only releases memory
/// (follow the session with `ctask_workspace_status`). tmux missing or too old gives
/// `CTASK_ERR_TMUX` before anything is written; a command not on PATH
/// `CTASK_ERR_AGENT_NOT_FOUND`.
///
/// A live owner and `on_active` `"error"` give `CTASK_ERR_ACTIVE_SESSION` (the owner's
/// lease is in `ctask_last_error_json`). A failed begin leaves the workspace as it was.
/// Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_session_begin(
    dir: *const c_char,
    options_json: *const c_char,
    out: *mut *mut ctask_session,
) -> ctask_status {
    guard(|| {
        out_arg(out, "out")?;
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let dir = unsafe { arg_str(dir, "dir") }?;
        // SAFETY: as above.
        let opts = unsafe { opt_str(options_json, "options_json") }?;
        let opts: BeginOptions = options::parse(opts, "options_json")?;
        let kind = match opts.into_begin(Path::new(dir))? {
            Begin::Direct(opts) => Kind::Direct {
                session: Session::begin(Path::new(dir), opts)?,
            },
            Begin::Persistent {
                opts,
                argv,
                supervisor,
            } => Kind::Persistent(start_persistent(Path::new(dir), opts, argv, supervisor)?),
        };
        let h = Box::new(ctask_session { kind });
        // SAFETY: `out` was checked non-NULL; the caller makes it writable.
        unsafe { out.write(Box::into_raw(h)) };
        Ok(())
    })
}

/// Describes a session as a JSON object (`session_id`, `workspace`, `launch_dir`, `role`,
/// `mode`, `started_at`, `ended`, `env`, and when present `outside_changes`,
/// `last_summary`, `owner`, `recovered`, `warnings`; a persistent session's handle gives
/// `session_id`, `workspace`, `role` `"supervised"`, `mode` `"persistent"`,
/// `tmux_session`, `supervisor_pid`, `adopted`, `supervisor`, `warnings`; see
/// docs/c-api.md).
///
/// - `session`: a live handle, not NULL; borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// Works before and after `ctask_session_end`. Thread-safe.
///
/// # Safety
/// `session` is NULL or a live handle from `ctask_session_begin` that has not been freed;
/// other pointers are NULL or valid (out-parameters aligned and writable).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_session_info_json(
    session: *const ctask_session,
    out_json: *mut *mut c_char,
) -> ctask_status {
    guard(|| {
        out_arg(out_json, "out_json")?;
        // SAFETY: NULL or a live handle, per the contract.
        let h = unsafe { handle(session) }?;
        let text = match &h.kind {
            Kind::Direct { session, .. } => json_string(&session.info())?,
            Kind::Persistent(info) => json_string(info)?,
        };
        // SAFETY: checked non-NULL above.
        unsafe { give_string(out_json, text) };
        Ok(())
    })
}

/// Writes the session's heartbeat now, for hosts that run no background thread (begin
/// with `"heartbeat": false`) or want to tick it themselves.
///
/// - `session`: a live handle, not NULL; borrowed.
///
/// A no-op returning `CTASK_OK` for a coexisting or ended session, and for a persistent
/// one (its supervisor heartbeats). Thread-safe.
///
/// # Safety
/// `session` is NULL or a live handle from `ctask_session_begin` that has not been freed;
/// other pointers are NULL or valid (out-parameters aligned and writable).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_session_heartbeat(session: *const ctask_session) -> ctask_status {
    guard(|| {
        // SAFETY: NULL or a live handle, per the contract.
        let h = unsafe { handle(session) }?;
        if let Kind::Direct { session, .. } = &h.kind {
            session.heartbeat()?;
        }
        Ok(())
    })
}

/// Ends the session with the agent's exit code (docs/design.md §4.4): captures the workspace,
/// writes the summary and the `end` log line, removes the lease and releases the lock.
///
/// - `session`: a live handle, not NULL; borrowed (still to be freed afterwards).
/// - `exit_code`: recorded as the summary's `exit_code` (`end_reason` `child_exited`).
/// - `summary_json`: NULL when the summary is not wanted; otherwise receives, on the first
///   successful end only, a new string holding the summary JSON (the shape of
///   `last-session-summary.json` without `end_manifest`). Free it with `ctask_string_free`.
///
/// Idempotent: once a call has succeeded, later calls return `CTASK_OK` and write nothing
/// to `summary_json`. After a failure the handle is finished all the same (its lock is
/// released, the lease stays); later calls fail without writing, and the next begin in the
/// workspace records the session. Thread-safe.
///
/// A persistent session's handle: returns `CTASK_OK` and writes nothing; the supervisor
/// ends the session when the agent exits (then `ctask_workspace_status` reports its
/// `last_summary`).
///
/// # Safety
/// `session` is NULL or a live handle from `ctask_session_begin` that has not been freed;
/// other pointers are NULL or valid (out-parameters aligned and writable).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_session_end(
    session: *mut ctask_session,
    exit_code: c_int,
    summary_json: *mut *mut c_char,
) -> ctask_status {
    guard(|| {
        // SAFETY: NULL or a live handle, per the contract.
        let h = unsafe { handle(session) }?;
        let Kind::Direct { session } = &h.kind else {
            // The supervisor ends a persistent session when its agent exits.
            return Ok(());
        };
        let (outcome, ended_now) = session.end_once(Ending::child_exit(exit_code))?;
        if !ended_now {
            return Ok(());
        }
        if !summary_json.is_null() {
            let text = json_string(&outcome.summary)?;
            // SAFETY: checked non-NULL.
            unsafe { give_string(summary_json, text) };
        }
        Ok(())
    })
}

/// Releases a session handle. NULL is a no-op.
///
/// A session that was not ended is ended now with `end_reason` `abandoned` (`detected_via`
/// `drop`); any failure of that end is ignored. A session whose end failed is not ended
/// again (the next begin in its workspace records it). Freeing a persistent session's
/// handle leaves the session running under its supervisor. The handle must not be used
/// afterwards (use after free is undefined behaviour), and this call must not race with
/// another call on the same handle.
///
/// # Safety
/// `session` is NULL or a live handle from `ctask_session_begin`, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_session_free(session: *mut ctask_session) {
    guard_value((), || {
        if !session.is_null() {
            // SAFETY: a handle from `ctask_session_begin`, freed once, per the contract.
            drop(unsafe { Box::from_raw(session) });
        }
    })
}
