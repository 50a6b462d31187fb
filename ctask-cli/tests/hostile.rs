//! Hostile workspaces through the built binary: special files, unreadable files, symlink
//! loops and links to `/`, a directory swapped for a symlink while ctask walks, odd names,
//! paths beyond PATH_MAX, read-only and full file systems, and `.ctask` or the log replaced
//! by symlinks. Each case ends with a clear error or a correct manifest entry — never a hang
//! (every run has a deadline), a panic, or a write outside the workspace.
//!
//! Cases that need root (a device node, a tmpfs) or an unprivileged user (permission checks
//! do not apply to root) adapt; one that cannot run here prints `SKIPPED <case>: <why>`.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use serde_json::Value;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn skip(case: &str, why: &str) {
    println!("\nSKIPPED {case}: {why}");
    figure("hostile.skipped", case);
}

fn entry<'a>(s: &'a Value, path: &str) -> Option<&'a Value> {
    s["end_manifest"]
        .as_array()
        .expect("end_manifest")
        .iter()
        .find(|e| e["path"] == path)
}

fn session(env: &Env, ws: &Path, script: &str) -> Out {
    session_with(env, ws, script, &[])
}

/// A session whose agent is `sh -c SCRIPT sh ARGS…`.
fn session_with(env: &Env, ws: &Path, script: &str, args: &[&str]) -> Out {
    let out = env.run(&sh_args(ws, &[], script, args));
    no_panic(&out.stderr);
    out
}

/// What a failed begin must leave as it was: the previous summary and the log.
struct Before {
    summary: Option<Vec<u8>>,
    log: String,
}

impl Before {
    fn take(ws: &Path) -> Before {
        Before {
            summary: fs::read(ctask_dir(ws).join("last-session-summary.json")).ok(),
            log: log_text(ws),
        }
    }

    /// After a failed session: when the agent never ran (`ran` absent), begin failed and
    /// must have changed nothing (docs/reliability.md, guarantee 7). Whether begin failed.
    fn check_failed(&self, ws: &Path, ran: &Path, label: &str) -> bool {
        if ran.exists() {
            return false;
        }
        let summary = fs::read(ctask_dir(ws).join("last-session-summary.json")).ok();
        assert!(
            summary == self.summary,
            "{label}: a failed begin changed the previous summary"
        );
        assert_eq!(
            log_text(ws),
            self.log,
            "{label}: a failed begin changed the log"
        );
        for gone in ["session.json", "manifest-start.bin", "write.lock"] {
            assert!(
                !ctask_dir(ws).join(gone).exists(),
                "{label}: a failed begin left {gone}"
            );
        }
        true
    }
}

/// The agent of the full-disk and size-limit sessions: notes that it ran (outside the
/// workspace, in `$1`), then tries to grow a file.
const GROW: &str = r#"touch "$1"; echo x >> grow.txt || true"#;

/// Every JSON file in `.ctask` parses, no temp file is left, and the log is well formed.
fn consistent(ws: &Path) {
    check_json_files(ws).expect("torn JSON");
    assert_eq!(temp_files(ws), Vec::<String>::new());
    check_log_pairs(ws, false);
}

