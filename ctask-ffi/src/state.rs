//! The agent's state over the C ABI.

use std::ffi::c_char;
use std::path::Path;

use ctask_core::session::state::{AgentState, Setter, set_state};

use crate::boundary::json_call;
use crate::error::{Failure, ctask_status};
use crate::options::StateOptions;

/// Sets the agent state of the session in a workspace and returns what was set: a JSON
/// object `{session_id, state, at, message?}`.
///
/// - `dir`: path of a workspace directory, UTF-8, not NULL; borrowed.
/// - `options_json`: a JSON object with `state` (required: `"working"`, `"waiting"`,
///   `"idle"` or `"done"`) and any of `message` (one line of plain text, at most 1024
///   bytes, no control characters), `session_id` (the caller's `CTASK_SESSION_ID`),
///   `stale_after_seconds`. Borrowed.
/// - `out_json`: receives a new string on success (untouched on failure); not NULL. Free
///   it with `ctask_string_free`.
///
/// Allowed when `session_id` is the lease's or the session's owner is alive; otherwise
/// `CTASK_ERR_INVALID_ARGUMENT` and nothing is written. Writes the lease under
/// `.ctask/write.lock` and appends a `state` log line. Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_set_state(
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
            |dir, opts: StateOptions| {
                let stale = opts.stale_after()?;
                let state: AgentState = opts
                    .state
                    .as_deref()
                    .ok_or_else(|| {
                        Failure::invalid("options_json: `state` is required").with("key", "state")
                    })?
                    .parse()?;
                let setter = Setter {
                    session_id: opts.session_id,
                };
                Ok(set_state(
                    Path::new(dir),
                    state,
                    opts.message.as_deref(),
                    &setter,
                    stale,
                )?)
            },
        )
    }
}
