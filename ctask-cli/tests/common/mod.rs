//! Helpers shared by the reliability tests (crash injection, stress, hostile workspaces):
//! an isolated environment, background `ctask` processes in their own process groups
//! (killed when dropped), and readers for `.ctask/` and `logs/sessions.log`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Generous bound for anything that merely has to happen eventually on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// An environment variable as a number, or `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A private root, home, config home and scratch directory.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["root", "home", "config", "scratch"] {
            fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        Env { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join("scratch").join(name)
    }

    /// `ctask ARGS` with a clean `CTASK_*` environment and stdin not a terminal.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctask"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("CTASK_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("CTASK_ROOT", self.root())
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE")
            .current_dir(self.dir.path().join("scratch"))
            .stdin(Stdio::null())
            .args(args);
        cmd
    }

    /// Runs a command to completion within [`PATIENCE`] (killing its group on timeout).
    pub fn run_cmd(&self, cmd: Command) -> Out {
        let mut bg = Bg::spawn(cmd);
        bg.wait_within(PATIENCE)
            .unwrap_or_else(|| panic!("ctask did not exit within {PATIENCE:?}"))
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_cmd(self.cmd(args))
    }

    /// Creates a workspace without launching anything; returns its path.
    pub fn new_ws(&self, title: &str) -> PathBuf {
        let out = self.run(&["new", title, "--no-launch"]);
        out.ok();
        PathBuf::from(out.stdout.trim_end())
    }
}

/// `resume WS [FLAGS] -a sh -- -c SCRIPT sh EXTRA…`
pub fn sh_args<'a>(
    ws: &'a Path,
    flags: &[&'a str],
    script: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut v = vec!["resume", path_str(ws)];
    v.extend_from_slice(flags);
    v.extend_from_slice(&["-a", "sh", "--", "-c", script, "sh"]);
    v.extend_from_slice(extra);
    v
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A finished process.
#[derive(Debug)]
pub struct Out {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    pub fn ok(&self) {
        self.code_is(0);
    }

    pub fn code_is(&self, code: i32) {
        assert_eq!(self.code(), Some(code), "unexpected exit: {self:#?}");
        no_panic(&self.stderr);
    }
}

pub fn no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "ctask panicked: {stderr}"
    );
}

/// A background process in its own process group; the whole group is killed on drop.
pub struct Bg {
    pub child: Child,
    out: tempfile::NamedTempFile,
    err: tempfile::NamedTempFile,
    status: Option<ExitStatus>,
}

