//! The agent is a tenant, not a friend (DESIGN §6): agents that do odd but legal things
//! inside their workspace — plant `write.lock` or lease files, swap `.ctask/` and `logs/`
//! for symlinks, write names ctask's manifest cannot see — run through the built binary.
//! Each test checks that the workspace, the log (one `start` and one `end` per session)
//! and the summary are what the rules say, that a canary directory outside the workspace
//! is unchanged, and that ctask did not panic.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A sandbox plus a canary directory outside every workspace, with its state at the start.
struct Tenant {
    env: Env,
    canary: PathBuf,
    canary_before: BTreeMap<PathBuf, String>,
}

impl Tenant {
    fn new() -> Tenant {
        let env = Env::new();
        let canary = env.scratch("canary");
        fs::create_dir_all(canary.join("sub")).expect("canary");
        fs::write(canary.join("keep.txt"), "canary").expect("canary file");
        fs::write(canary.join("sub/manifest-start.json"), "{}").expect("canary file");
        let canary_before = snapshot(&canary);
        Tenant {
            env,
            canary,
            canary_before,
        }
    }

    /// `ctask resume WS -a sh -- -c SCRIPT sh EXTRA…`, checked for panics.
    fn session(&self, ws: &Path, script: &str, extra: &[&str]) -> Out {
        let out = self.env.run(&sh_args(ws, &[], script, extra));
        no_panic(&out.stderr);
        out
    }

    /// The canary directory is exactly as it was.
    fn canary_intact(&self) {
        assert_eq!(
            snapshot(&self.canary),
            self.canary_before,
            "something outside the workspace changed"
        );
    }
}

/// Every entry under `dir` (nothing skipped): kind, mode, size, mtime and small contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = fs::symlink_metadata(&p) else {
                continue;
            };
            let content = if m.is_file() {
                fs::read(&p).map(|b| format!("{b:?}")).unwrap_or_default()
            } else {
                String::new()
            };
            let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            out.insert(
                rel,
                format!(
                    "{:o} {} {}.{} {content}",
                    m.mode(),
                    m.len(),
                    m.mtime(),
                    m.mtime_nsec()
                ),
            );
            if m.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every session in the log has exactly one `start` and one `end`; returns the ids.
fn one_start_one_end(ws: &Path) -> Vec<String> {
    let counts = start_end_counts(&log_lines(ws));
    for (id, c) in &counts {
        assert_eq!(*c, (1, 1), "session {id}\n{}", log_text(ws));
    }
    counts.into_keys().collect()
}

fn hostname() -> String {
    ctask_core::session::host::hostname()
}

// ---------------------------------------------------------------------------------------
// Item 1: a failed end is never retried; a planted write.lock cannot make the end fail.

#[test]
fn a_planted_write_lock_of_a_live_pid_delays_the_end_but_never_fails_it() {
    let t = Tenant::new();
    let ws = t.env.new_ws("Planted lock");
    // The agent plants a lock naming its parent (ctask itself, alive) on this host, dated
    // far in the future, and leaves it there.
    let script = r#"printf '{"pid":%s,"hostname":"%s","acquired_at":"2999-01-01T00:00:00Z"}' "$PPID" "$1" > .ctask/write.lock
echo work > work.txt"#;
    let host = hostname();
    let t0 = Instant::now();
    let out = t.session(&ws, script, &[&host]);
    out.ok();
    assert!(
        t0.elapsed() < Duration::from_secs(40),
        "end took {:?}",
        t0.elapsed()
    );
    let s = summary(&ws);
    assert_eq!(s["end_reason"], "child_exited", "{s}");
    assert_eq!(s["detected_via"], "child_exit", "{s}");
    assert_eq!(strings(&s["files_added"]), ["work.txt"]);
    assert_eq!(one_start_one_end(&ws).len(), 1);
    let ctask = ctask_dir(&ws);
    for gone in ["session.json", "manifest-start.json", "write.lock"] {
        assert!(!ctask.join(gone).exists(), "{gone} left behind");
    }
    t.canary_intact();
}

// ---------------------------------------------------------------------------------------
// Item 3: provisional cleanup removes a workspace only when nothing in it is new.

