//! Diff categories, foreign baselines and the JSON forms.

use std::fs;
use std::path::Path;

use ctask_core::Error;
use ctask_core::session::diff::{Diff, Rename, diff};
use ctask_core::session::manifest::{
    CaptureOptions, Entry, Kind, Manifest, capture, read_manifest, write_manifest,
};

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(p, content).unwrap();
}

fn cap(root: &Path) -> Manifest {
    capture(root, &CaptureOptions::default(), None)
        .unwrap()
        .manifest
}

fn rename(from: &str, to: &str) -> Rename {
    Rename {
        from: from.into(),
        to: to.into(),
    }
}

#[test]
fn categories() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "keep", "same");
    write(r, "edit", "old");
    write(r, "gone", "bye");
    write(r, "moved/from", "moving content");
    write(r, "link_target_changes", "x");
    std::os::unix::fs::symlink("a", r.join("link")).unwrap();
    let before = cap(r);

    write(r, "edit", "new");
    fs::remove_file(r.join("gone")).unwrap();
    fs::create_dir(r.join("there")).unwrap();
    fs::rename(r.join("moved/from"), r.join("there/to")).unwrap();
    write(r, "fresh", "hello");
    fs::remove_file(r.join("link")).unwrap();
    std::os::unix::fs::symlink("b", r.join("link")).unwrap();
    fs::remove_file(r.join("link_target_changes")).unwrap();
    std::os::unix::fs::symlink("x", r.join("link_target_changes")).unwrap();
    let after = cap(r);

    let d = diff(&before, &after);
    assert_eq!(d.added, ["fresh"]);
    assert_eq!(d.deleted, ["gone"]);
    assert_eq!(d.modified, ["edit", "link", "link_target_changes"]);
    assert_eq!(d.renamed, [rename("moved/from", "there/to")]);
    let c = d.counts();
    assert_eq!((c.added, c.modified, c.deleted, c.renamed), (1, 3, 1, 1));
    assert!(!d.is_empty());
    assert!(diff(&after, &after).is_empty());
}

#[test]
fn touch_is_not_modified_and_mv_is_one_rename() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "a.txt", "alpha");
    let before = cap(r);
    let f = fs::File::options()
        .write(true)
        .open(r.join("a.txt"))
        .unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
    assert!(diff(&before, &cap(r)).is_empty());
    fs::rename(r.join("a.txt"), r.join("b.txt")).unwrap();
    let d = diff(&before, &cap(r));
    assert_eq!(
        d,
        Diff {
            renamed: vec![rename("a.txt", "b.txt")],
            ..Diff::default()
        }
    );
}

#[test]
fn identical_contents_pair_in_path_order_each_source_once() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    for p in ["x1", "x2", "x3"] {
        write(r, p, "dup");
    }
    let before = cap(r);
    for p in ["x1", "x2", "x3"] {
        fs::remove_file(r.join(p)).unwrap();
    }
    for p in ["y1", "y2"] {
        write(r, p, "dup");
    }
    let d = diff(&before, &cap(r));
    assert_eq!(d.renamed, [rename("x1", "y1"), rename("x2", "y2")]);
    assert_eq!(d.deleted, ["x3"]);
    assert!(d.added.is_empty());
}

#[test]
fn kind_change_is_modified() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "p", "file");
    let before = cap(r);
    fs::remove_file(r.join("p")).unwrap();
    std::os::unix::fs::symlink("file", r.join("p")).unwrap();
    assert_eq!(diff(&before, &cap(r)).modified, ["p"]);
}

