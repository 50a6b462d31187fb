//! `.ctask/index`: the baseline read without parsing the summary, and every way it can be
//! unusable — missing, truncated, corrupt, of another layout version, naming another
//! session — falling back to the summary's `end_manifest` with a warning, never an error.

use std::fs;
use std::path::Path;

use ctask_core::session::index::{self, IndexFile};
use ctask_core::session::{Ending, Session, SessionOptions, status};

mod common;

use common::{Fixture, ctask, opts};

fn fixture() -> Fixture {
    common::fixture_titled("Index test")
}

/// Runs one session that writes `files` and returns its id.
fn session_writing(ws: &Path, o: SessionOptions, files: &[&str]) -> String {
    let s = Session::begin(ws, o).unwrap();
    for f in files {
        fs::write(ws.join(f), format!("{f}\n")).unwrap();
    }
    let id = s.id();
    s.end(Ending::child_exit(0)).unwrap();
    id
}

fn index_of(ws: &Path) -> index::IndexFile {
    index::read(&ws.join(".ctask")).unwrap()
}

/// Begins a session after `outside.txt` was added outside any session; returns its
/// warnings and the outside changes' added paths (`None`: no baseline).
fn next_begin(ws: &Path) -> (Vec<String>, Option<Vec<String>>) {
    fs::write(ws.join("outside.txt"), "made while nobody was there\n").unwrap();
    let s = Session::begin(ws, opts()).unwrap();
    let out = (s.warnings(), s.outside_changes().map(|d| d.added));
    s.end(Ending::child_exit(0)).unwrap();
    out
}

#[test]
fn end_writes_an_index_naming_its_session_and_the_next_begin_uses_it_silently() {
    let f = fixture();
    let id = session_writing(&f.ws, opts(), &["a.txt"]);
    let IndexFile::Present(named) = index_of(&f.ws) else {
        panic!("no usable index after an end");
    };
    assert_eq!(named.session_id, id);
    assert!(
        named
            .manifest
            .get("a.txt")
            .is_some_and(|e| e.sha256.is_some())
    );
    let (warnings, added) = next_begin(&f.ws);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(added, Some(vec!["outside.txt".to_owned()]));
    let d = status::diff_since_last(&f.ws, &Default::default()).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.baseline, "last_session");
}

#[test]
fn an_unusable_index_is_a_warning_and_the_summary_is_the_baseline() {
    type Spoil = fn(&mut Vec<u8>);
    let spoils: [(&str, Spoil, &str); 4] = [
        ("truncated", |b| b.truncate(b.len() / 2), "unusable"),
        (
            "a flipped byte",
            |b| {
                let i = b.len() - 40;
                b[i] ^= 0x20;
            },
            "checksum",
        ),
        ("another layout version", |b| b[8] = 99, "version 99"),
        ("emptied", |b| b.clear(), "unusable"),
    ];
    for (what, spoil, says) in spoils {
        let f = fixture();
        session_writing(&f.ws, opts(), &["a.txt"]);
        let path = ctask(&f.ws, "index");
        let mut bytes = fs::read(&path).unwrap();
        spoil(&mut bytes);
        fs::write(&path, &bytes).unwrap();
        let (warnings, added) = next_begin(&f.ws);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("index") && w.contains(says)),
            "{what}: {warnings:?}"
        );
        assert_eq!(added, Some(vec!["outside.txt".to_owned()]), "{what}");
        // That session's end wrote a good index again.
        assert!(matches!(index_of(&f.ws), IndexFile::Present(_)), "{what}");
    }
}

#[test]
fn a_missing_index_is_a_warning_and_the_summary_is_the_baseline() {
    let f = fixture();
    session_writing(&f.ws, opts(), &["a.txt"]);
    fs::remove_file(ctask(&f.ws, "index")).unwrap();
    let (warnings, added) = next_begin(&f.ws);
    assert!(
        warnings.iter().any(|w| w.contains("index is missing")),
        "{warnings:?}"
    );
    assert_eq!(added, Some(vec!["outside.txt".to_owned()]));
}

