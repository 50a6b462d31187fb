//! The agent is a tenant, not a friend (docs/design.md §6): agents that do odd but legal things
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
    for gone in ["session.json", "manifest-start.bin", "write.lock"] {
        assert!(!ctask.join(gone).exists(), "{gone} left behind");
    }
    t.canary_intact();
}

#[test]
fn a_lock_planted_for_another_host_and_removed_later_does_not_fail_the_end() {
    let t = Tenant::new();
    let ws = t.env.new_ws("Foreign lock");
    // The agent plants a fresh lock naming another host, has it removed 3 s later by a
    // process it leaves behind, and exits 0 at once.
    let script = r#"printf '{"pid":1,"hostname":"elsewhere","acquired_at":"%s"}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > .ctask/write.lock
(sleep 3; rm -f .ctask/write.lock) >/dev/null 2>&1 &
echo work > work.txt"#;
    let out = t.session(&ws, script, &[]);
    out.ok();
    let s = summary(&ws);
    assert_eq!(s["end_reason"], "child_exited", "{s}");
    assert_eq!(strings(&s["files_added"]), ["work.txt"]);
    assert_eq!(one_start_one_end(&ws).len(), 1);
    assert!(!ctask_dir(&ws).join("session.json").exists());
    // The next session is ordinary.
    t.session(&ws, "true", &[]).ok();
    assert_eq!(one_start_one_end(&ws).len(), 2);
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
    assert!(!moved.join("manifest-start.bin").exists());
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

// ---------------------------------------------------------------------------------------
// Item 10: files an agent can write are read with bounds.

/// The largest resident set of any child this test process has waited for, in KiB.
fn children_max_rss_kib() -> i64 {
    // SAFETY: an all-zero rusage is a valid out-buffer for getrusage.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: u is writable.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) }, 0);
    u.ru_maxrss
}

#[test]
fn a_huge_log_is_read_from_its_end_in_bounded_memory() {
    let t = Tenant::new();
    let ws = t.env.new_ws("Huge log");
    // The agent fills the log with 96 MiB of junk; the owner then dies (a dead lease whose
    // start line is the last one), so the next begin must search the log.
    let log = ws.join("logs/sessions.log");
    {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&log).expect("log");
        let block = "junk written by the agent, not an event line at all\n".repeat(20_000);
        let mut written = 0;
        while written < 96 << 20 {
            f.write_all(block.as_bytes()).expect("junk");
            written += block.len();
        }
    }
    let host = hostname();
    let pid = dead_pid();
    let id = format!("{host}-{pid}-20260101T000000Z-dead");
    let mut f = fs::OpenOptions::new().append(true).open(&log).expect("log");
    std::io::Write::write_all(
        &mut f,
        format!(
            "2026-01-01T00:00:00Z start id={id} agent=sh mode=direct pid={pid} host={host} user=u\n"
        )
        .as_bytes(),
    )
    .expect("start line");
    let lease = serde_json::json!({
        "session_id": id, "pid": pid, "hostname": host, "agent": "sh", "mode": "direct",
        "started_at": "2026-01-01T00:00:00Z", "heartbeat_at": "2026-01-01T00:00:30Z",
        "lock": "session.lock",
    });
    fs::write(ctask_dir(&ws).join("session.json"), lease.to_string()).expect("lease");
    let out = t.session(&ws, "true", &[]);
    out.ok();
    let rss = children_max_rss_kib();
    assert!(
        rss < 64 * 1024,
        "a child used {rss} KiB reading a 96 MiB log"
    );
    figure("tenant.huge_log.max_rss_kib", rss);
    // The dead session was closed once, the new one recorded.
    let counts = start_end_counts(&log_lines_lenient(&ws));
    assert_eq!(counts.get(&id), Some(&(1, 1)), "{counts:?}");
    assert_eq!(counts.len(), 2, "{counts:?}");
    t.canary_intact();
}

/// The log's well-formed lines (the agent's junk skipped).
fn log_lines_lenient(ws: &Path) -> Vec<Line> {
    let text = fs::read(ws.join("logs/sessions.log")).expect("log");
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(ctask_core::session::log::parse_line)
        .map(|e| Line {
            event: e.event,
            fields: e.fields.into_iter().collect(),
        })
        .collect()
}

#[test]
fn a_fifo_or_a_huge_file_as_session_json_never_hangs_or_floods_memory() {
    let t = Tenant::new();
    for (i, plant) in [
        "rm -f .ctask/session.json && mkfifo .ctask/session.json",
        "head -c 20000000 /dev/zero | tr '\\0' x > .ctask/session.json",
    ]
    .into_iter()
    .enumerate()
    {
        let ws = t.env.new_ws(&format!("Planted lease {i}"));
        let t0 = Instant::now();
        let out = t.session(&ws, &format!("{plant}; echo w > w.txt"), &[]);
        out.ok();
        assert!(t0.elapsed() < Duration::from_secs(30), "case {i} hung");
        assert_eq!(strings(&summary(&ws)["files_added"]), ["w.txt"]);
        // The next begin reclaims the planted file with a warning naming it.
        let next = t.session(&ws, "true", &[]);
        next.ok();
        assert!(
            next.stderr.contains("session.json"),
            "case {i}: {}",
            next.stderr
        );
        assert_eq!(one_start_one_end(&ws).len(), 2);
        assert!(!ctask_dir(&ws).join("session.json").exists());
    }
    t.canary_intact();
}
