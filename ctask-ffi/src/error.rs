//! Status codes, the failure type of the exported functions, and the per-thread record of
//! the last failure (`ctask_last_error`, `ctask_last_error_json`).

use std::cell::RefCell;
use std::ffi::{CString, c_char};

use ctask_core::Error;
use serde_json::{Value, json};

/// The result of every fallible ctask function.
///
/// `CTASK_OK` (0) is success; every other value is a failure whose message is then
/// available from `ctask_last_error()` on the same thread. One code exists per error kind of
/// the ctask core, plus three for problems at the C boundary itself. New codes may be added
/// at the end in later versions; treat unknown non-zero values as failures.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ctask_status {
    /// Success.
    CTASK_OK = 0,
    /// No workspace matches the query, or the directory holds no `task.yaml`.
    CTASK_ERR_NOT_FOUND = 1,
    /// The query matches several workspaces (`candidates` in `ctask_last_error_json`).
    CTASK_ERR_AMBIGUOUS = 2,
    /// A live session owns the workspace (`owner` in `ctask_last_error_json`).
    CTASK_ERR_ACTIVE_SESSION = 3,
    /// `.ctask/write.lock` could not be taken in time.
    CTASK_ERR_LOCK_TIMEOUT = 4,
    /// A path escapes the workspace or goes through a symbolic link.
    CTASK_ERR_PATH_SECURITY = 5,
    /// An agent command is not on `PATH`.
    CTASK_ERR_AGENT_NOT_FOUND = 6,
    /// A file or value does not have the expected format (`path` names it).
    CTASK_ERR_BAD_FORMAT = 7,
    /// tmux is missing, too old or failed.
    CTASK_ERR_TMUX = 8,
    /// An argument is invalid: unknown or mistyped options, malformed options JSON, values
    /// out of range.
    CTASK_ERR_INVALID_ARGUMENT = 9,
    /// An I/O operation failed (`path` names the file).
    CTASK_ERR_IO = 10,
    /// A pointer argument that must not be NULL was NULL.
    CTASK_ERR_NULL_ARGUMENT = 11,
    /// A string argument is not valid UTF-8.
    CTASK_ERR_INVALID_UTF8 = 12,
    /// An internal error (a Rust panic) was caught at the boundary. The library stays
    /// usable; the operation may have been left incomplete.
    CTASK_ERR_PANIC = 13,
    /// A `before_begin` hook of the user's config failed, so the session was not begun
    /// (`hook`, `program` and `exit` in `ctask_last_error_json`).
    CTASK_ERR_HOOK = 14,
}

impl ctask_status {
    /// The constant's name, as in the header.
    pub fn name(self) -> &'static str {
        use ctask_status::*;
        match self {
            CTASK_OK => "CTASK_OK",
            CTASK_ERR_NOT_FOUND => "CTASK_ERR_NOT_FOUND",
            CTASK_ERR_AMBIGUOUS => "CTASK_ERR_AMBIGUOUS",
            CTASK_ERR_ACTIVE_SESSION => "CTASK_ERR_ACTIVE_SESSION",
            CTASK_ERR_LOCK_TIMEOUT => "CTASK_ERR_LOCK_TIMEOUT",
            CTASK_ERR_PATH_SECURITY => "CTASK_ERR_PATH_SECURITY",
            CTASK_ERR_AGENT_NOT_FOUND => "CTASK_ERR_AGENT_NOT_FOUND",
            CTASK_ERR_BAD_FORMAT => "CTASK_ERR_BAD_FORMAT",
            CTASK_ERR_TMUX => "CTASK_ERR_TMUX",
            CTASK_ERR_INVALID_ARGUMENT => "CTASK_ERR_INVALID_ARGUMENT",
            CTASK_ERR_IO => "CTASK_ERR_IO",
            CTASK_ERR_NULL_ARGUMENT => "CTASK_ERR_NULL_ARGUMENT",
            CTASK_ERR_INVALID_UTF8 => "CTASK_ERR_INVALID_UTF8",
            CTASK_ERR_PANIC => "CTASK_ERR_PANIC",
            CTASK_ERR_HOOK => "CTASK_ERR_HOOK",
        }
    }
}

/// Why an exported function failed: its status, a message, and the structured details
/// reported by `ctask_last_error_json`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: ctask_status,
    pub message: String,
    pub detail: serde_json::Map<String, Value>,
}

