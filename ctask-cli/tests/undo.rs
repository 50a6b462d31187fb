//! `ctask history`, `ctask undo` and `ctask show` through the built binary: byte-exact
//! restores (modes, symlinks, renames, binary and empty files, odd names), redo, outside
//! changes, conflicts, contents not kept, a live owner, a corrupted store, retention, and
//! what an agent can plant in `.ctask/`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Bg, Env, ctask_dir, path_str, sh_args, sha256_hex, store, wait_for};

/// Every path of the tree but `.ctask/` and `logs/`: kind, permission bits, and the
/// content (or a symlink's target).
fn state(ws: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for e in fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).expect("under root").to_path_buf();
            if rel == Path::new(".ctask") || rel == Path::new("logs") {
                continue;
            }
            let m = fs::symlink_metadata(&p).expect("lstat");
            let mode = m.mode() & 0o7777;
            let v = if m.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&p).expect("readlink").display())
            } else if m.is_dir() {
                walk(root, &p, out);
                continue;
            } else {
                format!("file {mode:o} {:?}", fs::read(&p).expect("read"))
            };
            out.insert(rel, v);
        }
    }
    let mut out = BTreeMap::new();
    walk(ws, ws, &mut out);
    out
}

/// Runs an `sh -c SCRIPT` session in `ws` (its working directory is the workspace).
fn session(env: &Env, ws: &Path, script: &str) {
    env.run(&sh_args(ws, &[], script, &[])).ok();
}

fn history_json(env: &Env, ws: &Path) -> serde_json::Value {
    let out = env.run(&["history", path_str(ws), "--json"]);
    out.ok();
    serde_json::from_str(&out.stdout).expect("history JSON")
}

fn objects(ws: &Path) -> Vec<String> {
    store::stored(ws)
}