#[test]
fn fifo_socket_and_device_are_recorded_never_opened() {
    let env = Env::new();
    let ws = env.new_ws("Special");
    let fifo = ws.join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let _sock = std::os::unix::net::UnixListener::bind(ws.join("sock")).expect("socket");
    let dev = if is_root() {
        let c = std::ffi::CString::new(ws.join("null").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid path; a character device with /dev/null's numbers.
        let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        rc == 0
    } else {
        false
    };
    if !dev {
        skip("device node", "mknod needs root here");
    }
    // The agent adds another FIFO, so the end capture meets one too.
    let out = session(&env, &ws, "mkfifo pipe2");
    out.ok();
    let s = summary(&ws);
    for p in ["pipe", "pipe2", "sock"] {
        assert_eq!(entry(&s, p).expect(p)["kind"], "other", "{p}: {s}");
        assert!(entry(&s, p).unwrap().get("sha256").is_none());
    }
    if dev {
        assert_eq!(entry(&s, "null").expect("device")["kind"], "other");
    }
    consistent(&ws);
}

#[test]
fn symlink_loops_and_links_to_root_are_entries_not_walks() {
    let env = Env::new();
    let ws = env.new_ws("Links");
    let s = std::os::unix::fs::symlink;
    s("b", ws.join("a")).unwrap();
    s("a", ws.join("b")).unwrap();
    s(".", ws.join("self")).unwrap();
    s("/", ws.join("root")).unwrap();
    s("/nonexistent/x", ws.join("dangling")).unwrap();
    let out = session(&env, &ws, "ln -s / root2");
    out.ok();
    let sm = summary(&ws);
    for (p, t) in [
        ("a", "b"),
        ("b", "a"),
        ("self", "."),
        ("root", "/"),
        ("root2", "/"),
        ("dangling", "/nonexistent/x"),
    ] {
        let e = entry(&sm, p).unwrap_or_else(|| panic!("{p}: {sm}"));
        assert_eq!(
            (e["kind"].as_str(), e["target"].as_str()),
            (Some("symlink"), Some(t))
        );
    }
    let n = sm["end_manifest"].as_array().unwrap().len();
    assert!(n < 50, "a link was followed: {n} entries");
    consistent(&ws);
}

/// A directory swapped for a symlink to a secret outside the workspace while ctask walks:
/// no hang, no panic, nothing outside changes, and the secret is never read (no entry
/// carries its hash): the walker reaches every name relative to its directory's descriptor
/// without following a symlink in any component. `hostile.swap_reads_outside` stays 0.
/// A race only samples the window; `walk_swap.rs` makes the same swap deterministically in
/// both captures.
#[test]
fn a_directory_swapped_for_a_symlink_is_never_followed() {
    let env = Env::new();
    let ws = env.new_ws("Swap");
    let victim = env.scratch("victim");
    fs::create_dir(&victim).unwrap();
    let secret = b"the secret outside the workspace\n";
    for i in 0..20 {
        fs::write(victim.join(format!("f{i}")), secret).unwrap();
    }
    let d = ws.join("d");
    let parked = ws.join("d.real");
    fs::create_dir(&d).unwrap();
    for i in 0..20 {
        fs::write(d.join(format!("f{i}")), format!("inside {i}\n")).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let racer = {
        let (stop, d, parked, victim) =
            (Arc::clone(&stop), d.clone(), parked.clone(), victim.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Directory → symlink to the victim → directory again.
                if fs::rename(&d, &parked).is_ok() {
                    let _ = std::os::unix::fs::symlink(&victim, &d);
                    std::thread::yield_now();
                    let _ = fs::remove_file(&d);
                    let _ = fs::rename(&parked, &d);
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let runs = env_num("CTASK_HOSTILE_SWAP_RUNS", 10);
    let digest = sha256_hex(secret);
    let mut read_outside = 0;
    for _ in 0..runs {
        let out = session(&env, &ws, "true");
        assert!(matches!(out.code(), Some(0)), "{out:#?}");
        let text = fs::read_to_string(ctask_dir(&ws).join("last-session-summary.json")).unwrap();
        if text.contains(&digest) {
            read_outside += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    for i in 0..20 {
        assert_eq!(fs::read(victim.join(format!("f{i}"))).unwrap(), secret);
    }
    assert_eq!(fs::read_dir(&victim).unwrap().count(), 20);
    figure("hostile.swap_runs", runs);
    figure("hostile.swaps_during_runs", swaps);
    figure("hostile.swap_reads_outside", read_outside);
    assert_eq!(
        read_outside, 0,
        "{read_outside} of {runs} captures read the secret through the swapped symlink"
    );
    consistent(&ws);
}

#[test]
fn newlines_and_invalid_utf8_in_names() {
    let env = Env::new();
    let ws = env.new_ws("Names");
    fs::write(ws.join(OsStr::from_bytes(b"bad\xff.txt")), "x").unwrap();
    let out = session(
        &env,
        &ws,
        "printf x > \"$(printf 'new\\nline.txt')\"; printf y > 'q\"uote \\\\ .txt'",
    );
    out.ok();
    assert!(out.stderr.contains("not valid UTF-8"), "{out:#?}");
    let s = summary(&ws);
    let added: Vec<&str> = s["files_added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(added, ["new\nline.txt", "q\"uote \\\\ .txt"], "{s}");
    consistent(&ws);
    for args in [
        vec!["log", path_str(&ws), "--json"],
        vec!["status", path_str(&ws), "--json"],
        vec!["diff", path_str(&ws), "--json"],
    ] {
        let out = env.run(&args);
        out.ok();
        serde_json::from_str::<Value>(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
}

/// Creates `levels` nested directories of 200-byte names below `base` with `*at` calls, so
/// the tree can go deeper than PATH_MAX; puts a file at the bottom. Returns the depth in bytes.
fn deep_tree(base: &Path, levels: usize) -> usize {
    let name = std::ffi::CString::new("d".repeat(200)).unwrap();
    let file = std::ffi::CString::new("bottom.txt").unwrap();
    let c = std::ffi::CString::new(base.as_os_str().as_bytes()).unwrap();
    // SAFETY: plain *at calls on descriptors we open and close here.
    unsafe {
        let mut fd = libc::open(c.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
        assert!(fd >= 0);
        for _ in 0..levels {
            assert_eq!(libc::mkdirat(fd, name.as_ptr(), 0o755), 0);
            let next = libc::openat(fd, name.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
            assert!(next >= 0);
            libc::close(fd);
            fd = next;
        }
        let f = libc::openat(fd, file.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o644);
        assert!(f >= 0);
        libc::write(f, b"deep\n".as_ptr().cast(), 5);
        libc::close(f);
        libc::close(fd);
    }
    base.as_os_str().len() + levels * 201 + 11
}

#[test]
fn paths_near_and_beyond_path_max() {
    let env = Env::new();
    let ws = env.new_ws("Deep");
    let room = 4096 - ws.as_os_str().len() - 220;
    fs::create_dir(ws.join("near")).unwrap();
    let near = deep_tree(&ws.join("near"), room / 201);
    fs::create_dir(ws.join("beyond")).unwrap();
    let beyond = deep_tree(&ws.join("beyond"), 4096 / 201 + 3);
    assert!(near < 4096 && beyond > 4096, "{near} {beyond}");
    // The capture succeeds (docs/reliability.md): the walker reaches every name relative to
    // its directory, so depth is no limit; both bottom files are listed with their hash.
    let out = session(&env, &ws, "true");
    out.ok();
    let s = summary(&ws);
    let files: Vec<(&str, Option<&str>)> = s["end_manifest"]
        .as_array()
        .expect("end_manifest")
        .iter()
        .filter(|e| e["kind"] == "file")
        .filter_map(|e| Some((e["path"].as_str()?, e["sha256"].as_str())))
        .filter(|(p, _)| p.starts_with("near/") || p.starts_with("beyond/"))
        .collect();
    let bottom = |top: &str, bytes: usize| {
        files
            .iter()
            .find(|(p, _)| p.starts_with(top) && p.ends_with("/bottom.txt"))
            .map(|(p, sha)| {
                // The listed path is the whole path below the workspace.
                assert_eq!(ws.as_os_str().len() + 1 + p.len(), bytes, "{p}");
                *sha
            })
    };
    let near_sha = bottom("near/", near).unwrap_or_else(|| panic!("near file not listed"));
    let beyond_sha =
        bottom("beyond/", beyond).unwrap_or_else(|| panic!("file beyond PATH_MAX not listed"));
    assert_eq!(files.len(), 2, "{files:?}");
    let deep = sha256_hex(b"deep\n");
    assert_eq!(near_sha, Some(deep.as_str()), "near file's hash");
    assert_eq!(beyond_sha, Some(deep.as_str()), "beyond file's hash");
    figure("hostile.deep_files_listed", files.len());
    figure("hostile.deep_path_bytes", beyond);
    consistent(&ws);
}

/// Runs `f` with the whole environment owned by `nobody`, and ctask started through
/// `setpriv` as that user; `None` when that is impossible here.
fn as_nobody(env: &Env, args: &[&str]) -> Option<Out> {
    if !is_root() {
        return Some(env.run(args));
    }
    let st = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(env.dir.path())
        .status()
        .ok()?;
    if !st.success() {
        return None;
    }
    let plain = env.cmd(args);
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(plain.get_program())
        .args(plain.get_args())
        .current_dir(plain.get_current_dir().unwrap());
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.stdin(std::process::Stdio::null());
    Some(env.run_cmd(cmd))
}

#[test]
fn an_unreadable_file_is_listed_without_a_hash() {
    let env = Env::new();
    let ws = env.new_ws("Unreadable");
    fs::write(ws.join("secret"), "x").unwrap();
    fs::set_permissions(ws.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    let Some(out) = as_nobody(&env, &sh_args(&ws, &[], "true", &[])) else {
        skip(
            "unreadable file",
            "cannot run ctask as an unprivileged user",
        );
        return;
    };
    out.ok();
    let s = summary(&ws);
    let e = entry(&s, "secret").expect("listed");
    assert!(e.get("sha256").is_none(), "{e}");
    let out = as_nobody(&env, &sh_args(&ws, &[], "true", &[])).unwrap();
    out.ok();
    assert_eq!(summary(&ws)["files_modified"], serde_json::json!([]));
    consistent(&ws);
}

/// Read-only places: the whole workspace, `.ctask/` only, `logs/` only. Begin fails with a
/// clear error naming the path and leaves everything as it was.
#[test]
fn read_only_workspaces_fail_cleanly() {
    for (case, dirs) in [
        ("workspace", &["", ".ctask", "logs"][..]),
        (".ctask", &[".ctask"][..]),
        ("logs/sessions.log", &["logs/sessions.log"][..]),
    ] {
        let env = Env::new();
        let ws = env.new_ws("Readonly");
        session(&env, &ws, "true").ok();
        let before_ctask: Vec<_> = fs::read_dir(ctask_dir(&ws))
            .unwrap()
            .flatten()
            .map(|e| (e.file_name(), fs::read(e.path()).unwrap()))
            .collect();
        let before_log = log_text(&ws);
        let before = tree_snapshot(&ws);
        for d in dirs {
            fs::set_permissions(
                ws.join(d),
                fs::Permissions::from_mode(if ws.join(d).is_dir() { 0o555 } else { 0o444 }),
            )
            .unwrap();
        }
        let Some(out) = as_nobody(&env, &sh_args(&ws, &[], "echo x > new.txt", &[])) else {
            skip(
                "read-only workspace",
                "cannot run ctask as an unprivileged user",
            );
            return;
        };
        assert_ne!(out.code(), Some(0), "{case}: {out:#?}");
        no_panic(&out.stderr);
        assert!(
            out.stderr.contains("error")
                && (out.stderr.contains("ermission") || out.stderr.contains("ead-only")),
            "{case}: unclear error: {out:#?}"
        );
        for d in dirs {
            fs::set_permissions(ws.join(d), fs::Permissions::from_mode(0o755)).unwrap();
        }
        let after_ctask: Vec<_> = fs::read_dir(ctask_dir(&ws))
            .unwrap()
            .flatten()
            .map(|e| (e.file_name(), fs::read(e.path()).unwrap()))
            .collect();
        assert_eq!(after_ctask, before_ctask, "{case}: .ctask changed");
        assert_eq!(log_text(&ws), before_log, "{case}: log changed");
        assert_eq!(tree_snapshot(&ws), before, "{case}: tree changed");
        figure("hostile.read_only_case", case);
    }
}

/// A small tmpfs as the root; removed (lazily) when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(at: &Path, size: &str) -> Option<SmallFs> {
        fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallFs(at.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `dir` but `leave` bytes (roughly), with `name`.
fn fill(dir: &Path, name: &str, leave: u64) {
    let p = dir.join(name);
    let _ = fs::remove_file(&p);
    // SAFETY: statvfs on a valid path into a zeroed struct.
    let free = unsafe {
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mut st: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c.as_ptr(), &mut st), 0);
        st.f_bavail * st.f_frsize
    };
    let n = free.saturating_sub(leave) as usize;
    let mut f = fs::File::create(&p).unwrap();
    use std::io::Write;
    let chunk = vec![0u8; 4096];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        if f.write_all(&chunk[..k]).is_err() {
            break;
        }
        left -= k;
    }
}

/// A full disk at every fill level: each session ends well or fails with a clear error;
/// no JSON is ever torn, no temp file stays, and once space is back the next begin closes
/// whatever was left open.
#[test]
fn a_full_disk_is_a_clear_error_and_never_corrupts() {
    if !is_root() {
        skip("full disk", "mounting a small tmpfs needs root");
        return;
    }
    let env = Env::new();
    let Some(_fs) = SmallFs::mount(&env.root(), "2m") else {
        skip("full disk", "mount -t tmpfs is not permitted here");
        return;
    };
    let ws = env.new_ws("Full");
    for i in 0..30 {
        fs::write(
            ws.join(format!("file-{i}.txt")),
            "some content\n".repeat(20),
        )
        .unwrap();
    }
    session(&env, &ws, "true").ok();
    let (mut failed, mut failed_in_begin, mut ok) = (0, 0, 0);
    for leave in [
        0u64, 512, 2048, 4096, 8192, 12288, 16384, 24576, 32768, 65536,
    ] {
        fill(&ws, "filler.bin", leave);
        let before = Before::take(&ws);
        let ran = env.scratch(&format!("ran-full-{leave}"));
        let out = env.run(&sh_args(&ws, &[], GROW, &[path_str(&ran)]));
        no_panic(&out.stderr);
        match out.code() {
            Some(0) => ok += 1,
            _ => {
                failed += 1;
                assert!(out.stderr.contains("error"), "unclear error: {out:#?}");
                assert!(out.stderr.contains("No space left on device"), "{out:#?}");
                if before.check_failed(&ws, &ran, &format!("leave={leave}")) {
                    failed_in_begin += 1;
                }
            }
        }
        check_json_files(&ws).expect("torn JSON on a full disk");
        assert_eq!(temp_files(&ws), Vec::<String>::new(), "leave={leave}");
        let _ = fs::remove_file(ws.join("filler.bin"));
        // With space back, the next begin succeeds and closes anything left open.
        session(&env, &ws, "true").ok();
        check_log_pairs(&ws, true);
        consistent(&ws);
    }
    figure("hostile.full_disk_failed_cleanly", failed);
    figure("hostile.full_disk_failed_in_begin", failed_in_begin);
    figure("hostile.full_disk_succeeded", ok);
    // The fill levels must exercise both outcomes, and a failing begin.
    assert!(
        failed_in_begin > 0 && ok > 0,
        "{failed} failed, {ok} succeeded"
    );
}

#[test]
fn symlinked_ctask_and_log_are_refused() {
    let env = Env::new();
    let victim = env.scratch("victim");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("file"), "keep").unwrap();
    let ws = env.new_ws("Linked");
    session(&env, &ws, "true").ok();
    let victim_before = tree_snapshot(&victim);

    // .ctask → a directory outside.
    fs::rename(ctask_dir(&ws), ws.join("ctask.real")).unwrap();
    std::os::unix::fs::symlink(&victim, ctask_dir(&ws)).unwrap();
    let out = session(&env, &ws, "true");
    assert_ne!(out.code(), Some(0));
    assert!(out.stderr.contains("symbolic link"), "{out:#?}");
    fs::remove_file(ctask_dir(&ws)).unwrap();
    fs::rename(ws.join("ctask.real"), ctask_dir(&ws)).unwrap();

    // logs/sessions.log → a file outside.
    let log = ws.join("logs/sessions.log");
    fs::rename(&log, ws.join("sessions.real")).unwrap();
    std::os::unix::fs::symlink(victim.join("file"), &log).unwrap();
    let lease_before: Vec<_> = fs::read_dir(ctask_dir(&ws))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let out = session(&env, &ws, "echo x > new.txt");
    assert_ne!(out.code(), Some(0));
    assert!(out.stderr.contains("symbolic link"), "{out:#?}");
    assert!(!ws.join("new.txt").exists(), "the agent ran without a log");
    let lease_after: Vec<_> = fs::read_dir(ctask_dir(&ws))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(lease_after, lease_before, "a refused begin left files");
    fs::remove_file(&log).unwrap();

    // logs/ → a directory outside.
    fs::rename(ws.join("logs"), ws.join("logs.real")).unwrap();
    std::os::unix::fs::symlink(&victim, ws.join("logs")).unwrap();
    let out = session(&env, &ws, "true");
    assert_ne!(out.code(), Some(0));
    assert!(out.stderr.contains("symbolic link"), "{out:#?}");
    fs::remove_file(ws.join("logs")).unwrap();
    fs::rename(ws.join("logs.real"), ws.join("logs")).unwrap();
    fs::rename(ws.join("sessions.real"), &log).unwrap();

    assert_eq!(
        tree_snapshot(&victim),
        victim_before,
        "something was written outside"
    );
    session(&env, &ws, "true").ok();
    consistent(&ws);
    check_log_pairs(&ws, true);
}

/// FIFOs are never opened by either capture. Each FIFO has a writer blocked in `open` that,
/// once a reader opens the FIFO (even without blocking), writes and leaves a marker outside
/// the workspace; and one FIFO has no writer at all, so that a blocking open would hang the
/// session past its deadline.
#[test]
fn fifos_are_never_opened_by_either_capture() {
    let env = Env::new();
    let ws = env.new_ws("Fifo");
    let mkfifo = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).expect("path");
        // SAFETY: valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    };
    // Seen by the begin capture: one with a waiting writer, one alone.
    mkfifo(&ws.join("pre"));
    mkfifo(&ws.join("lonely"));
    let pre_opened = env.scratch("opened-pre");
    let mut writer = Command::new("sh");
    writer
        .args(["-c", r#"echo x > "$1" && touch "$2""#, "sh"])
        .arg(ws.join("pre"))
        .arg(&pre_opened);
    let _writer = Bg::spawn(writer);
    // Created by the agent, seen by the end capture, with its own waiting writer.
    let agent_opened = env.scratch("opened-agent");
    let out = session_with(
        &env,
        &ws,
        r#"mkfifo f; (echo x > f && touch "$1") & sleep 0.2"#,
        &[path_str(&agent_opened)],
    );
    out.ok();
    // A writer released by an open would have left its marker well within this.
    std::thread::sleep(std::time::Duration::from_millis(300));
    for (fifo, marker) in [("pre", &pre_opened), ("f", &agent_opened)] {
        assert!(!marker.exists(), "the capture opened the FIFO {fifo}");
    }
    let s = summary(&ws);
    for p in ["pre", "lonely", "f"] {
        assert_eq!(entry(&s, p).expect(p)["kind"], "other", "{p}: {s}");
    }
}

/// A file-size limit (`prlimit --fsize`) on the ctask process (at least 2000 bytes: its own
/// stderr file is limited too): every write past it fails with
/// a clear error (SIGXFSZ is ignored by the CLI), begin undoes what it wrote, nothing is torn.
#[test]
fn a_file_size_limit_is_a_clear_error() {
    let env = Env::new();
    let ws = env.new_ws("Fsize");
    // Enough files for the binary start manifest (about 60 bytes a file) to pass the
    // lower limits, so that some begins fail.
    for i in 0..100 {
        fs::write(
            ws.join(format!("f{i}.txt")),
            "0123456789abcdef\n".repeat(40),
        )
        .unwrap();
    }
    session(&env, &ws, "true").ok();
    let (mut failed, mut failed_in_begin, mut ok) = (0, 0, 0);
    for limit in [2000u64, 3000, 4500, 6000, 9000, 12000, 1 << 20] {
        let before = Before::take(&ws);
        let ran = env.scratch(&format!("ran-fsize-{limit}"));
        let plain = env.cmd(&sh_args(&ws, &[], GROW, &[path_str(&ran)]));
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--fsize={limit}"))
            .arg(plain.get_program())
            .args(plain.get_args())
            .current_dir(plain.get_current_dir().unwrap());
        for (k, v) in plain.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out = env.run_cmd(cmd);
        no_panic(&out.stderr);
        assert_eq!(
            out.signal(),
            None,
            "limit {limit}: killed by a signal: {out:#?}"
        );
        match out.code() {
            Some(0) => ok += 1,
            _ => {
                failed += 1;
                assert!(
                    out.stderr.contains("File too large"),
                    "limit {limit}: {out:#?}"
                );
                if before.check_failed(&ws, &ran, &format!("limit {limit}")) {
                    failed_in_begin += 1;
                }
            }
        }
        check_json_files(&ws).expect("torn JSON");
        assert_eq!(temp_files(&ws), Vec::<String>::new(), "limit {limit}");
        session(&env, &ws, "true").ok();
        check_log_pairs(&ws, true);
    }
    figure("hostile.fsize_failed_cleanly", failed);
    figure("hostile.fsize_failed_in_begin", failed_in_begin);
    figure("hostile.fsize_succeeded", ok);
    // The limits must exercise both outcomes, and a failing begin.
    assert!(
        failed_in_begin > 0 && ok > 0,
        "{failed} failed, {ok} succeeded"
    );
}