/// The workspaces under the sandbox's root (directories holding a `task.yaml`).
fn workspaces(t: &Tenant) -> Vec<PathBuf> {
    fn find(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) {
        if dir.join("task.yaml").exists() {
            out.push(dir.to_path_buf());
            return;
        }
        if depth == 0 {
            return;
        }
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                find(&e.path(), depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    find(&t.env.root(), 3, &mut out);
    out
}

/// `ctask new TITLE -a sh -- -c SCRIPT` (the workspace is provisional).
fn new_with_agent(t: &Tenant, title: &str, script: &str) -> Out {
    let out = t.env.run(&["new", title, "-a", "sh", "--", "-c", script]);
    no_panic(&out.stderr);
    out
}

/// The workspace a provisional `new` kept, with one session recorded in full.
fn kept_with_one_session(t: &Tenant) -> PathBuf {
    let ws = workspaces(t);
    assert_eq!(ws.len(), 1, "the provisional workspace was removed");
    let ws = ws.into_iter().next().expect("one");
    assert_eq!(one_start_one_end(&ws).len(), 1);
    let s = summary(&ws);
    assert_eq!(s["exit_code"], 1, "{s}");
    ws
}

#[test]
fn provisional_cleanup_keeps_a_file_whose_name_is_not_utf8() {
    let t = Tenant::new();
    let out = new_with_agent(
        &t,
        "Provis bytes",
        r#"printf data > "$(printf 'report-caf\351.txt')"; exit 1"#,
    );
    out.code_is(1);
    let ws = kept_with_one_session(&t);
    let name = std::ffi::OsStr::from_bytes(b"report-caf\xe9.txt");
    assert_eq!(fs::read(ws.join(name)).expect("the file survives"), b"data");
    t.canary_intact();
}

#[test]
fn provisional_cleanup_keeps_ignored_files_and_git() {
    let t = Tenant::new();
    // A seed gives every new workspace a .gitignore.
    let seed = t.env.scratch("seed");
    fs::create_dir_all(&seed).expect("seed");
    fs::write(seed.join(".gitignore"), ".env\nbuild/\n").expect("seed file");
    let cfg = t.env.config_home().join("ctask");
    fs::create_dir_all(&cfg).expect("config dir");
    fs::write(
        cfg.join("config.yaml"),
        format!("seed_dir: {}\n", path_str(&seed)),
    )
    .expect("config");
    let out = new_with_agent(
        &t,
        "Provis ignored",
        "echo SECRET=1 > .env; mkdir -p build .git; echo bin > build/out; \
         echo 'ref: x' > .git/HEAD; exit 1",
    );
    out.code_is(1);
    let ws = kept_with_one_session(&t);
    for f in [".env", "build/out", ".git/HEAD"] {
        assert!(ws.join(f).is_file(), "{f} was lost");
    }
    t.canary_intact();
}

#[test]
fn provisional_cleanup_still_removes_an_untouched_failed_workspace() {
    let t = Tenant::new();
    let out = new_with_agent(&t, "Provis empty", "exit 1");
    out.code_is(1);
    assert_eq!(workspaces(&t), Vec::<PathBuf>::new());
    t.canary_intact();
}

// ---------------------------------------------------------------------------------------
// Item 4: `.ctask/` and `logs/` reached only through the descriptors opened at begin.

/// (start, end) lines of each session in the log file `log`.
fn pairs_in(log: &Path) -> Vec<(u32, u32)> {
    let text = fs::read_to_string(log).unwrap_or_default();
    let mut m: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for l in text.lines() {
        let e = ctask_core::session::log::parse_line(l).expect("well-formed line");
        let Some(id) = e.get("id").map(str::to_owned) else {
            continue;
        };
        match e.event.as_str() {
            "start" => m.entry(id).or_default().0 += 1,
            "end" => m.entry(id).or_default().1 += 1,
            _ => {}
        }
    }
    m.into_values().collect()
}

fn moved_warning(out: &Out, what: &str) {
    assert!(
        out.stderr.contains(what) && out.stderr.contains("was moved or replaced"),
        "no warning about {what}: {}",
        out.stderr
    );
}

#[test]
fn a_ctask_dir_swapped_for_a_symlink_is_reported_and_never_written_through() {
    let t = Tenant::new();
    let ws = t.env.new_ws("Swap ctask");
    let out = t.session(
        &ws,
        r#"mv .ctask .ctask-moved && ln -s "$1" .ctask && echo x > x.txt"#,
        &[path_str(&t.canary)],
    );
    out.ok();
    moved_warning(&out, ".ctask");
    t.canary_intact();
    // ctask's files went to the directory it opened at begin.
    let moved = ws.join(".ctask-moved");
    let s: Value = serde_json::from_slice(
        &fs::read(moved.join("last-session-summary.json")).expect("summary"),
    )
    .expect("summary JSON");
    assert_eq!(s["end_reason"], "child_exited");
    assert!(
        strings(&s["files_added"]).contains(&"x.txt".to_owned()),
        "{s}"
    );
    assert!(!moved.join("session.json").exists());
    assert!(!moved.join("manifest-start.json").exists());
    assert_eq!(one_start_one_end(&ws).len(), 1);
}

#[test]
fn a_ctask_dir_replaced_by_a_file_is_reported() {
    let t = Tenant::new();
    let ws = t.env.new_ws("File ctask");
    let out = t.session(&ws, "mv .ctask .ctask-moved && echo no > .ctask", &[]);
    out.ok();
    moved_warning(&out, ".ctask");
    assert_eq!(fs::read_to_string(ws.join(".ctask")).expect("file"), "no\n");
    assert!(ws.join(".ctask-moved/last-session-summary.json").is_file());
    assert_eq!(one_start_one_end(&ws).len(), 1);
    t.canary_intact();
}

#[test]
fn a_logs_dir_swapped_for_a_symlink_is_reported_and_never_written_through() {
    let t = Tenant::new();
    let ws = t.env.new_ws("Swap logs");
    let out = t.session(
        &ws,
        r#"mv logs logs-moved && ln -s "$1" logs && echo x > x.txt"#,
        &[path_str(&t.canary)],
    );
    out.ok();
    moved_warning(&out, "logs");
    t.canary_intact();
    assert_eq!(pairs_in(&ws.join("logs-moved/sessions.log")), [(1, 1)]);
    let s = summary(&ws);
    assert_eq!(s["end_reason"], "child_exited", "{s}");
}