/// A baseline as the reference tool writes it: only path, size, mtime (Go RFC3339Nano,
/// local offset), in its own order, including `.git/` and ignored files.
fn foreign_baseline(now: &Manifest) -> String {
    let mut files = Vec::new();
    for e in &now.entries {
        let local = e
            .mtime
            .to_datetime()
            .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
        let mtime = local.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
        files.push(format!(
            r#"{{"path":"{}","size":{},"mtime":"{mtime}"}}"#,
            e.path, e.size
        ));
    }
    files.reverse();
    files.push(r#"{"path":".git/HEAD","size":1,"mtime":"2020-01-01T00:00:00Z"}"#.into());
    files.push(r#"{"path":"build/out.o","size":1,"mtime":"2020-01-01T00:00:00Z"}"#.into());
    format!(
        r#"{{"captured_at":"2026-01-01T10:00:00.5+01:00","files":[{}]}}"#,
        files.join(",")
    )
}

#[test]
fn foreign_baseline_is_parsed_filtered_and_compared_by_size_and_mtime() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, ".gitignore", "build/\n");
    write(r, "same", "same");
    write(r, "touched", "tttt");
    write(r, "grown", "g");
    write(r, "rewritten", "aaaa");
    let now = cap(r);
    let path = r.join(".ctask/manifest-start.json");
    fs::create_dir_all(r.join(".ctask")).unwrap();
    fs::write(&path, foreign_baseline(&now)).unwrap();

    let mut base = read_manifest(&path).unwrap().unwrap();
    assert!(base.is_foreign());
    assert!(base.entries.is_sorted_by(|a, b| a.path < b.path));
    assert_eq!(base.entries.len(), 7);
    base.retain_included(r, &CaptureOptions::default());
    assert_eq!(base.entries.len(), 5);
    assert_eq!(base.entries, {
        let mut stripped = now.entries.clone();
        for e in &mut stripped {
            (e.sha256, e.ino, e.ctime, e.mode) = (None, None, None, None);
        }
        stripped
    });

    let set = |rel: &str, secs: u64| {
        let f = fs::File::options().write(true).open(r.join(rel)).unwrap();
        let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        f.set_modified(t).unwrap();
    };
    set("touched", 1_000_000);
    write(r, "grown", "gg");
    write(r, "rewritten", "bbbb");
    set("rewritten", 2_000_000);
    let d = diff(&base, &cap(r));
    assert_eq!(d.modified, ["grown", "rewritten", "touched"]);
    assert!(d.added.is_empty() && d.deleted.is_empty() && d.renamed.is_empty());
}

#[test]
fn json_round_trips() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "a b/\"q\".txt", "x");
    write(r, "ünï", "y");
    std::os::unix::fs::symlink("../t", r.join("l")).unwrap();
    let m = cap(r);
    let path = d.path().join("m.json");
    write_manifest(&path, &m).unwrap();
    assert_eq!(read_manifest(&path).unwrap().unwrap(), m);

    // Through the generic writer too (pretty JSON), and as a bare array.
    ctask_core::fsio::write_json_atomic(&path, &m).unwrap();
    assert_eq!(read_manifest(&path).unwrap().unwrap(), m);
    let array = serde_json::to_string(&m.entries).unwrap();
    assert!(array.starts_with('['));
    let back: Vec<Entry> = serde_json::from_str(&array).unwrap();
    assert_eq!(back, m.entries);

    let v: serde_json::Value = serde_json::to_value(&m).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["captured_at", "files"]);
    let link = &v["files"][1];
    assert_eq!(link["kind"], "symlink");
    assert_eq!(link["target"], "../t");
    assert!(link.get("sha256").is_none());
    let file = &v["files"][0];
    assert_eq!(file["sha256"].as_str().unwrap().len(), 64);
    assert!(file.get("target").is_none());
    let mtime = file["mtime"].as_str().unwrap();
    assert!(mtime.ends_with('Z') && mtime.len() == 30, "{mtime}");

    let dj = serde_json::to_value(diff(
        &Manifest::from_entries(m.captured_at, vec![], &path).unwrap(),
        &m,
    ))
    .unwrap();
    assert_eq!(dj["added"].as_array().unwrap().len(), 3);
    assert!(dj["renamed"].as_array().unwrap().is_empty());
    let rj = serde_json::to_string(&rename("a", "b")).unwrap();
    assert_eq!(rj, r#"{"from":"a","to":"b"}"#);
}

#[test]
fn bad_manifest_files() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("manifest-start.json");
    assert!(read_manifest(&path).unwrap().is_none());
    for bad in [
        "{",
        r#"{"captured_at":"x","files":[]}"#,
        r#"{"files":[{"path":"a","size":-1,"mtime":"2020-01-01T00:00:00Z"}]}"#,
        r#"{"files":[{"path":"../a","size":1,"mtime":"2020-01-01T00:00:00Z"}]}"#,
        r#"{"files":[{"path":"/etc/x","size":1,"mtime":"2020-01-01T00:00:00Z"}]}"#,
        r#"{"files":[{"path":"a","size":1,"mtime":"2020-01-01T00:00:00Z","sha256":"zz"}]}"#,
        r#"{"files":[{"path":"a","size":1,"mtime":"2020-01-01T00:00:00Z","kind":"dir"}]}"#,
    ] {
        fs::write(&path, bad).unwrap();
        match read_manifest(&path) {
            Err(Error::BadFormat { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Unknown keys are tolerated; a missing captured_at reads as the epoch.
    fs::write(
        &path,
        r#"{"files":[{"path":"a","size":1,"mtime":"2020-01-01T00:00:00Z","x":1}],"y":2}"#,
    )
    .unwrap();
    let m = read_manifest(&path).unwrap().unwrap();
    assert_eq!(m.captured_at.timestamp(), 0);
    assert_eq!(m.entries[0].kind, Kind::File);
}