pub(crate) type FfiResult<T> = Result<T, Failure>;

impl Failure {
    pub fn new(status: ctask_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            detail: serde_json::Map::new(),
        }
    }

    pub fn null(arg: &str) -> Failure {
        Failure::new(
            ctask_status::CTASK_ERR_NULL_ARGUMENT,
            format!("argument `{arg}` is NULL"),
        )
        .with("argument", arg)
    }

    pub fn utf8(arg: &str) -> Failure {
        Failure::new(
            ctask_status::CTASK_ERR_INVALID_UTF8,
            format!("argument `{arg}` is not valid UTF-8"),
        )
        .with("argument", arg)
    }

    pub fn invalid(detail: impl Into<String>) -> Failure {
        Failure::new(ctask_status::CTASK_ERR_INVALID_ARGUMENT, detail)
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Failure {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    /// A caught panic; its payload's text when it has one.
    pub fn panic(payload: &(dyn std::any::Any + Send)) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_owned());
        Failure::new(
            ctask_status::CTASK_ERR_PANIC,
            format!("internal error in ctask (panic): {what}"),
        )
    }
}

fn path_value(p: &std::path::Path) -> Value {
    Value::String(p.display().to_string())
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        use ctask_status::*;
        let message = e.to_string();
        let f = |status| Failure::new(status, message.clone());
        match e {
            Error::NotFound { query } => f(CTASK_ERR_NOT_FOUND).with("query", query),
            Error::Ambiguous { query, candidates } => {
                f(CTASK_ERR_AMBIGUOUS).with("query", query).with(
                    "candidates",
                    candidates.iter().map(|p| path_value(p)).collect::<Vec<_>>(),
                )
            }
            Error::ActiveSession { owner } => f(CTASK_ERR_ACTIVE_SESSION).with(
                "owner",
                serde_json::to_value(&*owner).unwrap_or(Value::Null),
            ),
            Error::LockTimeout { path } => {
                f(CTASK_ERR_LOCK_TIMEOUT).with("path", path_value(&path))
            }
            Error::PathSecurity { path, detail } => f(CTASK_ERR_PATH_SECURITY)
                .with("path", path_value(&path))
                .with("detail", detail),
            Error::AgentNotFound { command } => {
                f(CTASK_ERR_AGENT_NOT_FOUND).with("command", command)
            }
            Error::BadFormat { path, detail } => f(CTASK_ERR_BAD_FORMAT)
                .with("path", path_value(&path))
                .with("detail", detail),
            Error::Tmux { detail } => f(CTASK_ERR_TMUX).with("detail", detail),
            Error::Hook {
                name,
                program,
                exit,
                detail,
            } => f(CTASK_ERR_HOOK)
                .with("hook", name)
                .with("program", program)
                .with("exit", exit)
                .with("detail", detail),
            Error::InvalidArgument { detail, option } => {
                let failure = f(CTASK_ERR_INVALID_ARGUMENT).with("detail", detail);
                match option {
                    Some(key) => failure.with("key", key),
                    None => failure,
                }
            }
            Error::Io { path, source } => f(CTASK_ERR_IO)
                .with("path", path_value(&path))
                .with("detail", source.to_string()),
        }
    }
}

/// The last failure recorded on a thread.
struct LastError {
    status: ctask_status,
    message: CString,
    detail: serde_json::Map<String, Value>,
}

thread_local! {
    static LAST: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// A C string of `s`, with any NUL byte replaced so that nothing is cut off silently.
pub(crate) fn c_string_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{fffd}")).unwrap_or_default()
}

/// Records `f` as this thread's last failure and returns its status.
pub(crate) fn record(f: Failure) -> ctask_status {
    let status = f.status;
    let last = LastError {
        status,
        message: c_string_lossy(&f.message),
        detail: f.detail,
    };
    // A thread being torn down has no slot left; the status still tells the caller.
    let _ = LAST.try_with(|l| *l.borrow_mut() = Some(last));
    status
}

/// The message of the last failure on this thread (`""` when none).
pub(crate) fn last_message() -> *const c_char {
    LAST.try_with(|l| match &*l.borrow() {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    })
    .unwrap_or(c"".as_ptr())
}

