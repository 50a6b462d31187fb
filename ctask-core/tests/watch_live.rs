//! `ctask_core::watch`: log lines and workspace changes under a root, with inotify and
//! by polling.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ctask_core::session::log;
use ctask_core::timefmt;
use ctask_core::watch::{Body, Event, WatchOptions, Watcher};

fn make_ws(dir: &Path, slug: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("task.yaml"),
        format!("title: {slug}\nslug: {slug}\n"),
    )
    .unwrap();
    dir.canonicalize().unwrap()
}

fn line(ws: &Path, event: &str, id: &str) {
    log::append(ws, timefmt::now_secs(), event, &[("id", id.to_owned())]).unwrap();
}

/// Pulls events until `done` holds for what was gathered, or 10 s pass.
fn gather(w: &mut Watcher, got: &mut Vec<Event>, done: impl Fn(&[Event]) -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !done(got) && Instant::now() < end {
        if let Some(e) = w.next_event(Duration::from_millis(100)).unwrap() {
            got.push(e);
        }
    }
}

fn names_of(got: &[Event], ws: &Path) -> Vec<String> {
    got.iter()
        .filter(|e| e.workspace == ws)
        .map(|e| match &e.body {
            Body::Log(l) => format!("{}:{}", l.event, l.get("id").unwrap_or("")),
            Body::Change { change, .. } => change.as_str().to_owned(),
        })
        .collect()
}

fn scenario(poll: bool) {
    let root = tempfile::tempdir().unwrap();
    let a = make_ws(&root.path().join("a"), "a");
    let b = make_ws(&root.path().join("cat/b"), "b");
    line(&a, "start", "before");
    let mut w = Watcher::new(WatchOptions {
        roots: vec![root.path().to_path_buf()],
        poll,
        poll_interval: Duration::from_millis(200),
        ..WatchOptions::default()
    })
    .unwrap();
    assert_eq!(w.is_polling(), poll);
    assert_eq!(w.workspace_count(), 2);
    for i in 0..5 {
        line(&a, "start", &format!("a{i}"));
        line(&b, "start", &format!("b{i}"));
        line(&a, "end", &format!("a{i}"));
        line(&b, "end", &format!("b{i}"));
    }
    // A workspace created after the start, in a new category.
    let c = make_ws(&root.path().join("new/c"), "c");
    line(&c, "start", "c0");
    line(&c, "state", "c0");
    let mut got = Vec::new();
    gather(&mut w, &mut got, |g| {
        names_of(g, &c).len() == 3 && names_of(g, &a).len() == 10 && names_of(g, &b).len() == 10
    });
    let expect = |p: &str| -> Vec<String> {
        (0..5)
            .flat_map(|i| [format!("start:{p}{i}"), format!("end:{p}{i}")])
            .collect()
    };
    assert_eq!(names_of(&got, &a), expect("a"));
    assert_eq!(names_of(&got, &b), expect("b"));
    assert_eq!(names_of(&got, &c), ["created", "start:c0", "state:c0"]);
    let e = got
        .iter()
        .find(|e| e.workspace == c && e.name() == "state")
        .unwrap();
    assert_eq!(e.slug, "c");
    let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    assert_eq!(json["fields"]["id"], "c0");
    assert_eq!(json["workspace"], c.to_str().unwrap());

    // Archived, then deleted.
    got.clear();
    std::fs::write(b.join("task.yaml"), "title: b\nslug: b\nstatus: archived\n").unwrap();
    std::fs::remove_dir_all(&a).unwrap();
    gather(&mut w, &mut got, |g| g.len() >= 2);
    assert_eq!(names_of(&got, &b), ["archived"]);
    assert_eq!(names_of(&got, &a), ["deleted"]);
    let json: serde_json::Value = serde_json::from_str(&got[0].to_json()).unwrap();
    assert!(
        json["at"].is_string() && json.get("fields").is_none(),
        "{json}"
    );
    // Nothing else comes.
    assert!(w.next_event(Duration::from_millis(700)).unwrap().is_none());
    // The watcher still works after the deletion.
    line(&c, "end", "c0");
    gather(&mut w, &mut got, |g| g.len() >= 3);
    assert_eq!(names_of(&got, &c), ["end:c0"]);
}

