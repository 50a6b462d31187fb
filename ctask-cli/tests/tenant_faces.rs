//! The agent is a tenant (docs/design.md §6), through the built `ctask` binary: arguments full of
//! tmux syntax reach the agent byte for byte and run no tmux command; names with control
//! characters never reach a terminal raw (JSON keeps them exact); `delete`, `archive` and
//! `restore` hold `session.lock` and refuse a live or `unknown` lease.
//!
//! Every test also checks that a canary directory outside the workspace is unchanged.
//! The tmux tests use a private tmux server (`TMUX_TMPDIR` in the test's own directory);
//! without tmux they print why and return — except under `CI=true`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::faces::{Env, wait_file};
use common::{Bg, Out, PATIENCE, path_str, tmux_available, tree_snapshot};

// ---------------------------------------------------------------------------------------
// tmux command injection

/// Arguments full of tmux command syntax; one of them, unescaped, runs
/// `set-environment -g PWNED yes` in the tmux server.
const TMUX_SYNTAX: &[&str] = &[
    "x;",
    "set-environment",
    "-g",
    "PWNED",
    "yes",
    "\\;",
    "a\\\\;",
    ";;",
    ";",
    "{",
    "}",
    "#{pane_id}",
    "#(touch pwned-by-format)",
    "$HOME",
    "~",
    "",
    "line\nbreak",
    "'quoted' \"double\"",
    "run-shell;",
    "touch pwned-by-run-shell",
];

/// The agent's script: writes its arguments after the first (the output path), each
/// followed by a NUL byte, then renames the file into place.
const DUMP_ARGS: &str = r#"out=$1; shift; for a in "$@"; do printf '%s\0' "$a"; done > "$out.tmp" && mv "$out.tmp" "$out""#;

fn nul_joined(args: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    for a in args {
        v.extend_from_slice(a.as_bytes());
        v.push(0);
    }
    v
}

/// Checks that the tmux server got no injected command.
fn check_not_injected(env: &Env, ws: &Path) {
    let out = env.tmux(&["show-environment", "-g", "PWNED"]);
    assert!(
        !out.status.success(),
        "PWNED was set in the tmux server: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for name in ["pwned-by-format", "pwned-by-run-shell"] {
        assert!(!ws.join(name).exists(), "{name} was created");
        assert!(!env.scratch(name).exists(), "{name} was created");
    }
}

/// `resume WS --detach -a sh -- -c DUMP_ARGS sh OUT ARGS…` must succeed, hand the agent
/// exactly `args` and run nothing in the tmux server.
fn check_cli_argv(args: &[&str]) {
    let env = Env::new();
    let ws = env.new_ws("tmux argv");
    let dump = env.scratch("argv.bin");
    let mut argv: Vec<&str> = vec![
        "resume",
        path_str(&ws),
        "--detach",
        "-a",
        "sh",
        "--",
        "-c",
        DUMP_ARGS,
        "sh",
        path_str(&dump),
    ];
    argv.extend_from_slice(args);
    let out = env.run(&argv);
    out.ok();
    let got = wait_file(&dump);
    check_not_injected(&env, &ws);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&nul_joined(args)),
        "the agent's argv differs"
    );
    assert_eq!(got, nul_joined(args));
    env.check_canary();
}

#[test]
fn a_separator_in_cli_arguments_runs_no_tmux_command() {
    if !tmux_available() {
        return;
    }
    check_cli_argv(&["x;", "set-environment", "-g", "PWNED", "yes"]);
}

#[test]
fn tmux_syntax_in_cli_arguments_reaches_the_agent_byte_for_byte() {
    if !tmux_available() {
        return;
    }
    check_cli_argv(TMUX_SYNTAX);
}

