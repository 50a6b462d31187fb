//! `ctask watch` as a real process: every session's lines exactly once and in order, the
//! created/deleted changes, a clean exit on SIGTERM/SIGINT and when its reader goes away.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn events(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// `(event, id)` of the watcher's events of workspace `ws`, in the order received.
fn seq_of(evs: &[Value], ws: &Path) -> Vec<(String, String)> {
    evs.iter()
        .filter(|e| e["workspace"] == path_str(ws))
        .map(|e| {
            let id = e["fields"]["id"].as_str().unwrap_or("").to_owned();
            (e["event"].as_str().unwrap_or("").to_owned(), id)
        })
        .collect()
}

/// `(event, id)` of the log lines of `ws`, in file order.
fn log_seq(ws: &Path) -> Vec<(String, String)> {
    log_lines(ws)
        .into_iter()
        .map(|l| (l.event.clone(), l.get("id").unwrap_or("").to_owned()))
        .collect()
}

fn wait_for_stderr(bg: &Bg, text: &str) {
    wait_until(text, Duration::from_millis(10), || {
        bg.stderr().contains(text).then_some(())
    });
}

fn session(env: &Env, ws: &Path) {
    env.run(&sh_args(ws, &[], "exit 0", &[])).ok();
}

fn twenty_sessions_over_five_workspaces(poll: bool) {
    let env = Env::new();
    let kept: Vec<PathBuf> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|t| env.new_ws(t))
        .collect();
    let doomed = env.new_ws("doomed");
    let out = env.scratch("watch.out");
    let mut args = vec!["watch", "--json"];
    if poll {
        args.push("--poll");
    }
    let mut watch = Bg::spawn_to(env.cmd(&args), out.clone(), env.scratch("watch.err"));
    wait_for_stderr(&watch, "watching 4 workspace(s)");
    let late = env.new_ws("late");
    for _ in 0..4 {
        session(&env, &doomed);
    }
    // The doomed workspace is deleted once its lines were delivered, while the others work.
    let doomed_log = log_seq(&doomed);
    wait_until(
        "the doomed workspace's lines",
        Duration::from_millis(20),
        || (seq_of(&events(&out), &doomed) == doomed_log).then_some(()),
    );
    env.run(&["delete", "-y", path_str(&doomed)]).ok();
    for round in 0..4 {
        for ws in kept.iter().chain([&late]) {
            if round < 4 {
                session(&env, ws);
            }
        }
    }
    let started = Instant::now();
    let all: Vec<&PathBuf> = kept.iter().chain([&late]).collect();
    wait_until("every session's lines", Duration::from_millis(20), || {
        let evs = events(&out);
        let done = all
            .iter()
            .all(|ws| seq_of(&evs, ws).iter().filter(|(e, _)| e == "end").count() == 4)
            && evs.iter().any(|e| e["event"] == "deleted");
        done.then_some(())
    });
    assert!(
        started.elapsed() < Duration::from_secs(if poll { 3 } else { 1 }) + Duration::from_secs(2)
    );
    // Nothing more arrives after a pause.
    std::thread::sleep(Duration::from_millis(if poll { 1500 } else { 500 }));
    let evs = events(&out);
    watch.signal(libc::SIGTERM);
    let end = watch.wait();
    assert_eq!(end.code(), Some(0), "stderr: {}", end.stderr);

    // Per workspace: exactly the log's lines, in the log's order (each session once).
    for ws in &kept {
        assert_eq!(seq_of(&evs, ws), log_seq(ws), "{}", ws.display());
    }
    let mut late_seq = seq_of(&evs, &late);
    assert_eq!(late_seq.remove(0), ("created".to_owned(), String::new()));
    assert_eq!(late_seq, log_seq(&late));
    let mut doomed_seq = seq_of(&evs, &doomed);
    assert_eq!(
        doomed_seq.pop(),
        Some(("deleted".to_owned(), String::new()))
    );
    assert_eq!(doomed_seq, doomed_log);
    let mut per_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &evs {
        if let Some(id) = e["fields"]["id"].as_str() {
            per_id
                .entry(id.to_owned())
                .or_default()
                .push(e["event"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(per_id.len(), 20, "{per_id:?}");
    assert!(
        per_id.values().all(|v| v == &["start", "end"]),
        "{per_id:?}"
    );
    let created = evs.iter().find(|e| e["event"] == "created").unwrap();
    assert_eq!(created["slug"], "late");
    assert!(created["at"].is_string());
}

#[test]
fn watch_json_sees_twenty_sessions_over_five_workspaces_once_in_order() {
    twenty_sessions_over_five_workspaces(false);
}

#[test]
fn watch_poll_sees_twenty_sessions_over_five_workspaces_once_in_order() {
    twenty_sessions_over_five_workspaces(true);
}

#[test]
fn watch_exits_quietly_when_its_reader_closes_the_pipe() {
    let env = Env::new();
    env.new_ws("one");
    let err = env.scratch("watch.err");
    let mut cmd = env.cmd(&["watch", "--json"]);
    cmd.stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err).unwrap());
    let mut child = cmd.spawn().unwrap();
    wait_until("the watcher to start", Duration::from_millis(10), || {
        std::fs::read_to_string(&err)
            .unwrap_or_default()
            .contains("watching")
            .then_some(())
    });
    drop(child.stdout.take());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "watch did not exit after its reader went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert!(
        !stderr.contains("error") && !stderr.contains("panic"),
        "{stderr}"
    );
}