/// The last failure on this thread as a JSON object.
pub(crate) fn last_json() -> Value {
    LAST.try_with(|l| match &*l.borrow() {
        Some(e) => {
            let mut obj = serde_json::Map::new();
            obj.insert("status".into(), json!(e.status as i32));
            obj.insert("name".into(), json!(e.status.name()));
            obj.insert("message".into(), json!(e.message.to_string_lossy()));
            for (k, v) in &e.detail {
                obj.insert(k.clone(), v.clone());
            }
            Value::Object(obj)
        }
        None => json!({"status": 0, "name": "CTASK_OK", "message": ""}),
    })
    .unwrap_or_else(|_| json!({"status": 0, "name": "CTASK_OK", "message": ""}))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use ctask_status::*;

    #[test]
    fn every_core_error_has_its_own_code_and_details() {
        let owner = ctask_core::session::Lease {
            session_id: "host-1-20260101T000000Z-abcd".into(),
            pid: 42,
            hostname: "host".into(),
            ..Default::default()
        };
        let cases: Vec<(Error, ctask_status, &str)> = vec![
            (
                Error::NotFound { query: "q".into() },
                CTASK_ERR_NOT_FOUND,
                "query",
            ),
            (
                Error::Ambiguous {
                    query: "q".into(),
                    candidates: vec![PathBuf::from("/a"), PathBuf::from("/b")],
                },
                CTASK_ERR_AMBIGUOUS,
                "candidates",
            ),
            (
                Error::ActiveSession {
                    owner: Box::new(owner),
                },
                CTASK_ERR_ACTIVE_SESSION,
                "owner",
            ),
            (
                Error::LockTimeout {
                    path: PathBuf::from("/w/.ctask/write.lock"),
                },
                CTASK_ERR_LOCK_TIMEOUT,
                "path",
            ),
            (
                Error::security("/x", "escapes"),
                CTASK_ERR_PATH_SECURITY,
                "path",
            ),
            (
                Error::AgentNotFound {
                    command: "claude".into(),
                },
                CTASK_ERR_AGENT_NOT_FOUND,
                "command",
            ),
            (
                Error::format("/t.yaml", "bad"),
                CTASK_ERR_BAD_FORMAT,
                "path",
            ),
            (
                Error::Tmux {
                    detail: "too old".into(),
                },
                CTASK_ERR_TMUX,
                "detail",
            ),
            (Error::invalid("nope"), CTASK_ERR_INVALID_ARGUMENT, "detail"),
            (
                Error::io("/f", std::io::Error::other("disk full")),
                CTASK_ERR_IO,
                "path",
            ),
        ];
        let mut seen = std::collections::HashSet::new();
        for (e, want, key) in cases {
            let text = e.to_string();
            let f = Failure::from(e);
            assert_eq!(f.status, want, "{text}");
            assert_eq!(f.message, text);
            assert!(f.detail.contains_key(key), "{} lacks {key}", want.name());
            assert!(seen.insert(want as i32), "{} used twice", want.name());
        }
    }

    #[test]
    fn active_session_detail_carries_the_owner_lease() {
        let owner = ctask_core::session::Lease {
            session_id: "id-1".into(),
            pid: 7,
            hostname: "h".into(),
            ..Default::default()
        };
        let f = Failure::from(Error::ActiveSession {
            owner: Box::new(owner),
        });
        assert_eq!(f.detail["owner"]["pid"], 7);
        assert_eq!(f.detail["owner"]["session_id"], "id-1");
    }

    #[test]
    fn last_error_is_recorded_per_thread_and_survives_nul_bytes() {
        record(Failure::invalid("bad\0value").with("argument", "x"));
        // SAFETY: the pointer is valid until the next failure on this thread.
        let msg = unsafe { std::ffi::CStr::from_ptr(last_message()) };
        assert_eq!(msg.to_str().unwrap(), "bad\u{fffd}value");
        let j = last_json();
        assert_eq!(j["name"], "CTASK_ERR_INVALID_ARGUMENT");
        assert_eq!(j["status"], 9);
        assert_eq!(j["argument"], "x");
        let other = std::thread::spawn(|| last_json()["name"].as_str().map(str::to_owned))
            .join()
            .unwrap();
        assert_eq!(other.as_deref(), Some("CTASK_OK"));
    }
}