#[test]
fn tmux_syntax_in_task_yaml_agent_args_reaches_the_agent_byte_for_byte() {
    if !tmux_available() {
        return;
    }
    let env = Env::new();
    let ws = env.new_ws("tmux yaml argv");
    let dump = env.scratch("argv.bin");
    let mut agent_args: Vec<&str> = vec!["-c", DUMP_ARGS, "sh", path_str(&dump)];
    agent_args.extend_from_slice(TMUX_SYNTAX);
    // JSON strings are YAML double-quoted scalars.
    let list: Vec<String> = agent_args
        .iter()
        .map(|a| serde_json::to_string(a).expect("json"))
        .collect();
    let task = ws.join("task.yaml");
    let mut text = fs::read_to_string(&task).expect("task.yaml");
    text.push_str(&format!(
        "agent:\n  command: sh\n  args: [{}]\n",
        list.join(", ")
    ));
    fs::write(&task, text).expect("write task.yaml");
    let out = env.run(&["resume", path_str(&ws), "--detach"]);
    out.ok();
    let got = wait_file(&dump);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&nul_joined(TMUX_SYNTAX)),
        "the agent's argv differs"
    );
    assert_eq!(got, nul_joined(TMUX_SYNTAX));
    check_not_injected(&env, &ws);
    env.check_canary();
}

#[test]
fn tmux_format_syntax_in_the_launch_directory_stays_literal() {
    if !tmux_available() {
        return;
    }
    let env = Env::new();
    let ws = env.new_ws("tmux cwd");
    // Format syntax, and a trailing `;` that would end tmux's command early.
    let odd = ws.join("dir#{pane_id}#(touch pwned-by-format);");
    fs::create_dir(&odd).expect("mkdir");
    let dump = env.scratch("cwd.txt");
    let script = format!(r#"pwd > "{0}.tmp" && mv "{0}.tmp" "{0}""#, path_str(&dump));
    let mut cmd = env.cmd(&[
        "resume",
        path_str(&ws),
        "--detach",
        "-a",
        "sh",
        "--",
        "-c",
        &script,
    ]);
    cmd.env("CTASK_LAUNCH_DIR", odd.file_name().expect("name"));
    let out = Bg::spawn(cmd).wait_within(PATIENCE).expect("ctask exits");
    out.ok();
    let got = wait_file(&dump);
    assert_eq!(
        String::from_utf8_lossy(&got).trim_end(),
        path_str(&odd),
        "the agent started elsewhere"
    );
    check_not_injected(&env, &ws);
    env.check_canary();
}

// ---------------------------------------------------------------------------------------
// Terminal escape injection

/// A name that, printed raw, writes the clipboard (OSC 52) and clears the screen.
const OSC_NAME: &str = "x\x1b]52;c;cHduZWQ=\x07\x1b[2Jy";
/// Names with the other control characters an agent can put in a file name.
const CONTROL_NAMES: &[&str] = &[
    OSC_NAME,
    "line\nbreak",
    "carriage\rreturn",
    "tab\there",
    "del\x7fete",
    "c1\u{9b}31m",
];

/// Panics unless `text` has no control character but line breaks: no C0 (tab and carriage
/// return included), no DEL, no C1.
fn no_raw_controls(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| *c != '\n' && c.is_control()) {
        panic!("{what}: raw control character {c:?} in {text:?}");
    }
}

fn no_panic_out(out: &Out) {
    common::no_panic(&out.stderr);
}

