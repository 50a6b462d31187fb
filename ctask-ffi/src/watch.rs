//! Live events over the C ABI: open a watcher, pull its events, free it.

use std::ffi::{c_char, c_int};
use std::path::PathBuf;
use std::time::Duration;

use ctask_core::watch::{WatchOptions, Watcher};
use serde::Deserialize;

use crate::boundary::{give_string, guard, guard_value, opt_str, out_arg};
use crate::error::{Failure, FfiResult, ctask_status};
use crate::options::{self, RootOptions};

/// A live stream of events (opaque).
///
/// Created by `ctask_watch_open`, released by `ctask_watch_free`. Not thread-safe: one
/// thread at a time may use a watcher (calls on different watchers are independent).
#[allow(non_camel_case_types)]
pub struct ctask_watch {
    watcher: Watcher,
}

/// Options of `ctask_watch_open`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenOptions {
    root: Option<String>,
    project_root: Option<String>,
    paths: Option<Vec<String>>,
    since: Option<String>,
    poll: Option<bool>,
    poll_interval_ms: Option<u64>,
}

impl OpenOptions {
    fn watch_options(self) -> FfiResult<WatchOptions> {
        let mut w = WatchOptions {
            poll: self.poll.unwrap_or(false),
            ..WatchOptions::default()
        };
        if let Some(ms) = self.poll_interval_ms {
            if ms == 0 {
                return Err(Failure::invalid("poll_interval_ms must be at least 1")
                    .with("argument", "poll_interval_ms"));
            }
            w.poll_interval = Duration::from_millis(ms);
        }
        if let Some(s) = &self.since {
            w.since = Some(ctask_core::timefmt::parse(s).ok_or_else(|| {
                Failure::invalid(format!("since: {s:?} is not an RFC 3339 time"))
                    .with("argument", "since")
            })?);
        }
        match self.paths {
            Some(paths) if !paths.is_empty() => {
                for p in paths {
                    w.add_path(PathBuf::from(p));
                }
            }
            _ => {
                let roots = RootOptions {
                    root: self.root,
                    project_root: self.project_root,
                };
                let s = roots.settings()?;
                w.roots = vec![s.root.value, s.project_root.value];
            }
        }
        Ok(w)
    }
}

/// Starts watching workspaces for live events (docs/design.md §4.11).
///
/// - `options_json`: NULL for the defaults, or a JSON object with any of `paths` (array of
///   workspace directories or roots; default: the task root and the project root),
///   `root` and `project_root` (override the configured roots when `paths` is absent),
///   `since` (RFC 3339: first replay the log lines dated at or after it), `poll` (bool:
///   poll instead of using inotify) and `poll_interval_ms` (default 500). Unknown keys are
///   `CTASK_ERR_INVALID_ARGUMENT` naming the key. Borrowed.
/// - `out`: receives the new watcher on success (untouched on failure); not NULL. Release
///   it with `ctask_watch_free`.
///
/// A path that is neither a workspace nor an existing directory is watched as an empty root.
/// When inotify cannot be used (e.g. its watch limit is reached) the watcher polls.
/// Thread-safe (the new watcher is then used by one thread at a time).
///
/// # Safety
/// Every pointer argument is NULL or valid: strings NUL-terminated and readable for the
/// whole call, out-parameters aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_watch_open(
    options_json: *const c_char,
    out: *mut *mut ctask_watch,
) -> ctask_status {
    guard(|| {
        out_arg(out, "out")?;
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let text = unsafe { opt_str(options_json, "options_json") }?;
        let opts: OpenOptions = options::parse(text, "options_json")?;
        let watcher = Watcher::new(opts.watch_options()?)?;
        let handle = Box::into_raw(Box::new(ctask_watch { watcher }));
        // SAFETY: checked non-NULL above; the contract makes it writable.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Waits up to `timeout_ms` milliseconds (0: do not wait) for the next event.
///
/// - `w`: a watcher from `ctask_watch_open`; not NULL.
/// - `event_json`: not NULL. On `CTASK_OK` it receives one event as a JSON object (the
///   shapes of docs/json.md, "Live events"), freed with `ctask_string_free`, or NULL when
///   no event came within the timeout. Untouched on failure.
///
/// A negative `timeout_ms` is `CTASK_ERR_INVALID_ARGUMENT`. Events of one workspace come in
/// the order of its log. Not thread-safe for one watcher: do not call it on the same `w`
/// from two threads at once, nor together with `ctask_watch_free`.
///
/// # Safety
/// `w` is NULL or a live watcher; `event_json` is NULL or aligned and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_watch_next(
    w: *mut ctask_watch,
    timeout_ms: c_int,
    event_json: *mut *mut c_char,
) -> ctask_status {
    guard(|| {
        out_arg(event_json, "event_json")?;
        // SAFETY: a non-NULL handle is a live watcher used by this thread only, per the
        // contract.
        let w = unsafe { w.as_mut() }.ok_or_else(|| Failure::null("w"))?;
        let ms = u64::try_from(timeout_ms).map_err(|_| {
            Failure::invalid(format!(
                "timeout_ms must not be negative (got {timeout_ms})"
            ))
            .with("argument", "timeout_ms")
        })?;
        let event = w.watcher.next_event(Duration::from_millis(ms))?;
        match event {
            Some(e) => {
                // JSON escapes every control character and NUL, so this cannot fail.
                let text = std::ffi::CString::new(e.to_json())
                    .map_err(|e| Failure::invalid(format!("cannot return JSON: {e}")))?;
                // SAFETY: checked non-NULL above.
                unsafe { give_string(event_json, text) };
            }
            // SAFETY: checked non-NULL above.
            None => unsafe { event_json.write(std::ptr::null_mut()) },
        }
        Ok(())
    })
}

/// Releases a watcher and stops its watches (its inotify thread ends). NULL is a no-op.
/// The watcher must not be used afterwards, and this call must not race with another call
/// on it.
///
/// # Safety
/// `w` is NULL or a live watcher from `ctask_watch_open`, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ctask_watch_free(w: *mut ctask_watch) {
    guard_value((), || {
        if !w.is_null() {
            // SAFETY: a watcher from `ctask_watch_open`, freed once, per the contract.
            drop(unsafe { Box::from_raw(w) });
        }
    })
}
