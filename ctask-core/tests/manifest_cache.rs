//! The hash cache: taken over when provably unchanged, re-hashed otherwise.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ctask_core::session::diff::diff;
use ctask_core::session::manifest::{Capture, CaptureOptions, Manifest, capture};

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(p, content).unwrap();
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn mtime(p: &Path) -> SystemTime {
    fs::metadata(p).unwrap().modified().unwrap()
}

fn an_hour_ago() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}

/// Waits until files written so far are older than a capture's racy window.
fn let_settle() {
    std::thread::sleep(Duration::from_millis(2100));
}

fn cap(root: &Path, cache: Option<&Manifest>) -> Capture {
    capture(root, &CaptureOptions::default(), cache).unwrap()
}

/// A tree of `n` files with old mtimes, settled, and its first capture.
fn settled_tree(n: usize) -> (tempfile::TempDir, Capture) {
    let d = tempfile::tempdir().unwrap();
    for i in 0..n {
        let rel = format!("d{}/f{i}.txt", i % 7);
        write(d.path(), &rel, &format!("content {i}"));
        set_mtime(&d.path().join(rel), an_hour_ago());
    }
    let_settle();
    let first = cap(d.path(), None);
    (d, first)
}

#[test]
fn unchanged_files_are_taken_over() {
    let (d, first) = settled_tree(50);
    assert_eq!((first.hashed_files, first.cached_files), (50, 0));
    let warm = cap(d.path(), Some(&first.manifest));
    assert_eq!((warm.hashed_files, warm.cached_files), (0, 50));
    assert_eq!(warm.manifest.entries, first.manifest.entries);
}

#[test]
fn same_size_edit_within_the_same_second_is_detected() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a", "one");
    let first = cap(d.path(), None);
    write(d.path(), "a", "two");
    let second = cap(d.path(), Some(&first.manifest));
    assert_eq!(second.cached_files, 0);
    assert_eq!(diff(&first.manifest, &second.manifest).modified, ["a"]);
}

#[test]
fn file_replaced_by_rename_is_rehashed() {
    let (d, first) = settled_tree(3);
    let target = d.path().join("d0/f0.txt");
    let old = mtime(&target);
    let tmp = d.path().join("tmp");
    fs::write(&tmp, "CONTENT 0").unwrap();
    set_mtime(&tmp, old);
    fs::rename(&tmp, &target).unwrap();
    let second = cap(d.path(), Some(&first.manifest));
    assert_eq!((second.hashed_files, second.cached_files), (1, 2));
    assert_eq!(
        diff(&first.manifest, &second.manifest).modified,
        ["d0/f0.txt"]
    );
}

#[test]
fn in_place_edit_restoring_size_and_mtime_is_rehashed() {
    let (d, first) = settled_tree(3);
    let target = d.path().join("d1/f1.txt");
    let old = mtime(&target);
    let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&target).unwrap());
    fs::write(&target, "CONTENT 1").unwrap();
    set_mtime(&target, old);
    let meta = fs::metadata(&target).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::ino(&meta), ino);
    assert_eq!(meta.modified().unwrap(), old);
    let second = cap(d.path(), Some(&first.manifest));
    assert_eq!(second.hashed_files, 1);
    assert_eq!(
        diff(&first.manifest, &second.manifest).modified,
        ["d1/f1.txt"]
    );
}

#[test]
fn future_mtime_is_always_rehashed() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("future");
    fs::write(&p, "aaaa").unwrap();
    let future = SystemTime::now() + Duration::from_secs(3600);
    set_mtime(&p, future);
    let first = cap(d.path(), None);
    let again = cap(d.path(), Some(&first.manifest));
    assert_eq!(again.cached_files, 0);
    assert!(diff(&first.manifest, &again.manifest).is_empty());
    fs::write(&p, "bbbb").unwrap();
    set_mtime(&p, future);
    let third = cap(d.path(), Some(&again.manifest));
    assert_eq!(diff(&again.manifest, &third.manifest).modified, ["future"]);
}

#[test]
fn touch_is_not_a_modification() {
    let (d, first) = settled_tree(2);
    set_mtime(&d.path().join("d0/f0.txt"), SystemTime::now());
    let second = cap(d.path(), Some(&first.manifest));
    assert_eq!(second.hashed_files, 1);
    assert!(diff(&first.manifest, &second.manifest).is_empty());
}

#[test]
fn foreign_manifest_is_never_a_cache() {
    let (d, first) = settled_tree(4);
    // What the reference tool would have written for the very same files.
    let files: Vec<String> = first
        .manifest
        .entries
        .iter()
        .map(|e| {
            format!(
                r#"{{"path":"{}","size":{},"mtime":"{}"}}"#,
                e.path, e.size, e.mtime
            )
        })
        .collect();
    let json = format!(
        r#"{{"captured_at":"2099-01-01T00:00:00Z","files":[{}]}}"#,
        files.join(",")
    );
    let foreign: Manifest = serde_json::from_str(&json).unwrap();
    assert!(foreign.is_foreign());
    let second = cap(d.path(), Some(&foreign));
    assert_eq!((second.hashed_files, second.cached_files), (4, 0));
}

#[test]
fn racy_cache_entries_are_rehashed() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "new", "x");
    let first = cap(d.path(), None);
    let second = cap(d.path(), Some(&first.manifest));
    assert_eq!((second.hashed_files, second.cached_files), (1, 0));
}