#[test]
fn watch_stops_on_sigint_and_escapes_hostile_lines_for_a_terminal() {
    let env = Env::new();
    let ws = env.new_ws("hostile");
    let out = env.scratch("watch.out");
    let mut watch = Bg::spawn_to(
        env.cmd(&["watch", "hostile"]),
        out.clone(),
        env.scratch("watch.err"),
    );
    wait_for_stderr(&watch, "watching 1 workspace(s)");
    std::fs::create_dir_all(ws.join("logs")).unwrap();
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(ws.join("logs/sessions.log"))
        .unwrap();
    f.write_all(b"2026-01-01T00:00:00Z state id=x state=waiting message=\"\x1b]0;pwned\x07 hi\"\n")
        .unwrap();
    f.write_all(format!("2026-01-01T00:00:01Z start id={}\n", "z".repeat(1 << 20)).as_bytes())
        .unwrap();
    f.write_all(b"2026-01-01T00:00:02Z end id=y exit=0\n")
        .unwrap();
    wait_until("the end line", Duration::from_millis(20), || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("end id=y")
            .then_some(())
    });
    watch.signal(libc::SIGINT);
    let end = watch.wait();
    assert_eq!(end.code(), Some(0), "stderr: {}", end.stderr);
    assert!(
        !end.stdout.contains('\x1b') && !end.stdout.contains('\x07'),
        "{:?}",
        end.stdout
    );
    let lines: Vec<&str> = end.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("2026-01-01T00:00:00Z hostile state id=x state=waiting message="),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with("hostile end id=y exit=0"),
        "{}",
        lines[1]
    );
}

#[test]
fn watch_refuses_a_bad_since_and_an_unknown_workspace() {
    let env = Env::new();
    let ws = env.new_ws("one");
    let before = (tree_snapshot(&env.root()), log_text(&ws));
    let out = env.run(&["watch", "--since", "yesterday"]);
    assert_ne!(out.code(), Some(0));
    assert!(
        out.stderr
            .contains("--since yesterday: not an RFC 3339 time"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    let out = env.run(&["watch", "no-such-workspace"]);
    assert_ne!(out.code(), Some(0));
    assert!(out.stderr.contains("no-such-workspace"), "{}", out.stderr);
    assert_eq!((tree_snapshot(&env.root()), log_text(&ws)), before);
}

/// `list` and `watch` share one listing: a workspace reached through a symlink inside the
/// root (at either level) is in neither.
#[test]
fn list_and_watch_agree_and_follow_no_symlink_in_a_root() {
    let env = Env::new();
    let ws = env.new_ws("real");
    let outside = env.scratch("outside-ws");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::copy(ws.join("task.yaml"), outside.join("task.yaml")).expect("copy");
    let category = ws.parent().expect("category");
    std::os::unix::fs::symlink(&outside, category.join("2000-01-01_link")).expect("symlink");
    std::os::unix::fs::symlink(&outside, env.root().join("linked")).expect("symlink");
    let cat_outside = env.scratch("outside-cat");
    std::fs::create_dir(&cat_outside).expect("mkdir");
    std::os::unix::fs::symlink(&outside, cat_outside.join("2000-01-01_deep")).expect("symlink");
    std::os::unix::fs::symlink(&cat_outside, env.root().join("linked-cat")).expect("symlink");
    let out = env.run(&["list", "-a", "--json"]);
    out.ok();
    let listed: Vec<Value> = serde_json::from_str(&out.stdout).expect("JSON");
    let paths: Vec<&str> = listed.iter().filter_map(|w| w["path"].as_str()).collect();
    assert_eq!(paths, vec![path_str(&ws)], "{}", out.stdout);
    let mut watch = Bg::spawn_to(
        env.cmd(&["watch", "--json"]),
        env.scratch("watch.out"),
        env.scratch("watch.err"),
    );
    wait_for_stderr(&watch, "watching ");
    let err = watch.stderr();
    watch.signal(libc::SIGTERM);
    watch.wait();
    assert!(err.contains("watching 1 workspace(s)"), "{err}");
}