impl Bg {
    pub fn spawn(mut cmd: Command) -> Bg {
        let out = tempfile::NamedTempFile::new().expect("stdout file");
        let err = tempfile::NamedTempFile::new().expect("stderr file");
        cmd.stdout(out.reopen().expect("reopen"))
            .stderr(err.reopen().expect("reopen"))
            .process_group(0);
        let child = cmd.spawn().expect("spawn");
        Bg {
            child,
            out,
            err,
            status: None,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    pub fn signal(&self, sig: libc::c_int) {
        if self.status.is_none() {
            // SAFETY: plain kill of a child this test started and has not reaped.
            unsafe {
                libc::kill(self.pid(), sig);
            }
        }
    }

    pub fn kill_group(&self) {
        // SAFETY: the group was created for this child (process_group(0)); killing it
        // after the leader was reaped can only hit its leftover members.
        unsafe {
            libc::kill(-self.pid(), libc::SIGKILL);
        }
    }

    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits up to `limit`; `None` when it is still running.
    pub fn wait_within(&mut self, limit: Duration) -> Option<Out> {
        let deadline = Instant::now() + limit;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(st) = self.try_status() {
                break st;
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        Some(Out {
            status,
            stdout: fs::read_to_string(self.out.path()).unwrap_or_default(),
            stderr: fs::read_to_string(self.err.path()).unwrap_or_default(),
        })
    }

    pub fn wait(&mut self) -> Out {
        match self.wait_within(PATIENCE) {
            Some(o) => o,
            None => panic!("process did not exit in time; stderr: {}", self.stderr()),
        }
    }

    /// Kills the group with SIGKILL and reaps the leader.
    pub fn kill9(&mut self) -> Out {
        self.signal(libc::SIGKILL);
        self.kill_group();
        self.wait()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.err.path()).unwrap_or_default()
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        self.kill_group();
        let _ = self.child.wait();
    }
}

pub fn wait_for(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn ctask_dir(ws: &Path) -> PathBuf {
    ws.join(".ctask")
}

/// One parsed log line: event and `key=value` fields (quoted values unescaped).
#[derive(Debug, Clone)]
pub struct Line {
    pub event: String,
    pub fields: BTreeMap<String, String>,
}

impl Line {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.fields.get(k).map(String::as_str)
    }
}

pub fn log_text(ws: &Path) -> String {
    fs::read_to_string(ws.join("logs/sessions.log")).unwrap_or_default()
}

/// Every line of the log, through the core's parser; panics on a malformed line.
pub fn log_lines(ws: &Path) -> Vec<Line> {
    log_text(ws)
        .lines()
        .map(|l| {
            let e = ctask_core::session::log::parse_line(l)
                .unwrap_or_else(|| panic!("malformed log line {l:?}"));
            Line {
                event: e.event,
                fields: e.fields.into_iter().collect(),
            }
        })
        .collect()
}

/// Counts of `start` and `end` lines per session id.
pub fn start_end_counts(lines: &[Line]) -> BTreeMap<String, (u32, u32)> {
    let mut m: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for l in lines {
        let Some(id) = l.get("id") else { continue };
        match l.event.as_str() {
            "start" => m.entry(id.to_owned()).or_default().0 += 1,
            "end" => m.entry(id.to_owned()).or_default().1 += 1,
            _ => {}
        }
    }
    m
}

/// Panics unless every session id has at most one `start` and one `end`, every `end` has
/// its `start`, and (when `closed`) every `start` its `end`.
pub fn check_log_pairs(ws: &Path, closed: bool) -> usize {
    let lines = log_lines(ws);
    let counts = start_end_counts(&lines);
    for (id, (s, e)) in &counts {
        let ok = if closed {
            (*s, *e) == (1, 1)
        } else {
            *s == 1 && *e <= 1
        };
        assert!(
            ok,
            "session {id}: {s} start and {e} end lines\n{}",
            log_text(ws)
        );
    }
    counts.len()
}

/// Every file of the tree except `.ctask/` and `logs/sessions.log`: path → (kind, size,
/// mtime ns, content hash for small files).
pub fn tree_snapshot(ws: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(ws, ws, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).expect("under root").to_path_buf();
        if rel == Path::new(".ctask") || rel == Path::new("logs/sessions.log") {
            continue;
        }
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        let content = if m.is_file() && m.len() < 65536 {
            fs::read(&p).map(|b| format!("{b:?}")).unwrap_or_default()
        } else {
            String::new()
        };
        out.insert(
            rel,
            format!(
                "{:o} {} {}.{} {}",
                m.mode(),
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                content
            ),
        );
        if m.is_dir() {
            walk(root, &p, out);
        }
    }
}

/// The names of temp files (`.ctask-tmp-*`) in `.ctask/`.
pub fn temp_files(ws: &Path) -> Vec<String> {
    fs::read_dir(ctask_dir(ws))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".ctask-tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads every JSON file of `.ctask/` once; returns the number read, or the first one that
/// exists but does not parse.
pub fn check_json_files(ws: &Path) -> Result<u32, String> {
    let mut n = 0;
    for name in [
        "session.json",
        "manifest-start.json",
        "last-session-summary.json",
        "write.lock",
    ] {
        let p = ctask_dir(ws).join(name);
        match fs::read(&p) {
            Ok(bytes) => {
                if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    return Err(format!("{name}: {e} ({} bytes)", bytes.len()));
                }
                n += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
    Ok(n)
}

/// Prints a figure line that `make stress` collects.
pub fn figure(name: &str, value: impl std::fmt::Display) {
    // On a line of its own even when libtest has just printed `test name ... `.
    println!("\nFIGURE {name}: {value}");
}