#[test]
fn an_index_naming_another_session_than_the_summary_is_ignored() {
    let f = fixture();
    let first = session_writing(&f.ws, opts(), &["a.txt"]);
    let old_index = fs::read(ctask(&f.ws, "index")).unwrap();
    let second = session_writing(&f.ws, opts(), &["b.txt"]);
    // The first session's index with the second's summary: as after a kill between the
    // index and the summary, seen from the other side.
    fs::write(ctask(&f.ws, "index"), &old_index).unwrap();
    let (warnings, added) = next_begin(&f.ws);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("names session {first}, the last summary {second}"))),
        "{warnings:?}"
    );
    // Had the stale index been trusted, b.txt would count as made outside.
    assert_eq!(added, Some(vec!["outside.txt".to_owned()]));
}

#[test]
fn a_bounded_summary_leaves_the_manifest_to_the_index() {
    let f = fixture();
    let bounded = SessionOptions {
        summary_manifest_max: 2,
        ..opts()
    };
    session_writing(&f.ws, bounded, &["a.txt", "b.txt", "c.txt"]);
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(ctask(&f.ws, "last-session-summary.json")).unwrap())
            .unwrap();
    assert!(summary.get("end_manifest").is_none(), "{summary}");
    let omitted = summary["end_manifest_omitted"].as_u64().unwrap();
    let IndexFile::Present(named) = index_of(&f.ws) else {
        panic!("no index");
    };
    assert_eq!(omitted, named.manifest.entries.len() as u64);
    assert!(omitted >= 3);
    assert_eq!(summary["files_added"].as_array().unwrap().len(), 3);

    // The index serves as the baseline.
    let (warnings, added) = next_begin(&f.ws);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(added, Some(vec!["outside.txt".to_owned()]));

    // Without the index (and a summary without a manifest) there is no baseline: a warning.
    session_writing(
        &f.ws,
        SessionOptions {
            summary_manifest_max: 1,
            ..opts()
        },
        &[],
    );
    fs::remove_file(ctask(&f.ws, "index")).unwrap();
    fs::write(f.ws.join("later.txt"), "x").unwrap();
    let s = Session::begin(&f.ws, opts()).unwrap();
    assert!(s.outside_changes().is_none());
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.contains("leaves out its end manifest") && w.contains("without a baseline")),
        "{:?}",
        s.warnings()
    );
    s.end(Ending::child_exit(0)).unwrap();
}

#[test]
fn recovery_writes_the_index_of_the_dead_session() {
    let f = fixture();
    session_writing(&f.ws, opts(), &["a.txt"]);
    let s = Session::begin(&f.ws, opts()).unwrap();
    let dead = s.id();
    fs::write(f.ws.join("by-the-dead.txt"), "x").unwrap();
    // A dead owner: its lease and start manifest are left, its lock released.
    let lease = fs::read(ctask(&f.ws, "session.json")).unwrap();
    let start = fs::read(ctask(&f.ws, "manifest-start.bin")).unwrap();
    let log = fs::read(f.ws.join("logs/sessions.log")).unwrap();
    s.end(Ending::child_exit(0)).unwrap();
    let IndexFile::Present(after_end) = index_of(&f.ws) else {
        panic!("no index");
    };
    fs::remove_file(ctask(&f.ws, "index")).unwrap();
    fs::remove_file(ctask(&f.ws, "last-session-summary.json")).unwrap();
    fs::write(ctask(&f.ws, "session.json"), lease).unwrap();
    fs::write(ctask(&f.ws, "manifest-start.bin"), start).unwrap();
    fs::write(f.ws.join("logs/sessions.log"), log).unwrap();
    let next = Session::begin(&f.ws, opts()).unwrap();
    assert_eq!(next.recovered().map(|r| r.session_id), Some(dead.clone()));
    let IndexFile::Present(rec) = index_of(&f.ws) else {
        panic!("recovery wrote no index");
    };
    assert_eq!(rec.session_id, dead);
    assert_eq!(rec.manifest.entries, after_end.manifest.entries);
    next.end(Ending::child_exit(0)).unwrap();
}
