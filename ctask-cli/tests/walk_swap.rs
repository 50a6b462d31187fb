//! A directory swapped for a symlink between the walk's steps, deterministically (build with
//! `--features crash-points`): the walk lists the workspace and sees `d` as a directory, then
//! stops at the `walk.before_open` hook while the test replaces `d` with a symlink to a
//! directory of secrets outside the workspace, then opens `d`. Both captures — begin's and
//! end's — are swapped this way, and both must record `d` as the symlink it now is, with
//! nothing read through it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// The agent: saves the start manifest begin wrote, then puts the real directory back so
/// that the end capture meets a directory again.
const AGENT: &str = r#"cp .ctask/manifest-start.bin "$1" && rm d && mv d.real d"#;

const SECRET: &[u8] = b"the secret outside the workspace\n";

/// Waits for the walk to stop at the hook, swaps `d` for a symlink to `victim`, lets the
/// walk go on.
fn swap_at_hook(bg: &mut Bg, marker: &Path, d: &Path, parked: &Path, victim: &Path, when: &str) {
    let stopped = wait_for(|| marker.exists() || bg.try_status().is_some(), PATIENCE);
    assert!(
        stopped && marker.exists(),
        "the {when} capture never stopped at walk.before_open (stderr: {})",
        bg.stderr()
    );
    fs::rename(d, parked).expect("park d");
    std::os::unix::fs::symlink(victim, d).expect("symlink d");
    fs::remove_file(marker).expect("release the walk");
}

/// Checks one capture's entries: `d` is the symlink, nothing below it, no entry hashed the
/// secret. `secret_sha`: the secret's SHA-256 in hex.
fn check_capture(entries: &[Value], when: &str, victim: &Path, secret_sha: &str) {
    let read: Vec<&Value> = entries
        .iter()
        .filter(|e| e["sha256"].as_str() == Some(secret_sha))
        .collect();
    assert!(
        read.is_empty(),
        "{when} capture hashed a file outside the workspace: {read:?}"
    );
    let below: Vec<&Value> = entries
        .iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.starts_with("d/")))
        .collect();
    assert!(
        below.is_empty(),
        "{when} capture walked through the swapped symlink: {below:?}"
    );
    let d = entries
        .iter()
        .find(|e| e["path"] == "d")
        .unwrap_or_else(|| panic!("{when} capture: no entry for d: {entries:?}"));
    assert_eq!(
        (d["kind"].as_str(), d["target"].as_str()),
        (Some("symlink"), victim.to_str()),
        "{when} capture: d is not recorded as the symlink it was swapped for: {d}"
    );
}

#[test]
fn a_directory_swapped_between_listing_and_opening_is_never_followed() {
    let env = Env::new();
    let ws = env.new_ws("Swap");
    let victim: PathBuf = env.scratch("victim");
    fs::create_dir(&victim).expect("mkdir");
    for i in 0..5 {
        fs::write(victim.join(format!("f{i}")), SECRET).expect("write");
    }
    let d = ws.join("d");
    let parked = ws.join("d.real");
    fs::create_dir(&d).expect("mkdir");
    for i in 0..5 {
        fs::write(d.join(format!("f{i}")), format!("inside {i}\n")).expect("write");
    }
    let marker = env.scratch("hook");
    let start = env.scratch("start.json");
    let mut cmd = env.cmd(&sh_args(&ws, &[], AGENT, &[path_str(&start)]));
    cmd.env("CTASK_HOOK_AT", "walk.before_open")
        .env("CTASK_HOOK_NAME", "d")
        .env("CTASK_HOOK_MARKER", &marker);
    let mut bg = Bg::spawn(cmd);
    swap_at_hook(&mut bg, &marker, &d, &parked, &victim, "begin");
    swap_at_hook(&mut bg, &marker, &d, &parked, &victim, "end");
    let out = bg.wait();
    out.ok();

    let secret_sha = sha256_hex(SECRET);
    let saved = ctask_core::session::manifest::read_manifest(&start)
        .expect("the start manifest the agent saved")
        .expect("a start manifest");
    let begin: Value = serde_json::to_value(&saved).expect("start manifest as JSON");
    let begin_entries = begin["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files in the start manifest: {begin}"));
    check_capture(begin_entries, "begin", &victim, &secret_sha);
    let s = summary(&ws);
    let end_entries = s["end_manifest"].as_array().expect("end_manifest");
    check_capture(end_entries, "end", &victim, &secret_sha);
    // The inside files are still in the workspace (parked), and the secrets are untouched.
    for i in 0..5 {
        assert_eq!(
            fs::read(victim.join(format!("f{i}"))).expect("read"),
            SECRET
        );
    }
    check_log_pairs(&ws, true);
    assert_eq!(temp_files(&ws), Vec::<String>::new());
}