/// The `diff --json` names: every added path.
fn json_added(out: &Out) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}): {out:?}"));
    v["added"]
        .as_array()
        .unwrap_or_else(|| panic!("no added: {v:#}"))
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn control_characters_in_names_never_reach_the_terminal_raw() {
    let env = Env::new();
    let ws = env.new_ws("escapes");
    // A first session, so later changes have a baseline; its agent's name is hostile too.
    let agent = env.scratch("agent\x1b]0;owned\x07\u{9b}2J");
    fs::write(&agent, "#!/bin/sh\nexit 0\n").expect("agent");
    let mut perm = fs::metadata(&agent).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    fs::set_permissions(&agent, perm).expect("chmod");
    let agent_s = agent.to_str().expect("utf-8");
    let first = env.run(&["resume", path_str(&ws), "-a", agent_s]);
    first.ok();
    no_raw_controls("summary banner", &first.stderr);
    assert!(first.stderr.contains("session ended: "), "{first:?}");
    assert!(
        first.stderr.contains("agent\\x1b]0;owned\\x07"),
        "{first:?}"
    );

    // Changes outside a session, with hostile names.
    for name in CONTROL_NAMES {
        fs::write(ws.join(name), "data\n").expect("hostile name");
    }

    let diff = env.run(&["diff", path_str(&ws)]);
    diff.ok();
    no_raw_controls("diff stdout", &diff.stdout);
    no_raw_controls("diff stderr", &diff.stderr);
    assert!(diff.stdout.contains("x\\x1b]52;c;"), "{diff:?}");
    assert!(diff.stdout.contains("line\\nbreak"), "{diff:?}");
    assert!(diff.stdout.contains("tab\\there"), "{diff:?}");
    assert_eq!(
        diff.stdout.lines().count(),
        CONTROL_NAMES.len(),
        "one line per name: {diff:?}"
    );

    let json = env.run(&["diff", path_str(&ws), "--json"]);
    json.ok();
    let mut added = json_added(&json);
    added.sort();
    let mut want: Vec<String> = CONTROL_NAMES.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(added, want, "JSON names must stay exact");

    // The begin warning about outside changes, the banners, status.
    let second = env.run(&["resume", path_str(&ws), "-a", agent_s]);
    second.ok();
    no_raw_controls("begin warning", &second.stderr);
    assert!(
        second
            .stderr
            .contains("files changed outside a ctask session"),
        "{second:?}"
    );
    assert!(second.stderr.contains("x\\x1b]52;c;"), "{second:?}");
    let status = env.run(&["status", path_str(&ws)]);
    status.ok();
    no_raw_controls("status", &status.stdout);
    assert!(status.stdout.contains("last session: "), "{status:?}");

    // A hostile title and a raw line planted in the log.
    let task = ws.join("task.yaml");
    let text = fs::read_to_string(&task).expect("task.yaml");
    let title = "T\x1b[2J\x1b]52;c;eA==\x07\ritle";
    let text = text.replace(
        "title: escapes",
        &format!("title: {}", serde_json::to_string(title).expect("json")),
    );
    fs::write(&task, text).expect("task.yaml");
    let mut log = fs::OpenOptions::new()
        .append(true)
        .open(ws.join("logs/sessions.log"))
        .expect("log");
    std::io::Write::write_all(
        &mut log,
        b"2026-01-01T00:00:00Z note text=\x1b[2J\x1b]52;c;eA==\x07\n",
    )
    .expect("plant");
    // A broken workspace whose directory name is hostile, and a hostile agent in task.yaml.
    let broken = env.root().join("general/2026-01-01_bro\x1b[2J\nken");
    fs::create_dir_all(&broken).expect("broken dir");
    fs::write(broken.join("task.yaml"), "title: [\x1b[2J\n").expect("broken task.yaml");
    let other = env.new_ws("hostile agent");
    let mut yaml = fs::read_to_string(other.join("task.yaml")).expect("task.yaml");
    yaml.push_str("agent:\n  command: \"no\\e[2Jsuch\\u009b\\nagent\"\n");
    fs::write(other.join("task.yaml"), yaml).expect("task.yaml");
    for args in [vec!["doctor"], vec!["agents", "check", path_str(&other)]] {
        let out = env.run(&args);
        no_panic_out(&out);
        no_raw_controls(&format!("{args:?} stdout"), &out.stdout);
        no_raw_controls(&format!("{args:?} stderr"), &out.stderr);
    }
    for args in [
        vec!["list"],
        vec!["list", "--all"],
        vec!["info", path_str(&ws)],
        vec!["log", path_str(&ws)],
        vec!["status", path_str(&ws)],
    ] {
        let out = env.run(&args);
        out.ok();
        no_raw_controls(&format!("{args:?} stdout"), &out.stdout);
        no_raw_controls(&format!("{args:?} stderr"), &out.stderr);
        // The newline in the broken workspace's name starts no line of its own.
        assert!(
            !out.stderr.lines().any(|l| l.starts_with("[ctask] ken")),
            "{args:?}: {out:?}"
        );
    }
    // A workspace directory whose name is not UTF-8: shown with the byte escaped.
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = env
            .root()
            .join("general")
            .join(std::ffi::OsStr::from_bytes(b"2026-01-01_caf\xe9\x1b[2J"));
        fs::create_dir_all(&odd).expect("odd dir");
        fs::write(
            odd.join("task.yaml"),
            "schema_version: 1\ntitle: odd\nslug: odd\ncategory: general\ntype: task\n\
             status: active\ncreated_at: 2026-01-01T00:00:00Z\n",
        )
        .expect("task");
        // (QUERY is UTF-8 text: `status` without one finds the workspace around the
        // current directory.)
        let mut cmd = env.cmd(&["status"]);
        cmd.current_dir(&odd);
        let out = env.run_cmd(cmd);
        out.ok();
        no_raw_controls("status of a non-UTF-8 path", &out.stdout);
        assert!(
            out.stdout
                .contains("2026-01-01_caf\\xe9\\x1b[2J: no session"),
            "{out:?}"
        );
        // JSON output cannot carry a path that is not UTF-8; it is not part of this test.
        fs::remove_dir_all(&odd).expect("rm odd");
    }
    let list = env.run(&["list", "--json"]);
    list.ok();
    assert!(
        list.stdout
            .contains(&serde_json::to_string(title).expect("json")[1..]),
        "list --json must carry the exact title: {list:?}"
    );
    let info = env.run(&["info", path_str(&ws), "--json"]);
    info.ok();
    let v: serde_json::Value = serde_json::from_str(&info.stdout).expect("info JSON");
    assert_eq!(v["title"], title);
    env.check_canary();
}

