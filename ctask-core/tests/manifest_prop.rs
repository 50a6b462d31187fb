//! Property: a capture with the hash cache equals one without it, and both match a model
//! of the tree, over random trees and edit scripts.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ctask_core::session::diff::diff;
use ctask_core::session::manifest::{CaptureOptions, Kind, Manifest, capture};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// File slots; none is a directory of another. `*.log` is ignored by the tree's `.gitignore`.
const SLOTS: [&str; 7] = ["a", "b.txt", "d/c", "d/e/f", "d/e/g.log", "h/i", ".dot"];
/// Contents: several share a size, so same-size edits and renames happen.
const CONTENTS: [&str; 7] = ["", "x", "y", "xy", "hello", "world", "hello!"];
const GITIGNORE: &str = "*.log\n";

#[derive(Debug, Clone, PartialEq)]
enum Node {
    File(usize),
    Link(usize),
}

#[derive(Debug, Clone)]
enum Op {
    Write(usize, usize),
    WriteKeepMtime(usize, usize),
    Delete(usize),
    Rename(usize, usize),
    Touch(usize, u32),
    Symlink(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..SLOTS.len();
    let c = 0..CONTENTS.len();
    prop_oneof![
        (s.clone(), c.clone()).prop_map(|(s, c)| Op::Write(s, c)),
        (s.clone(), c).prop_map(|(s, c)| Op::WriteKeepMtime(s, c)),
        s.clone().prop_map(Op::Delete),
        (s.clone(), s.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        (s.clone(), 0..5u32).prop_map(|(s, t)| Op::Touch(s, t)),
        (s.clone(), s).prop_map(|(a, b)| Op::Symlink(a, b)),
    ]
}

fn case() -> impl Strategy<Value = (Vec<Option<usize>>, Vec<Op>)> {
    (
        prop::collection::vec(prop::option::of(0..CONTENTS.len()), SLOTS.len()),
        prop::collection::vec(op(), 0..8),
    )
}

fn old_time(secs: u32) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(1_600_000_000 + u64::from(secs), 123_456_789)
}

fn set_mtime(p: &Path, t: SystemTime) {
    if let Ok(f) = fs::File::options().write(true).open(p) {
        f.set_modified(t).unwrap();
    }
}

fn build(root: &Path, init: &[Option<usize>]) -> BTreeMap<usize, Node> {
    fs::write(root.join(".gitignore"), GITIGNORE).unwrap();
    let mut model = BTreeMap::new();
    for (slot, content) in init.iter().enumerate() {
        if let Some(c) = *content {
            let p = root.join(SLOTS[slot]);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, CONTENTS[c]).unwrap();
            set_mtime(&p, old_time(slot as u32));
            model.insert(slot, Node::File(c));
        }
    }
    model
}

fn apply(root: &Path, model: &mut BTreeMap<usize, Node>, op: &Op) {
    let path = |s: usize| root.join(SLOTS[s]);
    let make_parent = |s: usize| fs::create_dir_all(path(s).parent().unwrap()).unwrap();
    match *op {
        Op::Write(s, c) | Op::WriteKeepMtime(s, c) => {
            if matches!(model.get(&s), Some(Node::Link(_))) {
                fs::remove_file(path(s)).unwrap();
            }
            let before = fs::symlink_metadata(path(s)).and_then(|m| m.modified());
            make_parent(s);
            fs::write(path(s), CONTENTS[c]).unwrap();
            if let (Op::WriteKeepMtime(..), Ok(t)) = (op, before) {
                set_mtime(&path(s), t);
            }
            model.insert(s, Node::File(c));
        }
        Op::Delete(s) => {
            if model.remove(&s).is_some() {
                fs::remove_file(path(s)).unwrap();
            }
        }
        Op::Rename(a, b) => {
            if a != b
                && let Some(node) = model.remove(&a)
            {
                make_parent(b);
                fs::rename(path(a), path(b)).unwrap();
                model.insert(b, node);
            }
        }
        Op::Touch(s, t) => {
            if matches!(model.get(&s), Some(Node::File(_))) {
                set_mtime(&path(s), old_time(t));
            }
        }
        Op::Symlink(s, t) => {
            if model.remove(&s).is_some() {
                fs::remove_file(path(s)).unwrap();
            }
            make_parent(s);
            std::os::unix::fs::symlink(SLOTS[t], path(s)).unwrap();
            model.insert(s, Node::Link(t));
        }
    }
}

/// What a manifest says about one path: kind, digest, symlink target.
type Seen = (Kind, Option<[u8; 32]>, Option<String>);

/// The manifest must list exactly the model's non-ignored slots with their content.
fn check_model(m: &Manifest, model: &BTreeMap<usize, Node>) -> Result<(), TestCaseError> {
    let mut want: BTreeMap<String, Seen> = BTreeMap::new();
    want.insert(
        ".gitignore".into(),
        (Kind::File, Some(Sha256::digest(GITIGNORE).into()), None),
    );
    for (&s, node) in model {
        if SLOTS[s].ends_with(".log") {
            continue;
        }
        let v = match node {
            Node::File(c) => (Kind::File, Some(Sha256::digest(CONTENTS[*c]).into()), None),
            Node::Link(t) => (Kind::Symlink, None, Some(SLOTS[*t].to_string())),
        };
        want.insert(SLOTS[s].to_string(), v);
    }
    let got: BTreeMap<String, Seen> = m
        .entries
        .iter()
        .map(|e| (e.path.clone(), (e.kind, e.sha256, e.target.clone())))
        .collect();
    prop_assert_eq!(got, want);
    Ok(())
}

const BATCH: usize = 6;

proptest! {
    #![proptest_config(ProptestConfig { cases: 5, ..ProptestConfig::default() })]

    #[test]
    fn cache_never_changes_the_result(cases in prop::collection::vec(case(), BATCH)) {
        let opts = CaptureOptions::default();
        let mut trees = Vec::new();
        for (init, _) in &cases {
            let dir = tempfile::tempdir().unwrap();
            let model = build(dir.path(), init);
            trees.push((dir, model));
        }
        // Let every file leave the racy window so that the cache is really used.
        std::thread::sleep(Duration::from_millis(2100));
        for ((dir, model), (_, script)) in trees.iter_mut().zip(&cases) {
            let root = dir.path();
            let first = capture(root, &opts, None).unwrap();
            check_model(&first.manifest, model)?;
            let warm = capture(root, &opts, Some(&first.manifest)).unwrap();
            prop_assert_eq!(warm.hashed_files, 0);
            prop_assert_eq!(&warm.manifest.entries, &first.manifest.entries);

            for op in script {
                apply(root, model, op);
            }
            let with = capture(root, &opts, Some(&first.manifest)).unwrap();
            let without = capture(root, &opts, None).unwrap();
            prop_assert_eq!(&with.manifest.entries, &without.manifest.entries);
            check_model(&with.manifest, model)?;
            prop_assert_eq!(
                diff(&first.manifest, &with.manifest),
                diff(&first.manifest, &without.manifest)
            );

            let mut all = capture(root, &CaptureOptions { respect_ignore: false }, None)
                .unwrap()
                .manifest;
            all.retain_included(root, &opts);
            prop_assert_eq!(&all.entries, &without.manifest.entries);
        }
    }
}
