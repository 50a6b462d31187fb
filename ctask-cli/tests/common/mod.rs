//! Helpers shared by the integration tests: the isolated environment ([`env`]), finished
//! and background processes ([`proc`]), the environment of the reliability tests (crash
//! injection, stress, hostile workspaces), and readers for `.ctask/` and `logs/sessions.log`.
//!
//! Each test file is its own crate and uses only some of these, hence `allow(dead_code)`.
#![allow(dead_code)]

pub mod env;
pub mod faces;
pub mod proc;
pub mod store;

use std::collections::BTreeMap;
use std::fs;
use std::ops::Deref;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use env::*;
pub use proc::*;
use serde_json::Value;

/// An environment variable as a number, or `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A private root, home, config home and scratch directory.
pub struct Env {
    sandbox: Sandbox,
}

impl Deref for Env {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            sandbox: Sandbox::with_dirs(&["scratch"]),
        }
    }

    /// `ctask ARGS` with a clean `CTASK_*` environment and stdin not a terminal.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = ctask_cmd(self);
        cmd.env_remove("RUST_BACKTRACE").args(args);
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

/// `ctask` isolated in `sandbox` (which has `scratch/`): `NO_COLOR=1`, run in `scratch/`,
/// stdin not a terminal.
pub fn ctask_cmd(sandbox: &Sandbox) -> Command {
    let mut cmd = Command::new(bin());
    sandbox.isolate(&mut cmd);
    cmd.env("NO_COLOR", "1")
        .current_dir(sandbox.scratch_dir())
        .stdin(Stdio::null());
    cmd
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

pub fn ctask_dir(ws: &Path) -> PathBuf {
    ws.join(".ctask")
}

/// `.ctask/last-session-summary.json`, which must exist and parse.
pub fn summary(ws: &Path) -> Value {
    let p = ctask_dir(ws).join("last-session-summary.json");
    let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("summary JSON")
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

/// Every file and directory under `dir` (recursively), files with their bytes: the exact
/// state of a directory such as `.ctask/`, to compare before and after.
pub fn dir_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).expect("stat");
            if m.is_dir() {
                stack.push(p.clone());
                out.insert(p, b"<dir>".to_vec());
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
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

/// Reads every JSON file of `.ctask/` once, and the binary start manifest and index;
/// returns the number read, or the first one that exists but does not parse.
pub fn check_json_files(ws: &Path) -> Result<u32, String> {
    let mut n = 0;
    for name in ["session.json", "last-session-summary.json", "write.lock"] {
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
    let start = ctask_dir(ws).join("manifest-start.bin");
    match ctask_core::session::manifest::read_manifest(&start) {
        Ok(Some(_)) => n += 1,
        Ok(None) => {}
        Err(e) => return Err(format!("manifest-start.bin: {e}")),
    }
    match ctask_core::session::index::read(&ctask_dir(ws)) {
        Ok(ctask_core::session::index::IndexFile::Present(_)) => n += 1,
        Ok(ctask_core::session::index::IndexFile::Absent) => {}
        Ok(ctask_core::session::index::IndexFile::Unusable(d)) => {
            return Err(format!("index: {d}"));
        }
        Err(e) => return Err(format!("index: {e}")),
    }
    Ok(n)
}

/// Prints a figure line that `make stress` collects.
pub fn figure(name: &str, value: impl std::fmt::Display) {
    // On a line of its own even when libtest has just printed `test name ... `.
    println!("\nFIGURE {name}: {value}");
}

/// The SHA-256 of `bytes` in hex, from `sha256sum` (an implementation other than ctask's).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut c = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let o = c.wait_with_output().expect("sha256sum output");
    String::from_utf8_lossy(&o.stdout)[..64].to_owned()
}
