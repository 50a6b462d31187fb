//! Property: the capture walker leaves out exactly what the `ignore` crate's own walker
//! (configured as ctask's rules say) leaves out, over random trees and random
//! `.gitignore` / `.ctaskignore` files at several levels; and filtering an unfiltered
//! capture with `retain_included` gives the same list.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use ctask_core::session::manifest::{CaptureOptions, capture};
use ignore::WalkBuilder;
use proptest::prelude::*;

/// Files the tree may hold (directories are created as needed).
const FILES: [&str; 24] = [
    "a.txt",
    "a.log",
    "keep.log",
    "top.txt",
    "build/out.o",
    "build/keep.log",
    "src/main.rs",
    "src/gen.rs",
    "src/build/x.rs",
    "src/a.log",
    "src/deep/a/b.txt",
    "src/deep/a/keep.log",
    "node_modules/p/index.js",
    "node_modules/p/README.md",
    "docs/x.md",
    "docs/.hidden",
    ".env",
    "sub/task.yaml",
    "logs/sessions.log",
    "logs/other.log",
    "x/logs/sessions.log",
    "scratch/tmp.tmp",
    "scratch/keep.txt",
    "a/b/c/d.txt",
];
/// Directories that may hold ignore files ("" is the root).
const DIRS: [&str; 6] = ["", "src", "src/deep", "build", "docs", "a/b"];
/// Lines an ignore file may hold.
const LINES: [&str; 20] = [
    "*.log",
    "!keep.log",
    "build/",
    "/top.txt",
    "gen.rs",
    "node_modules",
    "deep/a",
    "**/b.txt",
    "a*",
    "!a.txt",
    "*.tmp",
    "scratch/",
    "!scratch/keep.txt",
    ".hidden",
    "x.md",
    "src/*.rs",
    "!main.rs",
    "c/",
    "#comment",
    "\\#literal",
];

fn ignore_file() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&LINES[..]), 0..5).prop_map(|v| {
        let mut s = v.join("\n");
        s.push('\n');
        s
    })
}

#[derive(Debug, Clone)]
struct Tree {
    files: Vec<bool>,
    /// Per directory of `DIRS`: `.gitignore` and `.ctaskignore` contents, if present.
    rules: Vec<(Option<String>, Option<String>)>,
    /// Whether `link` is a symlink to `src` (matched as a file, never walked).
    link: bool,
}

fn tree() -> impl Strategy<Value = Tree> {
    (
        prop::collection::vec(any::<bool>(), FILES.len()),
        prop::collection::vec(
            (
                prop::option::weighted(0.5, ignore_file()),
                prop::option::weighted(0.3, ignore_file()),
            ),
            DIRS.len(),
        ),
        any::<bool>(),
    )
        .prop_map(|(files, rules, link)| Tree { files, rules, link })
}

fn build(root: &Path, t: &Tree) {
    for (rel, on) in FILES.iter().zip(&t.files) {
        if *on {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, rel).unwrap();
        }
    }
    for (dir, (git, ctask)) in DIRS.iter().zip(&t.rules) {
        let d = root.join(dir);
        fs::create_dir_all(&d).unwrap();
        if let Some(g) = git {
            fs::write(d.join(".gitignore"), g).unwrap();
        }
        if let Some(c) = ctask {
            fs::write(d.join(".ctaskignore"), c).unwrap();
        }
    }
    if t.link {
        std::os::unix::fs::symlink("src", root.join("link")).unwrap();
    }
}

/// What the `ignore` crate's walker lists with ctask's settings (hidden files included,
/// no global or repository exclude files, no parents, `.ctaskignore` as a custom ignore
/// file, no symlink following) and ctask's fixed exclusions.
fn reference(root: &Path, respect_ignore: bool) -> BTreeSet<String> {
    let mut b = WalkBuilder::new(root);
    b.standard_filters(false)
        .hidden(false)
        .parents(false)
        .ignore(false)
        .git_global(false)
        .git_exclude(false)
        .git_ignore(respect_ignore)
        .require_git(false)
        .follow_links(false);
    if respect_ignore {
        b.add_custom_ignore_filename(".ctaskignore");
    }
    let mut out = BTreeSet::new();
    for e in b.build() {
        let e = e.unwrap();
        if e.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        let rel = e.path().strip_prefix(root).unwrap().to_str().unwrap();
        let fixed = rel == "task.yaml"
            || rel == "logs/sessions.log"
            || rel.starts_with(".ctask/")
            || rel.split('/').any(|c| c == ".git");
        if !fixed {
            out.insert(rel.to_owned());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn same_paths_as_the_ignore_crates_walker(t in tree()) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        build(root, &t);
        for respect_ignore in [true, false] {
            let opts = CaptureOptions { respect_ignore };
            let got: BTreeSet<String> = capture(root, &opts, None)
                .unwrap()
                .manifest
                .entries
                .into_iter()
                .map(|e| e.path)
                .collect();
            prop_assert_eq!(&got, &reference(root, respect_ignore));
        }
        let opts = CaptureOptions::default();
        let mut all = capture(root, &CaptureOptions { respect_ignore: false }, None)
            .unwrap()
            .manifest;
        all.retain_included(root, &opts);
        let filtered: BTreeSet<String> = all.entries.into_iter().map(|e| e.path).collect();
        prop_assert_eq!(filtered, reference(root, true));
    }
}

#[test]
fn ignore_files_that_are_symlinks_or_fifos_are_not_read() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("rules"), "*.txt\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("rules"), root.join(".gitignore")).unwrap();
    fs::create_dir(root.join("sub")).unwrap();
    let fifo = std::ffi::CString::new(root.join("sub/.ctaskignore").as_os_str().as_encoded_bytes())
        .unwrap();
    // SAFETY: `fifo` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    fs::write(root.join("a.txt"), "x").unwrap();
    fs::write(root.join("sub/b.txt"), "x").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let r = root.to_path_buf();
    std::thread::spawn(move || {
        let c = capture(&r, &CaptureOptions::default(), None).unwrap();
        let _ = tx.send(c);
    });
    let c = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("a FIFO named .ctaskignore blocked the capture");
    let paths: Vec<&str> = c.manifest.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [".gitignore", "a.txt", "sub/.ctaskignore", "sub/b.txt"]
    );
}
