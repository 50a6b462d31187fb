//! Library-level tests of the rules of docs/design.md §6 "The agent is a tenant, not a friend":
//! what a session's own agent can do to `.ctask/` and `logs/` must never make ctask lose
//! a record, write twice, or act on a file it did not judge.

use std::fs;
use std::path::{Path, PathBuf};

use ctask_core::session::{DetectedVia, EndReason, Ending, Session, log};

mod common;

use common::{Fixture, ctask, opts};

fn fixture() -> Fixture {
    common::fixture_titled("Tenant test")
}

/// (start lines, end lines) of session `id`.
fn lines_of(ws: &Path, id: &str) -> (usize, usize) {
    let entries = log::read(ws).unwrap();
    let count = |ev: &str| {
        entries
            .iter()
            .filter(|e| e.event == ev && e.get("id") == Some(id))
            .count()
    };
    (count("start"), count("end"))
}

#[test]
fn a_failed_end_finishes_the_handle_and_is_never_retried() {
    let f = fixture();
    let s = Session::begin(&f.ws, opts()).unwrap();
    let id = s.id();
    fs::write(f.ws.join("work.txt"), "done").unwrap();
    // The summary cannot be replaced while a directory sits at its name.
    let blocker = ctask(&f.ws, "last-session-summary.json");
    fs::create_dir(&blocker).unwrap();
    fs::write(blocker.join("x"), "x").unwrap();
    assert!(s.end(Ending::child_exit(0)).is_err());
    // The obstacle goes away; neither a second end nor the drop may retry without the
    // session lock.
    fs::remove_dir_all(&blocker).unwrap();
    assert!(
        s.end(Ending::child_exit(0)).is_err(),
        "a failed end was retried"
    );
    drop(s);
    assert!(!blocker.exists(), "the dropped handle wrote a summary");
    assert_eq!(lines_of(&f.ws, &id), (1, 0));
    assert!(ctask(&f.ws, "session.json").exists(), "the lease must stay");
    assert!(ctask(&f.ws, "manifest-start.bin").exists());
    // The next begin recovers it: exactly one end line, with the agent's work.
    let next = Session::begin(&f.ws, opts()).unwrap();
    let r = next.recovered().expect("recovered");
    assert_eq!(r.session_id, id);
    assert_eq!(r.outcome.as_str(), "owner_died");
    let sum = r.summary.expect("summary");
    assert_eq!(sum.files_added, ["work.txt"]);
    next.end(Ending {
        reason: EndReason::ChildExited,
        detected_via: DetectedVia::ChildExit,
        exit_code: Some(0),
    })
    .unwrap();
    assert_eq!(lines_of(&f.ws, &id), (1, 1));
}

/// A child the host spawns (fork + exec) inherits no descriptor of the session: not
/// `session.lock` (it would keep the workspace locked after the host died), not the
/// `.ctask/` and `logs/` directories opened at begin.
#[cfg(target_os = "linux")]
#[test]
fn a_spawned_child_inherits_no_session_descriptor() {
    let f = fixture();
    let s = Session::begin(&f.ws, opts()).unwrap();
    let mut child = std::process::Command::new("sleep")
        .arg("5")
        .spawn()
        .unwrap();
    let fds = fs::read_dir(format!("/proc/{}/fd", child.id())).unwrap();
    let leaked: Vec<PathBuf> = fds
        .filter_map(|e| fs::read_link(e.unwrap().path()).ok())
        .filter(|t| t.starts_with(&f.ws))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(leaked.is_empty(), "inherited: {leaked:?}");
    s.end(Ending::child_exit(0)).unwrap();
}
