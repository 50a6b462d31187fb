//! Capture: exclusions, ignore files, symlinks, special files, odd names.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use ctask_core::session::manifest::{CaptureOptions, Kind, Manifest, capture};

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(p, content).unwrap();
}

fn paths(m: &Manifest) -> Vec<&str> {
    m.entries.iter().map(|e| e.path.as_str()).collect()
}

fn opts(respect_ignore: bool) -> CaptureOptions {
    CaptureOptions { respect_ignore }
}

#[test]
fn fixed_exclusions_and_sorting() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    for rel in [
        ".ctask/session.json",
        "task.yaml",
        "logs/sessions.log",
        "logs/other.log",
        ".git/HEAD",
        "vendor/lib/.git/config",
        "sub/task.yaml",
        "a.txt",
        "a/b",
        ".hidden",
    ] {
        write(r, rel, rel);
    }
    let c = capture(r, &opts(false), None).unwrap();
    assert_eq!(
        paths(&c.manifest),
        [".hidden", "a.txt", "a/b", "logs/other.log", "sub/task.yaml"]
    );
    assert_eq!(c.hashed_files, 5);
    assert_eq!(c.cached_files, 0);
    let e = &c.manifest.entries[1];
    assert_eq!(e.kind, Kind::File);
    assert_eq!(e.size, 5);
    assert!(e.sha256.is_some() && e.ino.is_some() && e.ctime.is_some());
}

#[test]
fn ignore_files_are_honoured_unless_opted_out() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, ".gitignore", "node_modules/\n*.o\n");
    write(r, ".ctaskignore", "scratch.txt\n");
    write(r, "src/.gitignore", "gen.rs\n");
    for rel in [
        "node_modules/x/index.js",
        "main.o",
        "scratch.txt",
        "src/gen.rs",
        "src/lib.rs",
        "keep.c",
    ] {
        write(r, rel, "x");
    }
    let c = capture(r, &opts(true), None).unwrap();
    assert_eq!(
        paths(&c.manifest),
        [
            ".ctaskignore",
            ".gitignore",
            "keep.c",
            "src/.gitignore",
            "src/lib.rs"
        ]
    );
    let all = capture(r, &opts(false), None).unwrap();
    assert_eq!(all.manifest.entries.len(), 9);

    // Filtering the full list through today's rules gives what the walker keeps.
    let mut filtered = all.manifest.clone();
    filtered.retain_included(r, &opts(true));
    assert_eq!(paths(&filtered), paths(&c.manifest));
}

#[test]
fn symlinks_are_recorded_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "real/file", "content");
    std::os::unix::fs::symlink("/", r.join("to_root")).unwrap();
    std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
    std::os::unix::fs::symlink("b", r.join("a")).unwrap();
    std::os::unix::fs::symlink("a", r.join("b")).unwrap();
    std::os::unix::fs::symlink("real", r.join("dirlink")).unwrap();
    let c = capture(r, &opts(true), None).unwrap();
    assert_eq!(
        paths(&c.manifest),
        ["a", "b", "dirlink", "loop", "real/file", "to_root"]
    );
    let root_link = c.manifest.get("to_root").unwrap();
    assert_eq!(root_link.kind, Kind::Symlink);
    assert_eq!(root_link.target.as_deref(), Some("/"));
    assert_eq!(root_link.sha256, None);
    assert_eq!(
        c.manifest.get("loop").unwrap().target.as_deref(),
        Some("loop")
    );
}

#[test]
fn fifo_is_recorded_as_other_without_hanging() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().to_path_buf();
    write(&r, "f", "x");
    let fifo = std::ffi::CString::new(r.join("pipe").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let (tx, rx) = mpsc::channel();
    let root = r.clone();
    std::thread::spawn(move || {
        let _ = tx.send(capture(&root, &CaptureOptions::default(), None));
    });
    let c = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("capture hung on a FIFO")
        .unwrap();
    let pipe = c.manifest.get("pipe").unwrap();
    assert_eq!(pipe.kind, Kind::Other);
    assert_eq!(pipe.sha256, None);
    assert_eq!(c.hashed_files, 1);
}

#[test]
fn non_utf8_names_are_skipped_and_counted() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "ok", "x");
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff");
    fs::write(r.join(bad), "x").unwrap();
    let bad_dir = r.join(std::ffi::OsStr::from_bytes(b"d\xfe"));
    fs::create_dir(&bad_dir).unwrap();
    fs::write(bad_dir.join("inner"), "x").unwrap();
    let c = capture(r, &opts(true), None).unwrap();
    assert_eq!(paths(&c.manifest), ["ok"]);
    assert_eq!(c.skipped_non_utf8, 2);
}

/// Environment variable that marks the unprivileged re-run of a test.
const UNPRIVILEGED: &str = "CTASK_TEST_UNPRIVILEGED";

/// Runs the test named `name` again in a child process as user `nobody` when this process
/// is root (root reads every file). Returns whether the caller should stop (the child did
/// the test, or it could not run and that was reported as a skip).
fn rerun_unprivileged(name: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || std::env::var_os(UNPRIVILEGED).is_some() {
        return false;
    }
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(UNPRIVILEGED, "1")
        .env("TMPDIR", "/tmp")
        .uid(65534)
        .gid(65534)
        .output();
    match out {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "unprivileged run failed:\n{text}{}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(text.contains("1 passed"), "{text}");
        }
        Err(e) => eprintln!("skipped: cannot run unprivileged ({e})"),
    }
    true
}

#[test]
fn unreadable_file_and_directory_do_not_fail_the_capture() {
    if rerun_unprivileged("unreadable_file_and_directory_do_not_fail_the_capture") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "secret", "x");
    write(r, "open", "y");
    write(r, "closed/inner", "z");
    fs::set_permissions(r.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(r.join("closed"), fs::Permissions::from_mode(0o000)).unwrap();
    let c = capture(r, &opts(true), None).unwrap();
    assert_eq!(paths(&c.manifest), ["open", "secret"]);
    let e = c.manifest.get("secret").unwrap();
    assert_eq!((e.kind, e.sha256, e.size), (Kind::File, None, 1));
    assert!(!c.manifest.is_foreign());
    assert_eq!(c.unreadable, 2);
    assert_eq!(c.hashed_files, 1);
    fs::set_permissions(r.join("closed"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(r, fs::Permissions::from_mode(0o000)).unwrap();
    assert!(capture(r, &opts(true), None).is_err());
    fs::set_permissions(r, fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn unreadable_or_missing_root_fails() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope");
    assert!(capture(&missing, &opts(true), None).is_err());
}

#[test]
fn root_reached_through_a_symlink_is_walked() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "ws/a", "x");
    let link = d.path().join("link");
    std::os::unix::fs::symlink(d.path().join("ws"), &link).unwrap();
    let c = capture(&link, &opts(true), None).unwrap();
    assert_eq!(paths(&c.manifest), ["a"]);
}

#[test]
fn root_named_like_an_excluded_name_is_walked() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join(".git");
    write(&root, "x", "x");
    write(&root, "logs/sessions.log", "x");
    let c = capture(&root, &opts(true), None).unwrap();
    assert_eq!(paths(&c.manifest), ["x"]);
}
