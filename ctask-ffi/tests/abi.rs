//! The C ABI driven from Rust, as a C caller would: sessions begun here are the core's
//! sessions (seen by `status`, recorded in the summary file), out-parameters are written
//! only on success, and handles are usable from several threads.

use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::ptr;

use ctask::*;
use serde_json::Value;

/// Options for sessions in tests: explicit intervals, so no configuration is read.
const BEGIN_OPTS: &str =
    r#"{"agent": "rust-abi", "heartbeat_seconds": 1, "stale_after_seconds": 60}"#;

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Takes a string returned by ctask, frees it, and parses it.
fn take_json(p: *mut c_char) -> Value {
    assert!(!p.is_null());
    // SAFETY: a string returned by ctask, freed exactly once here.
    let text = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
    unsafe { ctask_string_free(p) };
    serde_json::from_str(&text).unwrap()
}

fn last_error() -> String {
    // SAFETY: a static or thread-local string owned by the library.
    unsafe { CStr::from_ptr(ctask_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn create_workspace(root: &Path, title: &str) -> PathBuf {
    let opts = cstr(&serde_json::json!({"title": title, "root": root}).to_string());
    let mut out = ptr::null_mut();
    // SAFETY: valid strings and out-parameter.
    let st = unsafe { ctask_workspace_create(opts.as_ptr(), &mut out) };
    assert_eq!(st, ctask_status::CTASK_OK, "{}", last_error());
    PathBuf::from(take_json(out)["path"].as_str().unwrap())
}

fn begin(dir: &Path, opts: &str) -> Result<*mut ctask_session, ctask_status> {
    let d = cstr(dir.to_str().unwrap());
    let o = cstr(opts);
    let mut s = ptr::null_mut();
    // SAFETY: valid strings and out-parameter.
    match unsafe { ctask_session_begin(d.as_ptr(), o.as_ptr(), &mut s) } {
        ctask_status::CTASK_OK => Ok(s),
        other => {
            assert!(s.is_null(), "out-parameter written on failure");
            Err(other)
        }
    }
}

#[test]
fn version_matches_the_crate() {
    // SAFETY: a static string.
    let v = unsafe { CStr::from_ptr(ctask_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(
        [
            CTASK_VERSION_MAJOR,
            CTASK_VERSION_MINOR,
            CTASK_VERSION_PATCH
        ],
        [parts[0], parts[1], parts[2]]
    );
    assert_eq!(
        CTASK_VERSION_NUMBER,
        (parts[0] << 16) | (parts[1] << 8) | parts[2]
    );
    assert_eq!(ctask_abi_version(), CTASK_ABI_VERSION);
    assert_eq!(ctask_version(), ctask_version());
}

#[test]
fn a_session_from_c_is_the_cores_session_and_its_summary_is_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = create_workspace(tmp.path(), "ABI session");
    let s = begin(&ws, BEGIN_OPTS).unwrap();

    let live = ctask_core::session::status(&ws, 60).unwrap();
    assert_eq!(live.state.as_str(), "active");
    let lease = live.lease.unwrap();
    assert_eq!(lease.agent.as_deref(), Some("rust-abi"));

    let mut info = ptr::null_mut();
    // SAFETY: a live handle and a valid out-parameter.
    assert_eq!(
        unsafe { ctask_session_info_json(s, &mut info) },
        ctask_status::CTASK_OK
    );
    let info = take_json(info);
    assert_eq!(info["session_id"], lease.session_id.as_str());
    assert_eq!(info["role"], "owner");
    assert_eq!(info["env"]["CTASK_WORKSPACE"], ws.to_str().unwrap());

    std::fs::write(ws.join("made.txt"), "x").unwrap();
    let mut summary = ptr::null_mut();
    // SAFETY: as above.
    assert_eq!(
        unsafe { ctask_session_end(s, 0, &mut summary) },
        ctask_status::CTASK_OK
    );
    let summary = take_json(summary);
    assert_eq!(summary["files_added"], serde_json::json!(["made.txt"]));

    let file = ws.join(".ctask/last-session-summary.json");
    let mut on_disk: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    on_disk.as_object_mut().unwrap().remove("end_manifest");
    assert_eq!(summary, on_disk);

    let after = ctask_core::session::status(&ws, 60).unwrap();
    assert_eq!(after.state.as_str(), "none");
    assert_eq!(serde_json::to_value(after.last_summary).unwrap(), summary);

    // A second end succeeds and writes nothing.
    let mut again = ptr::dangling_mut::<c_char>();
    // SAFETY: the handle is still live; `again` is never dereferenced.
    assert_eq!(
        unsafe { ctask_session_end(s, 1, &mut again) },
        ctask_status::CTASK_OK
    );
    assert_eq!(again, ptr::dangling_mut::<c_char>());
    // SAFETY: freed once.
    unsafe { ctask_session_free(s) };
}

#[test]
fn failures_leave_out_parameters_alone_and_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = create_workspace(tmp.path(), "ABI failures");
    let owner = begin(&ws, BEGIN_OPTS).unwrap();

    assert_eq!(
        begin(&ws, BEGIN_OPTS).unwrap_err(),
        ctask_status::CTASK_ERR_ACTIVE_SESSION
    );
    let mut detail = ptr::null_mut();
    // SAFETY: a valid out-parameter.
    assert_eq!(
        unsafe { ctask_last_error_json(&mut detail) },
        ctask_status::CTASK_OK
    );
    let detail = take_json(detail);
    assert_eq!(detail["owner"]["pid"], std::process::id());

    assert_eq!(
        begin(&ws, r#"{"agent": "x", "colour": "red"}"#).unwrap_err(),
        ctask_status::CTASK_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("colour"), "{}", last_error());
    assert_eq!(
        begin(tmp.path(), BEGIN_OPTS).unwrap_err(),
        ctask_status::CTASK_ERR_NOT_FOUND
    );

    let mut out = ptr::dangling_mut::<c_char>();
    let bad = cstr("{\"files\": []");
    let good = cstr("[]");
    // SAFETY: valid strings; `out` is never dereferenced.
    let st = unsafe { ctask_diff(good.as_ptr(), bad.as_ptr(), &mut out) };
    assert_eq!(st, ctask_status::CTASK_ERR_BAD_FORMAT);
    assert_eq!(out, ptr::dangling_mut::<c_char>());
    assert!(last_error().contains("after_json"));

    // SAFETY: NULL is accepted by both.
    unsafe {
        ctask_string_free(ptr::null_mut());
        ctask_session_free(ptr::null_mut());
    }
    // Freed without an end: the session is ended as abandoned.
    // SAFETY: freed once.
    unsafe { ctask_session_free(owner) };
    let st = ctask_core::session::status(&ws, 60).unwrap();
    assert_eq!(st.state.as_str(), "none");
    let last = serde_json::to_value(st.last_summary.unwrap()).unwrap();
    assert_eq!(last["end_reason"], "abandoned");
    assert_eq!(last["detected_via"], "drop");
}

#[test]
fn persistent_options_are_checked_before_anything_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = create_workspace(tmp.path(), "ABI persistent options");
    let refused = |opts: &str, key: &str| {
        assert_eq!(
            begin(&ws, opts).unwrap_err(),
            ctask_status::CTASK_ERR_INVALID_ARGUMENT,
            "{opts}"
        );
        assert!(
            last_error().contains(&format!("`{key}`")),
            "{}",
            last_error()
        );
        let mut detail = ptr::null_mut();
        // SAFETY: a valid out-parameter.
        assert_eq!(
            unsafe { ctask_last_error_json(&mut detail) },
            ctask_status::CTASK_OK
        );
        assert_eq!(take_json(detail)["key"], key, "{opts}");
    };
    let exe = std::env::current_exe().unwrap();
    let with_supervisor = |extra: &str| {
        format!(
            r#"{{"mode": "persistent", "argv": ["sh"], "supervisor": {}{extra}}}"#,
            serde_json::to_string(&exe).unwrap()
        )
    };
    refused(r#"{"mode": "persistent"}"#, "argv");
    refused(r#"{"mode": "persistent", "argv": "sh -c true"}"#, "argv");
    refused(r#"{"mode": "persistent", "argv": [""]}"#, "argv");
    refused(r#"{"argv": ["sh"]}"#, "argv");
    refused(
        r#"{"mode": "direct", "supervisor": "/bin/ctask"}"#,
        "supervisor",
    );
    refused(r#"{"mode": "tmux"}"#, "mode");
    refused(
        r#"{"mode": "persistent", "argv": ["sh"], "supervisor": "/nonexistent/ctask"}"#,
        "supervisor",
    );
    refused(
        r#"{"mode": "persistent", "argv": ["sh"], "supervisor": 1}"#,
        "supervisor",
    );
    refused(&with_supervisor(r#", "force": true"#), "force");
    refused(&with_supervisor(r#", "on_active": "coexist""#), "on_active");
    refused(&with_supervisor(r#", "heartbeat": false"#), "heartbeat");
    refused(
        &with_supervisor(r#", "respect_ignore": false"#),
        "respect_ignore",
    );
    let st = ctask_core::session::status(&ws, 60).unwrap();
    assert_eq!(st.state.as_str(), "none");
    assert!(!ws.join(".ctask").join("session.json").exists());
}

/// A handle pointer that may cross threads (the API documents it as thread-safe).
#[derive(Clone, Copy)]
struct Shared(*mut ctask_session);
// SAFETY: ctask sessions are documented as usable from any thread.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

#[test]
fn one_handle_serves_several_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = create_workspace(tmp.path(), "ABI threads");
    let s = Shared(begin(&ws, BEGIN_OPTS).unwrap());
    let workers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let s = s;
                for _ in 0..20 {
                    let mut out = ptr::null_mut();
                    // SAFETY: the handle outlives the threads (joined before free).
                    unsafe {
                        assert_eq!(ctask_session_heartbeat(s.0), ctask_status::CTASK_OK);
                        assert_eq!(
                            ctask_session_info_json(s.0, &mut out),
                            ctask_status::CTASK_OK
                        );
                    }
                    take_json(out);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let ender = std::thread::spawn(move || {
        let s = s;
        let mut out = ptr::null_mut();
        // SAFETY: live handle; ends exactly once with a summary.
        let st = unsafe { ctask_session_end(s.0, 0, &mut out) };
        assert_eq!(st, ctask_status::CTASK_OK);
        take_json(out)
    });
    let summary = ender.join().unwrap();
    assert_eq!(summary["agent"], "rust-abi");
    // SAFETY: freed once, after every thread is done.
    unsafe { ctask_session_free(s.0) };
}

#[test]
fn workspace_functions_return_the_documented_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = create_workspace(tmp.path(), "ABI shapes");
    let opts = cstr(&serde_json::json!({"root": tmp.path()}).to_string());
    let dir = cstr(ws.to_str().unwrap());
    let mut out = ptr::null_mut();

    // SAFETY: valid strings and out-parameters throughout.
    unsafe {
        assert_eq!(
            ctask_workspace_list(opts.as_ptr(), &mut out),
            ctask_status::CTASK_OK
        );
        let list = take_json(out);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["slug"], "abi-shapes");

        let q = cstr("abi-shapes");
        assert_eq!(
            ctask_workspace_resolve(q.as_ptr(), opts.as_ptr(), &mut out),
            ctask_status::CTASK_OK
        );
        assert_eq!(take_json(out)["path"], ws.to_str().unwrap());

        let st_opts = cstr(r#"{"stale_after_seconds": 60}"#);
        assert_eq!(
            ctask_workspace_status(dir.as_ptr(), st_opts.as_ptr(), &mut out),
            ctask_status::CTASK_OK
        );
        assert_eq!(take_json(out), serde_json::json!({"state": "none"}));

        assert_eq!(
            ctask_workspace_diff(dir.as_ptr(), ptr::null(), &mut out),
            ctask_status::CTASK_OK
        );
        let d = take_json(out);
        assert_eq!(d["baseline"], "none");
        assert_eq!(d["added"], serde_json::json!([]));

        assert_eq!(
            ctask_manifest_capture(dir.as_ptr(), ptr::null(), &mut out),
            ctask_status::CTASK_OK
        );
        let m = take_json(out);
        let paths: Vec<&str> = m["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&"notes.md") && !paths.contains(&"task.yaml"));
        let m = cstr(&m.to_string());
        let entries = cstr(&serde_json::to_string(&serde_json::json!([])).unwrap());
        assert_eq!(
            ctask_diff(entries.as_ptr(), m.as_ptr(), &mut out),
            ctask_status::CTASK_OK
        );
        let d = take_json(out);
        assert_eq!(d["added"].as_array().unwrap().len(), paths.len());
    }
}

/// `ctask_workspace_resolve` describes the session state as `ctask info` does; session info
/// carries the core's enums as their JSON names.
#[test]
fn resolve_reports_the_session_state() {
    let root = tempfile::tempdir().unwrap();
    let ws = create_workspace(root.path(), "Resolve state");
    let resolve = || {
        let q = cstr(ws.to_str().unwrap());
        let mut out = ptr::null_mut();
        // SAFETY: valid strings and out-parameter.
        let st = unsafe { ctask_workspace_resolve(q.as_ptr(), ptr::null(), &mut out) };
        assert_eq!(st, ctask_status::CTASK_OK, "{}", last_error());
        take_json(out)
    };
    assert!(resolve().get("session").is_none());
    let s = begin(&ws, BEGIN_OPTS).unwrap();
    assert_eq!(resolve()["session"]["state"], "active");
    let mut info = ptr::null_mut();
    // SAFETY: a live handle and a valid out-parameter.
    assert_eq!(
        unsafe { ctask_session_info_json(s, &mut info) },
        ctask_status::CTASK_OK
    );
    let info = take_json(info);
    assert_eq!(info["role"], "owner");
    assert_eq!(info["mode"], "direct");
    assert_eq!(info["ended"], false);
    // SAFETY: a live handle; NULL summary out-parameter is allowed.
    assert_eq!(
        unsafe { ctask_session_end(s, 0, ptr::null_mut()) },
        ctask_status::CTASK_OK
    );
    // SAFETY: freed once.
    unsafe { ctask_session_free(s) };
    let after = resolve();
    assert!(after.get("session").is_none());
    assert!(after["last_session"]["ended_at"].is_string());
}

/// An empty `root` is refused by the core's rule, naming the option, in every call that
/// takes one.
#[test]
fn an_empty_root_is_refused_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let ws = create_workspace(root.path(), "Empty root");
    let opts = cstr(r#"{"root": ""}"#);
    let mut out = ptr::null_mut();
    // SAFETY: valid strings and out-parameter.
    let st = unsafe { ctask_workspace_list(opts.as_ptr(), &mut out) };
    assert_eq!(st, ctask_status::CTASK_ERR_INVALID_ARGUMENT);
    assert!(out.is_null());
    assert!(last_error().contains("`root`"), "{}", last_error());
    let err = begin(
        &ws,
        r#"{"root": "", "heartbeat_seconds": 1, "stale_after_seconds": 60}"#,
    );
    assert_eq!(err.err(), Some(ctask_status::CTASK_ERR_INVALID_ARGUMENT));
    assert!(last_error().contains("`root`"), "{}", last_error());
    assert!(!ws.join(".ctask/session.json").exists());
}