fn log_len(ws: &Path) -> usize {
    fs::read_to_string(ws.join("logs/sessions.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn write_config(env: &Env, text: &str) {
    let dir = env.config_home().join("ctask");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("config.yaml"), text).expect("config");
}

const SETUP: &str = r#"
printf 'keep me\n' > kept.txt
printf 'old\n' > mod.txt
chmod 0640 mod.txt
printf 'bye\n' > gone.txt
printf 'moving\n' > from.txt
printf '\000\001\002binary\377' > blob.bin
: > empty.txt
mkdir -p 'dir with space'
printf 'spaced\n' > 'dir with space/a file.txt'
printf 'newline\n' > "$(printf 'line\nbreak.txt')"
printf '#!/bin/sh\necho run\n' > tool.sh
chmod 0755 tool.sh
ln -s kept.txt link
"#;

const EDITS: &str = r#"
printf 'new content\n' > mod.txt
chmod 0600 mod.txt
rm gone.txt
mv from.txt to.txt
printf '\377\376changed' > blob.bin
printf 'now not empty' > empty.txt
rm 'dir with space/a file.txt'
printf 'edited\n' > "$(printf 'line\nbreak.txt')"
chmod 0644 tool.sh
rm link && ln -s mod.txt link
printf 'added\n' > added.txt
mkdir -p sub/deeper && printf 'deep\n' > sub/deeper/new.txt
: > empty-new.txt
"#;

#[test]
fn undo_gives_every_file_back_byte_exact_and_undo_again_redoes() {
    let env = Env::new();
    let ws = env.new_ws("undo all");
    session(&env, &ws, SETUP);
    let before = state(&ws);
    session(&env, &ws, EDITS);
    let after = state(&ws);
    assert_ne!(before, after);

    let h = history_json(&env, &ws);
    let newest = &h["sessions"][0];
    assert_eq!(newest["kind"], "session");
    assert_eq!(newest["restorable"], true);
    assert!(newest["changes"]["modified"].as_u64().unwrap() >= 5, "{h}");

    // A dry run writes nothing.
    let logs = log_len(&ws);
    let dry = env.run(&["undo", path_str(&ws), "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.contains("restore  mod.txt"), "{}", dry.stdout);
    assert_eq!(state(&ws), after);
    assert_eq!(log_len(&ws), logs);

    env.run(&["undo", path_str(&ws)]).ok();
    let undone = state(&ws);
    assert_eq!(undone, before);
    let mode = fs::metadata(ws.join("mod.txt"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o640);
    assert_eq!(
        fs::read_link(ws.join("link")).unwrap(),
        Path::new("kept.txt")
    );
    assert!(!ws.join("to.txt").exists() && ws.join("from.txt").exists());

    // The undo is a session of its own: start/end lines with agent=undo, a record of
    // kind undo.
    let log = fs::read_to_string(ws.join("logs/sessions.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(" start ") && l.contains("agent=undo")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(" end ") && l.contains("agent=undo")),
        "{log}"
    );
    let h = history_json(&env, &ws);
    assert_eq!(h["sessions"][0]["kind"], "undo");

    // Undo twice is a redo.
    env.run(&["undo", path_str(&ws)]).ok();
    assert_eq!(state(&ws), after);
}

#[test]
fn outside_changes_are_given_back() {
    let env = Env::new();
    let ws = env.new_ws("outside");
    session(
        &env,
        &ws,
        "printf 'one\\n' > a.txt; printf 'two\\n' > b.txt",
    );
    let before = state(&ws);
    // Nobody is there: edited, removed and added by hand.
    fs::write(ws.join("a.txt"), "edited by hand\n").unwrap();
    fs::remove_file(ws.join("b.txt")).unwrap();
    fs::write(ws.join("c.txt"), "planted\n").unwrap();
    session(&env, &ws, "true");
    let h = history_json(&env, &ws);
    assert_eq!(h["sessions"][0]["outside"]["modified"], 1, "{h}");
    assert_eq!(h["sessions"][0]["outside"]["deleted"], 1, "{h}");
    assert_eq!(h["sessions"][0]["outside"]["added"], 1, "{h}");
    env.run(&["undo", path_str(&ws), "--outside"]).ok();
    assert_eq!(state(&ws), before);
}

#[test]
fn a_conflict_changes_nothing_then_named_paths_and_force_go_on() {
    let env = Env::new();
    let ws = env.new_ws("conflict");
    session(&env, &ws, "printf 'a0\\n' > a.txt; printf 'b0\\n' > b.txt");
    session(&env, &ws, "printf 'a1\\n' > a.txt; printf 'b1\\n' > b.txt");
    fs::write(ws.join("b.txt"), "b2 by hand\n").unwrap();
    let now = state(&ws);
    let logs = log_len(&ws);
    let records = history_json(&env, &ws)["sessions"]
        .as_array()
        .unwrap()
        .len();

    let out = env.run(&["undo", path_str(&ws)]);
    out.code_is(1);
    assert!(
        out.stdout
            .contains("b.txt  CONFLICT: changed since the session"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert!(
        out.stderr.contains("PATH") && out.stderr.contains("--force"),
        "{}",
        out.stderr
    );
    assert_eq!(state(&ws), now, "a refused undo changed files");
    assert_eq!(log_len(&ws), logs, "a refused undo wrote to the log");
    assert_eq!(
        history_json(&env, &ws)["sessions"]
            .as_array()
            .unwrap()
            .len(),
        records
    );

    // The other path alone.
    env.run(&["undo", path_str(&ws), "a.txt"]).ok();
    assert_eq!(fs::read_to_string(ws.join("a.txt")).unwrap(), "a0\n");
    assert_eq!(
        fs::read_to_string(ws.join("b.txt")).unwrap(),
        "b2 by hand\n"
    );

    // --force overwrites, and keeps what it overwrote.
    let first = history_json(&env, &ws)["sessions"][1]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = env.run(&[
        "undo",
        path_str(&ws),
        "--session",
        &first,
        "b.txt",
        "--force",
    ]);
    out.ok();
    assert_eq!(fs::read_to_string(ws.join("b.txt")).unwrap(), "b0\n");
    let undo_id = history_json(&env, &ws)["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = env
        .cmd(&[
            "show",
            path_str(&ws),
            "b.txt",
            "--session",
            &undo_id,
            "--at",
            "start",
        ])
        .output()
        .unwrap();
    assert!(shown.status.success());
    assert_eq!(shown.stdout, b"b2 by hand\n");
}

#[test]
fn contents_not_kept_are_named_and_nothing_changes() {
    let env = Env::new();
    write_config(&env, "snapshot_max_file_bytes: 100\n");
    let ws = env.new_ws("cap");
    let big = "x".repeat(500);
    session(
        &env,
        &ws,
        &format!("printf '{big}' > big.txt; printf 'small\\n' > small.txt"),
    );
    session(
        &env,
        &ws,
        "printf 'changed\\n' > big.txt; printf 'changed\\n' > small.txt",
    );
    let now = state(&ws);
    let h = history_json(&env, &ws);
    assert_eq!(h["sessions"][0]["restorable"], false);
    assert_eq!(h["sessions"][0]["not_restorable"][0], "big.txt");
    let out = env.run(&["history", path_str(&ws)]);
    out.ok();
    assert!(out.stdout.contains("not restorable"), "{}", out.stdout);

    let out = env.run(&["undo", path_str(&ws)]);
    out.code_is(1);
    assert!(
        out.stdout
            .contains("big.txt  NOT RESTORABLE: its old content is not kept"),
        "{}",
        out.stdout
    );
    assert_eq!(state(&ws), now);
    // --force skips only what cannot be restored.
    env.run(&["undo", path_str(&ws), "--force"]).ok();
    assert_eq!(fs::read_to_string(ws.join("small.txt")).unwrap(), "small\n");
    assert_eq!(fs::read_to_string(ws.join("big.txt")).unwrap(), "changed\n");
}

#[test]
fn removed_objects_make_a_session_not_restorable() {
    let env = Env::new();
    let ws = env.new_ws("collected");
    session(&env, &ws, "printf 'v1\\n' > f.txt");
    session(&env, &ws, "printf 'v2\\n' > f.txt");
    let v1 = sha256_hex(b"v1\n");
    store::remove(&ws, &v1);
    let now = state(&ws);
    assert_eq!(history_json(&env, &ws)["sessions"][0]["restorable"], false);
    let out = env.run(&["undo", path_str(&ws)]);
    out.code_is(1);
    assert!(
        out.stdout.contains("f.txt  NOT RESTORABLE"),
        "{}",
        out.stdout
    );
    assert_eq!(state(&ws), now);
}

#[test]
fn a_corrupted_object_is_refused_by_name_and_nothing_else_is_harmed() {
    let env = Env::new();
    let ws = env.new_ws("corrupt");
    session(
        &env,
        &ws,
        "printf 'good a\\n' > a.txt; printf 'good b\\n' > b.txt",
    );
    session(&env, &ws, "printf 'a2\\n' > a.txt; printf 'b2\\n' > b.txt");
    // A byte of a.txt's old content flipped where it is stored.
    store::damage(&ws, &sha256_hex(b"good a\n"));
    let now = state(&ws);
    let out = env.run(&["undo", path_str(&ws)]);
    out.code_is(1);
    assert!(
        out.stdout.contains("a.txt  NOT RESTORABLE") && out.stdout.contains("corrupted"),
        "{}",
        out.stdout
    );
    assert_eq!(state(&ws), now);
    env.run(&["undo", path_str(&ws), "b.txt"]).ok();
    assert_eq!(fs::read_to_string(ws.join("b.txt")).unwrap(), "good b\n");
    assert_eq!(fs::read_to_string(ws.join("a.txt")).unwrap(), "a2\n");
}

#[test]
fn undo_is_refused_while_a_session_is_live() {
    let env = Env::new();
    let ws = env.new_ws("live");
    session(&env, &ws, "printf 'x\\n' > f.txt");
    session(&env, &ws, "printf 'y\\n' > f.txt");
    let ready = env.scratch("ready");
    let script = format!("touch '{}'; sleep 60", ready.display());
    let mut bg = Bg::spawn(env.cmd(&sh_args(&ws, &[], &script, &[])));
    assert!(wait_for(|| ready.exists(), Duration::from_secs(30)));
    let now = state(&ws);
    let out = env.run(&["undo", path_str(&ws)]);
    out.code_is(3);
    assert!(out.stderr.contains("busy"), "{}", out.stderr);
    assert_eq!(state(&ws), now);
    bg.kill_group();
    let _ = bg.wait();
}

#[test]
fn objects_swapped_for_a_symlink_cannot_make_undo_write_outside() {
    let env = Env::new();
    let ws = env.new_ws("swap");
    session(&env, &ws, "printf 'v1\\n' > f.txt");
    session(&env, &ws, "printf 'v2\\n' > f.txt");
    let outside = env.scratch("planted");
    fs::rename(ctask_dir(&ws).join("objects"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, ctask_dir(&ws).join("objects")).unwrap();
    let listing = |p: &Path| {
        let mut v: Vec<_> = fs::read_dir(p)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        v.sort();
        v
    };
    let planted = listing(&outside);
    let now = state(&ws);
    let out = env.run(&["undo", path_str(&ws)]);
    assert_ne!(out.code(), Some(0));
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert_eq!(state(&ws), now);
    assert_eq!(listing(&outside), planted);
}

#[test]
fn a_history_record_naming_a_path_outside_is_refused() {
    let env = Env::new();
    let ws = env.new_ws("escape");
    session(&env, &ws, "printf 'v1\\n' > f.txt");
    let hist = ctask_dir(&ws).join("history");
    let rec = r#"{"session_id":"zzz-planted","kind":"session","ended_at":"2099-01-01T00:00:00Z",
        "changes":[{"path":"../escaped.txt","before":null,"after":{"kind":"file","sha256":"00"}}]}"#;
    fs::write(hist.join("zzz-planted.json"), rec).unwrap();
    let out = env.run(&["history", path_str(&ws)]);
    out.ok();
    assert!(
        out.stderr.contains("leaves the workspace"),
        "{}",
        out.stderr
    );
    let out = env.run(&["undo", path_str(&ws), "--session", "zzz-planted"]);
    out.code_is(1);
    assert!(
        out.stderr.contains("leaves the workspace"),
        "{}",
        out.stderr
    );
    assert!(!ws.parent().unwrap().join("escaped.txt").exists());
}

#[test]
fn retention_keeps_exactly_the_last_sessions_and_their_contents() {
    let env = Env::new();
    write_config(&env, "snapshot_keep_sessions: 2\n");
    let ws = env.new_ws("keep");
    for v in 1..=4 {
        session(&env, &ws, &format!("printf 'v{v}\\n' > f.txt"));
    }
    let h = history_json(&env, &ws);
    assert_eq!(h["sessions"].as_array().unwrap().len(), 2, "{h}");
    let objs = objects(&ws);
    for (v, kept) in [(1, false), (2, true), (3, true), (4, true)] {
        let hash = sha256_hex(format!("v{v}\n").as_bytes());
        assert_eq!(objs.contains(&hash), kept, "v{v}: {objs:?}");
    }
}

#[test]
fn snapshots_false_in_task_yaml_keeps_nothing() {
    let env = Env::new();
    let ws = env.new_ws("off");
    let task = ws.join("task.yaml");
    let mut text = fs::read_to_string(&task).unwrap();
    text.push_str("snapshots: false\n");
    fs::write(&task, text).unwrap();
    session(&env, &ws, "printf 'v1\\n' > f.txt");
    assert!(!ctask_dir(&ws).join("objects").exists());
    assert!(!ctask_dir(&ws).join("history").exists());
    let out = env.run(&["undo", path_str(&ws)]);
    out.code_is(1);
    assert!(out.stderr.contains("nothing to undo"), "{}", out.stderr);
}

#[test]
fn show_prints_a_stored_content() {
    let env = Env::new();
    let ws = env.new_ws("show");
    session(&env, &ws, "printf '\\000bin\\377' > b.bin");
    session(&env, &ws, "printf 'after' > b.bin");
    let out = env
        .cmd(&["show", path_str(&ws), "b.bin", "--at", "start"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"\0bin\xff");
    let out = env.cmd(&["show", path_str(&ws), "b.bin"]).output().unwrap();
    assert_eq!(out.stdout, b"after");
    let out = env.run(&["show", path_str(&ws), "nope.txt"]);
    out.code_is(1);
    assert!(out.stderr.contains("nope.txt"), "{}", out.stderr);
}

/// The summary says when the end manifest is stored whole; a store removed since is filled
/// again by the next begin (the summary's word is not taken for a store that is gone), and
/// one pack per capture holds what it stored.
#[test]
fn a_removed_store_is_filled_again_at_the_next_begin() {
    let env = Env::new();
    let ws = env.new_ws("refill");
    session(
        &env,
        &ws,
        "printf 'one\\n' > a.txt; printf 'two\\n' > b.txt",
    );
    let summary: serde_json::Value = serde_json::from_slice(
        &fs::read(ctask_dir(&ws).join("last-session-summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["snapshots_complete"], true, "{summary}");
    assert_eq!(store::packs(&ws).len(), 2, "begin's pack and end's pack");
    fs::remove_dir_all(store::objects_dir(&ws)).unwrap();
    session(&env, &ws, "printf 'three\\n' > a.txt");
    // b.txt did not change in the second session: its content was stored by its begin.
    assert!(store::stored(&ws).contains(&sha256_hex(b"two\n")));
    // ...into a pack, like every small content a capture stores: no file of its own.
    let loose: Vec<_> = fs::read_dir(store::objects_dir(&ws))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().len() == 64)
        .collect();
    assert!(loose.is_empty(), "{loose:?}");
    env.run(&["undo", path_str(&ws)]).ok();
    assert_eq!(fs::read_to_string(ws.join("a.txt")).unwrap(), "one\n");
    assert_eq!(fs::read_to_string(ws.join("b.txt")).unwrap(), "two\n");
}

/// A session that changed nothing (and found nothing changed) leaves no record: history
/// lists the session that did change something, and undo gives that one back.
#[test]
fn a_session_that_changed_nothing_is_not_recorded_and_undo_goes_past_it() {
    let env = Env::new();
    let ws = env.new_ws("noop");
    session(&env, &ws, "printf 'v1\\n' > f.txt");
    session(&env, &ws, "printf 'v2\\n' > f.txt");
    let before = history_json(&env, &ws)["sessions"]
        .as_array()
        .unwrap()
        .len();
    session(&env, &ws, "true");
    session(&env, &ws, "true");
    let h = history_json(&env, &ws);
    assert_eq!(h["sessions"].as_array().unwrap().len(), before, "{h}");
    env.run(&["undo", path_str(&ws)]).ok();
    assert_eq!(fs::read_to_string(ws.join("f.txt")).unwrap(), "v1\n");
}
