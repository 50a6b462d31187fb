//! `ctask undo` beyond the basics, through the built binary: many files at once (the
//! durability rule past 256 files), temp files left by a kill between staging and
//! renaming, directories an undo empties, and the outside changes of a session recovered
//! after its owner died.

mod common;

use std::fs;
use std::path::Path;

use common::{Bg, Env, PATIENCE, ctask_dir, path_str, sh_args, wait_for};

/// Runs an `sh -c SCRIPT` session in `ws` (its working directory is the workspace).
fn session(env: &Env, ws: &Path, script: &str) {
    env.run(&sh_args(ws, &[], script, &[])).ok();
}

/// Makes `n` files (with `spread`, each in a directory of its own), changes them all in a
/// session, undoes it under a limit of 64 open files: each is given back.
fn undo_many(n: usize, spread: bool) {
    let env = Env::new();
    let ws = env.new_ws("Many");
    let (dir, mkdir) = if spread {
        ("d$i/", "mkdir -p d$i; ")
    } else {
        ("", "")
    };
    session(
        &env,
        &ws,
        &format!(
            "i=0; while [ $i -lt {n} ]; do {mkdir}echo old $i > {dir}f$i.txt; i=$((i+1)); done"
        ),
    );
    session(
        &env,
        &ws,
        &format!("i=0; while [ $i -lt {n} ]; do echo new $i > {dir}f$i.txt; i=$((i+1)); done"),
    );
    // Under a low limit of open files: a directory is open only while a file in it is
    // written or renamed, however many directories the undo writes in.
    let mut sh = std::process::Command::new("sh");
    env.isolate(&mut sh);
    sh.env("NO_COLOR", "1")
        .current_dir(env.scratch_dir())
        .stdin(std::process::Stdio::null())
        .args(["-c", r#"ulimit -n 64 && exec "$0" undo "$1""#])
        .args([path_str(&common::bin()), path_str(&ws)]);
    env.run_cmd(sh).ok();
    let dir = |i: usize| {
        if spread {
            ws.join(format!("d{i}"))
        } else {
            ws.clone()
        }
    };
    for i in 0..n {
        let f = dir(i).join(format!("f{i}.txt"));
        let got = fs::read_to_string(&f).expect("read");
        assert_eq!(got, format!("old {i}\n"), "{}", f.display());
    }
    for d in (0..n).map(dir) {
        let left: Vec<String> = fs::read_dir(&d)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".ctask-undo-"))
            .collect();
        assert!(
            left.is_empty(),
            "temp files left in {}: {left:?}",
            d.display()
        );
    }
}

/// Up to 256 files each get their own fsync; more, one syncfs: both give every file back,
/// with at most 64 files open.
#[test]
fn undo_gives_back_few_and_many_files() {
    undo_many(5, false);
    undo_many(300, false);
}

/// 300 files in 300 directories (one descriptor per directory would be far above the
/// limit of 64), and 100 (each directory then gets its own fsync).
#[test]
fn undo_gives_back_files_spread_over_more_directories_than_open_files_allowed() {
    undo_many(100, true);
    undo_many(300, true);
}

/// Starts a session whose agent runs `script`, then `kill -9`s its owner (and the agent)
/// once the script is done; returns the dead session's id.
fn dead_session(env: &Env, ws: &Path, script: &str) -> String {
    let marker = env.scratch("agent-done");
    let _ = fs::remove_file(&marker);
    let full = format!("{script}\n: > \"$1\"; sleep 60");
    let mut bg = Bg::spawn(env.cmd(&sh_args(ws, &[], &full, &[path_str(&marker)])));
    assert!(
        wait_for(|| marker.exists(), PATIENCE),
        "the agent never finished"
    );
    let lease: serde_json::Value =
        serde_json::from_slice(&fs::read(ctask_dir(ws).join("session.json")).expect("lease"))
            .expect("lease JSON");
    bg.kill9();
    bg.kill_group();
    lease["session_id"].as_str().expect("session_id").to_owned()
}

fn history_json(env: &Env, ws: &Path) -> serde_json::Value {
    let out = env.run(&["history", path_str(ws), "--json"]);
    out.ok();
    serde_json::from_str(&out.stdout).expect("history JSON")
}