// ---------------------------------------------------------------------------------------
// delete, archive and restore

/// A lease as the reference tool writes it (no `lock` marker), from another host and
/// without a heartbeat: its state is `unknown`.
fn unknown_lease(ws: &Path) {
    let l = serde_json::json!({
        "session_id": "elsewhere-4242-20260101T100000Z-abcd",
        "pid": 4242,
        "hostname": "elsewhere.example",
        "agent": "claude",
        "mode": "local",
        "workspace_mode": "local",
        "started_at": "2026-01-01T10:00:00Z",
    });
    fs::write(ws.join(".ctask/session.json"), l.to_string()).expect("lease");
    // Any begin creates it (and never removes it): only its lock state matters.
    fs::write(ws.join(".ctask/session.lock"), "").expect("session.lock");
}

fn task_status(ws: &Path) -> String {
    let text = fs::read_to_string(ws.join("task.yaml")).expect("task.yaml");
    text.lines()
        .find_map(|l| l.strip_prefix("status: "))
        .unwrap_or("?")
        .to_owned()
}

/// Everything in the workspace, `.ctask/` included.
fn whole_tree(ws: &Path) -> BTreeMap<PathBuf, String> {
    let mut t = tree_snapshot(ws);
    for (k, v) in tree_snapshot(&ws.join(".ctask")) {
        t.insert(Path::new(".ctask").join(k), v);
    }
    t
}

fn refused_as_unknown(out: &Out, verb: &str) {
    out.code_is(3);
    assert!(
        out.stderr.contains(&format!("refusing to {verb}")),
        "{out:?}"
    );
    assert!(out.stderr.contains("unknown"), "{out:?}");
    assert!(out.stderr.contains("--force"), "{out:?}");
    assert!(out.stderr.contains("elsewhere.example"), "{out:?}");
}

