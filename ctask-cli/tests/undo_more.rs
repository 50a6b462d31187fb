//! `ctask undo` beyond the basics, through the built binary: many files at once (the
//! durability rule past 256 files), temp files left by a kill between staging and
//! renaming, directories an undo empties, and the outside changes of a session recovered
//! after its owner died.

mod common;

use std::fs;
use std::path::Path;

use common::{Env, path_str, sh_args};

/// Runs an `sh -c SCRIPT` session in `ws` (its working directory is the workspace).
fn session(env: &Env, ws: &Path, script: &str) {
    env.run(&sh_args(ws, &[], script, &[])).ok();
}

/// Makes `n` files, changes them all in a session, undoes it: each is given back.
fn undo_many(n: usize) {
    let env = Env::new();
    let ws = env.new_ws("Many");
    session(
        &env,
        &ws,
        &format!("i=0; while [ $i -lt {n} ]; do echo old $i > f$i.txt; i=$((i+1)); done"),
    );
    session(
        &env,
        &ws,
        &format!("i=0; while [ $i -lt {n} ]; do echo new $i > f$i.txt; i=$((i+1)); done"),
    );
    env.run(&["undo", path_str(&ws)]).ok();
    for i in 0..n {
        let got = fs::read_to_string(ws.join(format!("f{i}.txt"))).expect("read");
        assert_eq!(got, format!("old {i}\n"), "f{i}.txt");
    }
    let left: Vec<String> = fs::read_dir(&ws)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ctask-undo-"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

/// Up to 256 files each get their own fsync; more, one syncfs: both give every file back.
#[test]
fn undo_gives_back_few_and_many_files() {
    undo_many(5);
    undo_many(300);
}