/// The `ctask history --json` entry of session `id`.
fn record_of(env: &Env, ws: &Path, id: &str) -> serde_json::Value {
    let h = history_json(env, ws);
    h["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["session_id"] == id)
        .unwrap_or_else(|| panic!("no record of {id}: {h}"))
        .clone()
}

/// A list of temp files planted in `.ctask/` by an agent whose owner then died names its
/// own session, but that session is not an undo: recovery removes nothing it names (not
/// even an undo-like name), records it all, and drops the list.
#[test]
fn a_planted_list_of_undo_temp_files_removes_nothing() {
    let env = Env::new();
    let ws = env.new_ws("Planted");
    session(&env, &ws, "echo keep > notes.md");
    let id = dead_session(
        &env,
        &ws,
        "echo hidden > .ctask-undo-1-aa; echo x > other.txt",
    );
    let list = serde_json::json!({
        "session_id": id,
        "temps": ["notes.md", ".ctask-undo-1-aa", "../outside", ".ctask/session.json"],
    });
    fs::write(ctask_dir(&ws).join("undo-staged.json"), list.to_string()).expect("plant");
    session(&env, &ws, "true");
    assert_eq!(
        fs::read_to_string(ws.join("notes.md")).expect("notes"),
        "keep\n"
    );
    assert_eq!(
        fs::read_to_string(ws.join(".ctask-undo-1-aa")).expect("kept"),
        "hidden\n"
    );
    assert!(!ctask_dir(&ws).join("undo-staged.json").exists());
    assert_eq!(
        record_of(&env, &ws, &id)["changes"]["added"],
        2,
        "both files are recorded"
    );
    let text = fs::read_to_string(ctask_dir(&ws).join(format!("history/{id}.json")))
        .expect("history record");
    assert!(text.contains(".ctask-undo-1-aa"), "{text}");
    assert!(text.contains("other.txt"), "{text}");
}

/// Whether `p` is a directory (not following a symlink).
fn is_dir(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

/// Undo of a session that added files in new directories removes the directories it
/// empties; a directory that held a file before the session, or holds anything now, stays;
/// redo makes them again.
#[test]
fn undo_removes_the_directories_it_empties_and_redo_makes_them_again() {
    let env = Env::new();
    let ws = env.new_ws("Dirs");
    session(
        &env,
        &ws,
        "mkdir -p old kept && echo a > old/a.txt && echo k > kept/k.txt",
    );
    session(
        &env,
        &ws,
        "mkdir -p new/dir/deeper shared && echo f > new/dir/deeper/file && echo g > new/g.txt \
         && echo s > shared/s.txt && echo b > old/b.txt && rm old/a.txt && echo x > kept/x.txt",
    );
    // Not the session's: a file put in `shared/` afterwards, by someone else.
    fs::write(ws.join("shared/mine.txt"), "mine\n").expect("write");
    // Only `old/b.txt` first: `old/` is left empty, but it held `a.txt` before the session.
    env.run(&["undo", path_str(&ws), "old/b.txt"]).ok();
    assert!(!ws.join("old/b.txt").exists());
    assert!(
        is_dir(&ws.join("old")),
        "old/ held a file before the session"
    );
    // Then the whole session, by a fresh session's view (the partial undo is the newest
    // record now, so name the session).
    let h = history_json(&env, &ws);
    let target = h["sessions"][1]["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let out = env.run(&["undo", path_str(&ws), "--session", &target, "--force"]);
    out.ok();
    assert!(!ws.join("new").exists(), "new/ is left: {}", out.stdout);
    assert!(
        is_dir(&ws.join("shared")),
        "shared/ holds a file of someone else"
    );
    assert!(ws.join("shared/mine.txt").exists());
    assert!(!ws.join("shared/s.txt").exists());
    assert!(is_dir(&ws.join("kept")));
    assert_eq!(fs::read_to_string(ws.join("old/a.txt")).expect("a"), "a\n");
    // Redo: the undo of the undo makes the directories again.
    env.run(&["undo", path_str(&ws)]).ok();
    assert_eq!(
        fs::read_to_string(ws.join("new/dir/deeper/file")).expect("file"),
        "f\n"
    );
    assert_eq!(fs::read_to_string(ws.join("new/g.txt")).expect("g"), "g\n");
}

/// A session whose owner was killed is recovered with the changes made before it while
/// nobody was there: `history` counts them and `undo --outside` gives them back.
#[test]
fn a_recovered_session_records_its_outside_changes() {
    let env = Env::new();
    let ws = env.new_ws("Recovered outside");
    session(&env, &ws, "echo one > a.txt; echo stays > b.txt");
    // While nobody is there.
    fs::write(ws.join("a.txt"), "two\n").expect("write");
    fs::write(ws.join("o.txt"), "outside\n").expect("write");
    fs::remove_file(ws.join("b.txt")).expect("rm");
    let id = dead_session(&env, &ws, "echo agent > d.txt");
    session(&env, &ws, "true");
    let rec = record_of(&env, &ws, &id);
    assert_eq!(
        rec["outside"],
        serde_json::json!({"added": 1, "deleted": 1, "modified": 1}),
        "{rec}"
    );
    assert_eq!(rec["changes"]["added"], 1, "{rec}");
    assert_eq!(rec["outside_restorable"], true, "{rec}");
    env.run(&["undo", path_str(&ws), "--session", &id, "--outside"])
        .ok();
    assert_eq!(fs::read_to_string(ws.join("a.txt")).expect("a"), "one\n");
    assert_eq!(fs::read_to_string(ws.join("b.txt")).expect("b"), "stays\n");
    assert!(!ws.join("o.txt").exists());
    // The agent's own change is not touched by an undo of the outside changes.
    assert_eq!(fs::read_to_string(ws.join("d.txt")).expect("d"), "agent\n");
}

/// A dead session of a workspace that has a store but has since turned snapshots off
/// (`snapshots: false` in task.yaml) is recovered without a history record or new
/// contents: recovery keeps the workspace's settings.
#[test]
fn recovery_keeps_snapshots_off_when_the_workspace_turned_them_off() {
    let env = Env::new();
    let ws = env.new_ws("Recover off");
    session(&env, &ws, "echo one > a.txt");
    let records_before = fs::read_dir(ctask_dir(&ws).join("history"))
        .unwrap()
        .count();
    let task = ws.join("task.yaml");
    let mut text = fs::read_to_string(&task).unwrap();
    text.push_str("snapshots: false\n");
    fs::write(&task, text).unwrap();
    let objects = || -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(ctask_dir(&ws).join("objects"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let stored_before = objects();
    let id = dead_session(&env, &ws, "echo two > a.txt; echo new > b.txt");
    session(&env, &ws, "true");
    let log = fs::read_to_string(ws.join("logs/sessions.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(" end ") && l.contains(&id) && l.contains("owner_died")),
        "{log}"
    );
    let records_after = fs::read_dir(ctask_dir(&ws).join("history"))
        .unwrap()
        .count();
    assert_eq!(records_after, records_before, "a record was written");
    assert_eq!(objects(), stored_before, "contents were stored");
}