#[test]
fn delete_refuses_a_lease_of_unknown_state_unless_forced() {
    let env = Env::new();
    let ws = env.new_ws("unknown delete");
    unknown_lease(&ws);
    let before = whole_tree(&ws);
    let out = env.run(&["delete", path_str(&ws), "--yes"]);
    refused_as_unknown(&out, "delete");
    assert!(ws.is_dir(), "the workspace was deleted");
    assert_eq!(whole_tree(&ws), before, "the workspace changed");
    env.check_canary();

    let out = env.run(&["delete", path_str(&ws), "--yes", "--force"]);
    out.ok();
    assert!(
        out.stderr
            .contains("elsewhere-4242-20260101T100000Z-abcd (pid 4242 on elsewhere.example)"),
        "--force must name the lease it overrides: {out:?}"
    );
    assert!(!ws.exists(), "the workspace was not deleted");
    env.check_canary();
}

#[test]
fn archive_and_restore_refuse_a_lease_of_unknown_state_unless_forced() {
    let env = Env::new();
    let ws = env.new_ws("unknown archive");
    unknown_lease(&ws);
    let before = whole_tree(&ws);
    let out = env.run(&["archive", path_str(&ws)]);
    refused_as_unknown(&out, "archive");
    assert_eq!(task_status(&ws), "active");
    assert_eq!(whole_tree(&ws), before, "the workspace changed");

    let out = env.run(&["archive", path_str(&ws), "--force"]);
    out.ok();
    assert!(out.stderr.contains("elsewhere.example"), "{out:?}");
    assert_eq!(task_status(&ws), "archived");
    assert!(
        ws.join(".ctask/session.json").exists(),
        "the lease was removed"
    );

    let out = env.run(&["restore", path_str(&ws)]);
    refused_as_unknown(&out, "restore");
    assert_eq!(task_status(&ws), "archived");
    env.run(&["restore", path_str(&ws), "--force"]).ok();
    assert_eq!(task_status(&ws), "active");
    env.check_canary();
}

#[test]
fn a_live_session_blocks_delete_archive_and_restore_even_forced() {
    let env = Env::new();
    let ws = env.new_ws("live");
    let (mut session, gate) = env.gated_session(&ws);
    for args in [
        vec!["archive", path_str(&ws)],
        vec!["archive", path_str(&ws), "--force"],
        vec!["delete", path_str(&ws), "--yes", "--force"],
    ] {
        let out = env.run(&args);
        out.code_is(3);
        assert!(out.stderr.contains("is active"), "{args:?}: {out:?}");
        assert!(!out.stderr.contains("--force"), "{args:?}: {out:?}");
        assert_eq!(task_status(&ws), "active", "{args:?}");
        assert!(ws.is_dir());
    }
    fs::write(&gate, "").expect("gate");
    session.wait().ok();
    env.check_canary();
}

/// `flock(LOCK_EX | LOCK_NB)` on `path`: whether someone else holds it.
fn lock_is_held(path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(f) = fs::File::open(path) else {
        return false;
    };
    // SAFETY: a valid descriptor; the lock, when taken, goes with the file at once.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    r != 0
}

#[test]
fn archive_holds_session_lock_while_it_writes() {
    // A write.lock held by a live process on this host keeps archive waiting inside its
    // critical section; meanwhile no session may begin, so session.lock must be held.
    let env = Env::new();
    let ws = env.new_ws("archive lock");
    let session_lock = ws.join(".ctask/session.lock");
    fs::write(&session_lock, "").expect("session.lock");
    let body = serde_json::json!({
        "pid": std::process::id(),
        "hostname": ctask_core::session::host::hostname(),
        "acquired_at": chrono_now(),
    });
    fs::write(ws.join(".ctask/write.lock"), body.to_string()).expect("write.lock");
    let mut archive = Bg::spawn(env.cmd(&["archive", path_str(&ws)]));
    let mut held = false;
    while archive.try_status().is_none() {
        if lock_is_held(&session_lock) {
            held = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = archive.wait();
    assert!(
        held,
        "archive waited for write.lock without holding session.lock: {out:?}"
    );
    out.code_is(4);
    assert_eq!(task_status(&ws), "active");
    env.check_canary();
}

fn chrono_now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
