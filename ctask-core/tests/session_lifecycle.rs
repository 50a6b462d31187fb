//! End-to-end tests of the session lifecycle through the core library.

use std::fs;
use std::path::Path;

use ctask_core::Error;
use ctask_core::session::lease::{self, Lease, LeaseFile, Mode};
use ctask_core::session::summary;
use ctask_core::session::{
    self, DetectedVia, EndReason, Ending, OnActive, Session, SessionOptions, log,
};

mod common;

use common::{Fixture, ctask, opts};

fn fixture() -> Fixture {
    common::fixture_titled("Lifecycle test")
}

fn events(ws: &Path) -> Vec<(String, String)> {
    log::read(ws)
        .unwrap()
        .into_iter()
        .map(|e| (e.event.clone(), e.get("id").unwrap_or("").to_owned()))
        .collect()
}

/// Every file in `.ctask/` with its bytes, those of its directories (`objects/`,
/// `history/`) as `dir/name`.
fn snapshot_ctask(ws: &Path) -> Vec<(String, Vec<u8>)> {
    fn read(dir: &Path, prefix: &str, v: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                read(&e.path(), &format!("{name}/"), v);
                v.push((format!("{name}/"), Vec::new()));
            } else {
                v.push((name, fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut v = Vec::new();
    read(&ws.join(".ctask"), "", &mut v);
    v.sort();
    v
}

#[test]
fn a_session_records_adds_edits_deletes_and_renames() {
    let f = fixture();
    fs::write(f.ws.join("keep.txt"), "one").unwrap();
    fs::write(f.ws.join("gone.txt"), "bye").unwrap();
    fs::write(f.ws.join("old-name.txt"), "moving").unwrap();
    let s = Session::begin(&f.ws, opts()).unwrap();
    assert!(s.owns_lease());
    assert!(ctask(&f.ws, "session.json").exists());
    assert!(ctask(&f.ws, "manifest-start.bin").exists());
    let env = s.env();
    for k in [
        "CTASK_TASK",
        "CTASK_WORKSPACE",
        "CTASK_ROOT",
        "CTASK_CATEGORY",
        "CTASK_TYPE",
        "CTASK_MODE",
        "CTASK_LAUNCH_DIR",
        "CTASK_SESSION_ID",
        "CTASK_SESSION_MODE",
    ] {
        assert!(env.contains_key(k), "{k} missing");
    }
    assert_eq!(env["CTASK_SESSION_ID"], s.id());

    fs::write(f.ws.join("new.txt"), "hello").unwrap();
    fs::write(f.ws.join("keep.txt"), "two").unwrap();
    fs::remove_file(f.ws.join("gone.txt")).unwrap();
    fs::rename(f.ws.join("old-name.txt"), f.ws.join("new-name.txt")).unwrap();
    let out = s.end(Ending::child_exit(0)).unwrap();
    let sum = out.summary;
    assert_eq!(sum.files_added, vec!["new.txt"]);
    assert_eq!(sum.files_modified, vec!["keep.txt"]);
    assert_eq!(sum.files_deleted, vec!["gone.txt"]);
    assert_eq!(sum.files_renamed.len(), 1);
    assert_eq!(
        (
            sum.files_renamed[0].from.as_str(),
            sum.files_renamed[0].to.as_str()
        ),
        ("old-name.txt", "new-name.txt")
    );
    assert_eq!(sum.end_reason, Some(EndReason::ChildExited));
    assert_eq!(sum.exit_code, Some(0));
    assert!(!ctask(&f.ws, "session.json").exists());
    assert!(!ctask(&f.ws, "manifest-start.bin").exists());
    let ev = events(&f.ws);
    assert_eq!(ev, vec![("start".into(), s.id()), ("end".into(), s.id())]);
    // The file summary carries the end manifest; a second end writes nothing.
    let before = snapshot_ctask(&f.ws);
    let again = s.end(Ending::child_exit(5)).unwrap();
    assert_eq!(again.summary.exit_code, Some(0));
    assert_eq!(before, snapshot_ctask(&f.ws));
    let full =
        summary::read::<Vec<session::manifest::Entry>>(&ctask(&f.ws, "last-session-summary.json"))
            .unwrap()
            .ok()
            .unwrap();
    assert!(full.end_manifest.iter().any(|e| e.path == "new.txt"));
    assert!(full.end_manifest_captured_at.is_some());
}

#[test]
fn touch_is_not_a_modification() {
    let f = fixture();
    fs::write(f.ws.join("a.txt"), "same").unwrap();
    let s = Session::begin(&f.ws, opts()).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(f.ws.join("a.txt"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let out = s.end(Ending::child_exit(0)).unwrap();
    assert!(out.summary.files_modified.is_empty());
}

#[test]
fn a_live_owner_refuses_or_coexists_without_touching_its_files() {
    let f = fixture();
    let owner = Session::begin(&f.ws, opts()).unwrap();
    let err = Session::begin(&f.ws, opts()).unwrap_err();
    match err {
        Error::ActiveSession { owner: l } => {
            assert_eq!(l.pid, std::process::id());
            assert_eq!(l.session_id, owner.id());
        }
        other => panic!("unexpected {other}"),
    }
    let before = snapshot_ctask(&f.ws);
    let co = Session::begin(
        &f.ws,
        SessionOptions {
            on_active: OnActive::Coexist,
            ..opts()
        },
    )
    .unwrap();
    assert!(!co.owns_lease());
    assert_eq!(co.owner().unwrap().session_id, owner.id());
    fs::write(f.ws.join("co.txt"), "x").unwrap();
    let out = co.end(Ending::child_exit(0)).unwrap();
    assert_eq!(out.summary.files_added, vec!["co.txt"]);
    assert_eq!(
        before,
        snapshot_ctask(&f.ws),
        "coexist must not touch the owner's files"
    );
    let lines = log::read(&f.ws).unwrap();
    let co_lines: Vec<_> = lines
        .iter()
        .filter(|e| e.get("role") == Some("coexist"))
        .collect();
    assert_eq!(co_lines.len(), 2);
    owner.end(Ending::child_exit(0)).unwrap();
}

#[test]
fn force_coexists_with_a_live_owner() {
    let f = fixture();
    let owner = Session::begin(&f.ws, opts()).unwrap();
    let forced = Session::begin(
        &f.ws,
        SessionOptions {
            force: true,
            ..opts()
        },
    )
    .unwrap();
    assert!(!forced.owns_lease());
    forced.end(Ending::child_exit(0)).unwrap();
    assert!(ctask(&f.ws, "session.json").exists());
    owner.end(Ending::child_exit(0)).unwrap();
}

#[test]
fn outside_changes_are_reported_by_the_next_begin_and_diff() {
    let f = fixture();
    fs::write(f.ws.join("a.txt"), "1").unwrap();
    Session::begin(&f.ws, opts())
        .unwrap()
        .end(Ending::child_exit(0))
        .unwrap();
    fs::write(f.ws.join("a.txt"), "22").unwrap();
    fs::write(f.ws.join("b.txt"), "new").unwrap();
    let report = session::diff_since_last(&f.ws, &Default::default()).unwrap();
    assert_eq!(report.baseline, "last_session");
    assert_eq!(report.diff.modified, vec!["a.txt"]);
    assert_eq!(report.diff.added, vec!["b.txt"]);
    let s = Session::begin(&f.ws, opts()).unwrap();
    let outside = s.outside_changes().unwrap();
    assert_eq!(outside.modified, vec!["a.txt"]);
    assert_eq!(outside.added, vec!["b.txt"]);
    let out = s.end(Ending::child_exit(0)).unwrap();
    assert_eq!(out.summary.outside_changes.unwrap().added, vec!["b.txt"]);
    assert!(out.summary.files_added.is_empty());
}

#[test]
fn dropping_an_unended_session_ends_it_as_abandoned() {
    let f = fixture();
    let s = Session::begin(&f.ws, opts()).unwrap();
    let id = s.id();
    drop(s);
    let sum = summary::read::<summary::Omitted>(&ctask(&f.ws, "last-session-summary.json"))
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(sum.session_id, id);
    assert_eq!(sum.end_reason, Some(EndReason::Abandoned));
    assert_eq!(sum.detected_via, Some(DetectedVia::Drop));
    assert!(!ctask(&f.ws, "session.json").exists());
}

#[test]
fn a_dead_owner_is_recovered_at_once_and_its_changes_attributed_once() {
    let f = fixture();
    // Run a session, then roll the workspace back to the state an owner killed
    // mid-session leaves: lease, start manifest and start line, nobody holding the lock.
    let s = Session::begin(&f.ws, opts()).unwrap();
    let id = s.id();
    let lease_bytes = fs::read(ctask(&f.ws, "session.json")).unwrap();
    let start_bytes = fs::read(ctask(&f.ws, "manifest-start.bin")).unwrap();
    let log_bytes = fs::read(f.ws.join("logs/sessions.log")).unwrap();
    fs::write(f.ws.join("during.txt"), "work").unwrap();
    s.end(Ending::child_exit(0)).unwrap();
    fs::remove_file(ctask(&f.ws, "last-session-summary.json")).unwrap();
    fs::write(ctask(&f.ws, "session.json"), lease_bytes).unwrap();
    fs::write(ctask(&f.ws, "manifest-start.bin"), start_bytes).unwrap();
    fs::write(f.ws.join("logs/sessions.log"), log_bytes).unwrap();

    let t = std::time::Instant::now();
    let next = Session::begin(&f.ws, opts()).unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(2));
    let rec = next.recovered().unwrap();
    assert_eq!(rec.session_id, id);
    assert_eq!(rec.outcome.as_str(), "owner_died");
    assert_eq!(next.last_summary().unwrap().session_id, id);
    assert_eq!(next.last_summary().unwrap().files_added, vec!["during.txt"]);
    assert!(
        next.outside_changes().unwrap().is_empty(),
        "not counted twice"
    );
    let lines = log::read(&f.ws).unwrap();
    let end = lines
        .iter()
        .find(|e| e.event == "end" && e.get("id") == Some(id.as_str()))
        .unwrap();
    assert_eq!(end.get("reason"), Some("owner_died"));
    assert_eq!(end.get("detected_via"), Some("recovery"));
    assert_eq!(end.get("added"), Some("1"));
    next.end(Ending::child_exit(0)).unwrap();
    let ev = events(&f.ws);
    assert_eq!(
        ev.iter().filter(|(e, i)| e == "start" && *i == id).count(),
        1
    );
    assert_eq!(ev.iter().filter(|(e, i)| e == "end" && *i == id).count(), 1);
}

#[test]
fn a_lease_killed_inside_begin_is_removed_as_incomplete() {
    let f = fixture();
    let mut l = Lease::new("h-1-20260101T000000Z-abcd".into(), "x", Mode::Direct, 30);
    l.pid = 999_999;
    lease::write(&ctask(&f.ws, "session.json"), &l).unwrap();
    let s = Session::begin(&f.ws, opts()).unwrap();
    assert_eq!(s.recovered().unwrap().outcome.as_str(), "incomplete");
    let lines = log::read(&f.ws).unwrap();
    assert!(
        lines
            .iter()
            .any(|e| e.event == "lease-removed" && e.get("reason") == Some("incomplete"))
    );
    assert!(
        !lines
            .iter()
            .any(|e| e.event == "end" && e.get("id") == Some(l.session_id.as_str()))
    );
    s.end(Ending::child_exit(0)).unwrap();
}

#[test]
fn an_unreadable_lease_is_reclaimed_with_a_warning() {
    let f = fixture();
    fs::write(ctask(&f.ws, "session.json"), "{\"session_id\": \"trunc").unwrap();
    let s = Session::begin(&f.ws, opts()).unwrap();
    assert!(s.warnings().iter().any(|w| w.contains("session.json")));
    let lines = log::read(&f.ws).unwrap();
    assert!(
        lines
            .iter()
            .any(|e| e.event == "lease-removed" && e.get("reason") == Some("unreadable"))
    );
    s.end(Ending::child_exit(0)).unwrap();
}

#[test]
fn an_unreadable_summary_is_a_warning_and_no_baseline() {
    let f = fixture();
    Session::begin(&f.ws, opts())
        .unwrap()
        .end(Ending::child_exit(0))
        .unwrap();
    fs::write(
        ctask(&f.ws, "last-session-summary.json"),
        "{\"session_id\":",
    )
    .unwrap();
    let s = Session::begin(&f.ws, opts()).unwrap();
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.contains("last-session-summary.json"))
    );
    assert!(s.outside_changes().is_none());
    s.end(Ending::child_exit(0)).unwrap();
}

fn assert_nothing_written(ws: &Path, before: &[(String, Vec<u8>)]) {
    assert_eq!(snapshot_ctask(ws), before);
    assert!(fs::read(ws.join("logs/sessions.log")).unwrap().is_empty());
}

#[test]
fn bad_launch_dirs_and_missing_agents_write_nothing() {
    let f = fixture();
    let before = snapshot_ctask(&f.ws);
    for bad in ["/etc", "../x", "a/../../b"] {
        let e = Session::begin(
            &f.ws,
            SessionOptions {
                launch_dir: Some(bad.into()),
                ..opts()
            },
        )
        .unwrap_err();
        assert!(matches!(e, Error::PathSecurity { .. }), "{bad}: {e}");
        assert_nothing_written(&f.ws, &before);
    }
    std::os::unix::fs::symlink("/", f.ws.join("escape")).unwrap();
    let e = Session::begin(
        &f.ws,
        SessionOptions {
            launch_dir: Some("escape".into()),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::PathSecurity { .. }));
    let e = Session::begin(
        &f.ws,
        SessionOptions {
            launch: Some(vec!["no-such-agent-zz".into()]),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(matches!(&e, Error::AgentNotFound { command } if command == "no-such-agent-zz"));
    assert_nothing_written(&f.ws, &before);
    let s = Session::begin(
        &f.ws,
        SessionOptions {
            launch_dir: Some("missing".into()),
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(s.launch_dir(), f.ws);
    assert!(s.warnings().iter().any(|w| w.contains("does not exist")));
    s.end(Ending::child_exit(0)).unwrap();
}

#[test]
fn a_symlinked_ctask_dir_is_refused() {
    let f = fixture();
    let elsewhere = tempfile::tempdir().unwrap();
    fs::remove_dir_all(f.ws.join(".ctask")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), f.ws.join(".ctask")).unwrap();
    let e = Session::begin(&f.ws, opts()).unwrap_err();
    assert!(matches!(e, Error::PathSecurity { .. }), "{e}");
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn run_returns_the_exit_code_and_records_the_child_s_work() {
    let f = fixture();
    let argv: Vec<String> = ["sh", "-c", "echo x > a.txt; exit 3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = session::run(&f.ws, &argv, opts()).unwrap();
    assert_eq!(r.exit_code, 3);
    assert_eq!(r.summary.files_added, vec!["a.txt"]);
    assert_eq!(r.summary.exit_code, Some(3));
    assert!(matches!(
        lease::read(&ctask(&f.ws, "session.json")).unwrap(),
        LeaseFile::Absent
    ));
    let killed: Vec<String> = ["sh", "-c", "kill -TERM $$"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        session::run(&f.ws, &killed, opts()).unwrap().exit_code,
        128 + 15
    );
}

#[test]
fn provisional_workspaces_are_removed_only_when_untouched_and_failed() {
    let f = fixture();
    let o = SessionOptions {
        newly_created: true,
        ..opts()
    };
    let keep = session::run(&f.ws, &["true".to_string()], o.clone()).unwrap();
    assert!(!keep.workspace_removed && f.ws.exists());
    let changed = session::run(
        &f.ws,
        &["sh".into(), "-c".into(), "echo > x; exit 1".into()],
        o.clone(),
    )
    .unwrap();
    assert!(!changed.workspace_removed && f.ws.exists());
    let gone = session::run(&f.ws, &["false".to_string()], o).unwrap();
    assert!(gone.workspace_removed);
    assert!(!f.ws.exists());
}

#[test]
fn status_reports_states_without_writing() {
    let f = fixture();
    assert_eq!(session::status(&f.ws, 60).unwrap().state.as_str(), "none");
    let s = Session::begin(&f.ws, opts()).unwrap();
    let st = session::status(&f.ws, 60).unwrap();
    assert_eq!(st.state.as_str(), "active");
    assert_eq!(st.lease.unwrap().session_id, s.id());
    s.end(Ending::child_exit(0)).unwrap();
    let st = session::status(&f.ws, 60).unwrap();
    assert_eq!(st.state.as_str(), "none");
    assert!(st.last_summary.is_some());
    let mut dead = Lease::new("h-1-x-0000".into(), "x", Mode::Direct, 30);
    dead.pid = 999_999;
    lease::write(&ctask(&f.ws, "session.json"), &dead).unwrap();
    let before = snapshot_ctask(&f.ws);
    let st = session::status(&f.ws, 60).unwrap();
    assert_eq!(st.state.as_str(), "stale");
    assert!(st.diagnostic.is_some());
    assert_eq!(before, snapshot_ctask(&f.ws));
}

#[test]
fn a_forked_copy_is_inert() {
    let f = fixture();
    let s = Session::begin(&f.ws, opts()).unwrap();
    let lease_before = fs::read(ctask(&f.ws, "session.json")).unwrap();
    // SAFETY: the child only drops the handle and exits without running destructors of
    // anything else; no allocation-heavy work happens between fork and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ended = s.end(Ending::child_exit(9)).is_err();
        drop(s);
        unsafe { libc::_exit(if ended { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "end in the child must refuse"
    );
    assert_eq!(
        session::status(&f.ws, 60).unwrap().state.as_str(),
        "active",
        "the lock is still held"
    );
    assert_eq!(
        fs::read(ctask(&f.ws, "session.json")).unwrap(),
        lease_before
    );
    assert!(
        !ctask(&f.ws, "last-session-summary.json").exists(),
        "the child wrote nothing"
    );
    let out = s.end(Ending::child_exit(0)).unwrap();
    assert_eq!(out.summary.exit_code, Some(0));
}

/// Status reads the lease, then the summary: a summary naming the lease's own session means
/// that session ended in between (its summary is written before its lease is removed), so
/// the workspace is reported free, not active with its own summary.
#[test]
fn a_summary_of_the_leases_own_session_means_it_has_ended() {
    let f = fixture();
    let s = Session::begin(&f.ws, opts()).unwrap();
    let st = session::status(&f.ws, 30).unwrap();
    assert_eq!(st.state.as_str(), "active");
    let summary = ctask(&f.ws, "last-session-summary.json");
    fs::write(&summary, format!("{{\"session_id\": \"{}\"}}\n", s.id())).unwrap();
    let st = session::status(&f.ws, 30).unwrap();
    assert_eq!(st.state.as_str(), "none");
    assert!(st.lease.is_none());
    // A summary of another session leaves the live owner active.
    fs::write(&summary, "{\"session_id\": \"someone-else\"}\n").unwrap();
    let st = session::status(&f.ws, 30).unwrap();
    assert_eq!(st.state.as_str(), "active");
    s.end(Ending::child_exit(0)).unwrap();
}
