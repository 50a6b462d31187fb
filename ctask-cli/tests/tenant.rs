//! The agent is a tenant, not a friend (DESIGN §6): agents that do odd but legal things
//! inside their workspace — plant `write.lock` or lease files, swap `.ctask/` and `logs/`
//! for symlinks, write names ctask's manifest cannot see — run through the built binary.
//! Each test checks that the workspace, the log (one `start` and one `end` per session)
//! and the summary are what the rules say, that a canary directory outside the workspace
//! is unchanged, and that ctask did not panic.

mod common;

use std::collections::BTreeMap;
use std::fs;
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