#[test]
fn inotify_sees_every_line_and_change_in_order() {
    scenario(false);
}

#[test]
fn polling_sees_every_line_and_change_in_order() {
    scenario(true);
}

#[test]
fn named_workspaces_since_and_hostile_lines() {
    let root = tempfile::tempdir().unwrap();
    let a = make_ws(&root.path().join("a"), "a");
    let other = make_ws(&root.path().join("other"), "other");
    std::fs::create_dir(a.join("logs")).unwrap();
    std::fs::write(
        log::log_path(&a),
        "2020-01-01T00:00:00Z start id=old\n2026-01-01T00:00:00Z start id=kept\n",
    )
    .unwrap();
    let mut w = Watcher::new(WatchOptions {
        workspaces: vec![a.clone()],
        since: timefmt::parse("2025-01-01T00:00:00Z"),
        ..WatchOptions::default()
    })
    .unwrap();
    let mut got = Vec::new();
    gather(&mut w, &mut got, |g| !g.is_empty());
    assert_eq!(names_of(&got, &a), ["start:kept"]);
    // Control characters, a 1 MB line, a line that is not an event, and a line of the other
    // workspace: the watcher goes on with the next good line of its own workspace.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(log::log_path(&a))
        .unwrap();
    f.write_all(b"2026-01-01T00:00:01Z state id=x message=\"\x1b[31m\x07\"\n")
        .unwrap();
    f.write_all(format!("2026-01-01T00:00:02Z start id={}\n", "z".repeat(1_000_000)).as_bytes())
        .unwrap();
    f.write_all(b"garbage \xff\xfe\n2026-01-01T00:00:03Z end id=after\n")
        .unwrap();
    line(&other, "start", "not-watched");
    got.clear();
    gather(&mut w, &mut got, |g| g.len() >= 2);
    assert!(w.next_event(Duration::from_millis(300)).unwrap().is_none());
    assert_eq!(names_of(&got, &a), ["state:x", "end:after"]);
    assert_eq!(
        got[0].fields()[1],
        ("message".to_owned(), "\x1b[31m\x07".to_owned())
    );
}

#[test]
fn bad_options_are_refused() {
    let err = Watcher::new(WatchOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nothing to watch"), "{err}");
    let d = tempfile::tempdir().unwrap();
    let err = Watcher::new(WatchOptions {
        workspaces: vec![d.path().join("missing")],
        ..WatchOptions::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(!d.path().join("missing").exists());
}

#[test]
fn a_replaced_logs_dir_is_followed_and_a_symlinked_one_never_read() {
    let root = tempfile::tempdir().unwrap();
    let a = make_ws(&root.path().join("a"), "a");
    line(&a, "start", "first");
    let mut w = Watcher::new(WatchOptions {
        roots: vec![root.path().to_path_buf()],
        ..WatchOptions::default()
    })
    .unwrap();
    // logs/ moved away and made again: the new log is read from its start.
    std::fs::rename(a.join("logs"), a.join("old-logs")).unwrap();
    line(&a, "start", "second");
    let mut got = Vec::new();
    gather(&mut w, &mut got, |g| !g.is_empty());
    line(&a, "end", "second");
    gather(&mut w, &mut got, |g| g.len() >= 2);
    assert_eq!(names_of(&got, &a), ["start:second", "end:second"]);
    // logs/ replaced by a symlink to a directory outside: nothing of it is read.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("sessions.log"),
        "2026-01-01T00:00:00Z start id=planted\n",
    )
    .unwrap();
    std::fs::remove_dir_all(a.join("logs")).unwrap();
    std::os::unix::fs::symlink(outside.path(), a.join("logs")).unwrap();
    std::fs::write(
        outside.path().join("sessions.log"),
        "2026-01-01T00:00:00Z start id=planted\n2026-01-01T00:00:01Z end id=planted\n",
    )
    .unwrap();
    assert!(w.next_event(Duration::from_millis(700)).unwrap().is_none());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("sessions.log"))
            .unwrap()
            .lines()
            .count(),
        2
    );
}
