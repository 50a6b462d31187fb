//! The messages a new user meets in the first hour, through the built `ctask` binary: each
//! says what happened and what to do next.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::faces::Env;
use common::{Out, path_str, tmux_available};

/// A `PATH` with nothing but `tmux` (when installed): no agent can be found on it.
fn bare_path(env: &Env) -> PathBuf {
    let dir = env.scratch("bare-bin");
    fs::create_dir_all(&dir).expect("bin dir");
    let tmux = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("tmux"))
        .find(|p| p.is_file());
    if let Some(real) = tmux {
        let _ = symlink(real, dir.join("tmux"));
    }
    dir
}

fn run_bare(env: &Env, args: &[&str]) -> Out {
    let mut cmd = env.cmd(args);
    cmd.env("PATH", bare_path(env)).env_remove("CTASK_AGENT");
    env.run_cmd(cmd)
}

fn names_every_way_to_choose(out: &Out) {
    out.code_is(127);
    for want in ["-a COMMAND", "default_agent", "config.yaml", "CTASK_AGENT"] {
        assert!(
            out.stderr.contains(want),
            "the hint lacks {want:?}: {out:?}"
        );
    }
}

#[test]
fn agent_not_found_names_a_flag_the_config_and_the_environment() {
    let env = Env::new();
    let out = run_bare(&env, &["new", "first try"]);
    names_every_way_to_choose(&out);

    let ws = env.new_ws("second try");
    for args in [vec!["resume", path_str(&ws)], vec!["last"]] {
        let out = run_bare(&env, &args);
        names_every_way_to_choose(&out);
        assert!(
            !out.stderr.contains("new -a"),
            "{args:?} must not suggest `new -a`: {out:?}"
        );
    }
    if tmux_available() {
        let out = run_bare(&env, &["attach", path_str(&ws), "--detach"]);
        names_every_way_to_choose(&out);
        assert!(!out.stderr.contains("new -a"), "attach: {out:?}");
    }
    env.check_canary();
}

fn break_task_yaml(ws: &Path) {
    fs::write(ws.join("task.yaml"), "title: [unclosed\n").expect("task.yaml");
}

fn dir_name(ws: &Path) -> &str {
    ws.file_name().and_then(|n| n.to_str()).expect("name")
}

#[test]
fn a_broken_workspace_says_what_to_do_and_can_be_deleted_by_its_directory_name() {
    let env = Env::new();
    let ws = env.new_ws("broken one");
    break_task_yaml(&ws);
    let name = dir_name(&ws);
    for args in [
        vec!["info", name],
        vec!["resume", name, "-a", "true"],
        vec!["info", path_str(&ws)],
    ] {
        let out = env.run(&args);
        out.code_is(1);
        assert!(out.stderr.contains("task.yaml"), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("hint: fix or replace")
                && out.stderr.contains(&format!("delete {name}")),
            "{args:?} must say what to do: {out:?}"
        );
    }
    let out = env.run(&["delete", name, "--yes"]);
    out.ok();
    assert!(out.stderr.contains("broken"), "{out:?}");
    assert!(!ws.exists(), "the broken workspace is still there");

    // By path too.
    let ws = env.new_ws("broken two");
    break_task_yaml(&ws);
    env.run(&["delete", path_str(&ws), "--yes"]).ok();
    assert!(!ws.exists());
    env.check_canary();
}

#[test]
fn the_busy_message_is_printed_once_and_names_force() {
    let env = Env::new();
    let ws = env.new_ws("busy");
    let (mut session, gate) = env.gated_session(&ws);
    let out = env.run(&["resume", path_str(&ws), "-a", "true"]);
    // --quiet silences news, never the error or what to do about it.
    let quiet = env.run(&["resume", path_str(&ws), "-a", "true", "--quiet"]);
    fs::write(&gate, "").expect("gate");
    quiet.code_is(3);
    assert!(
        quiet.stderr.contains("is busy") && quiet.stderr.contains("--force"),
        "{quiet:?}"
    );
    out.code_is(3);
    assert_eq!(
        out.stderr.matches("is busy").count(),
        1,
        "printed once: {out:?}"
    );
    assert!(out.stderr.contains("--force"), "{out:?}");
    session.wait().ok();
    env.check_canary();
}

#[test]
fn an_archived_workspace_is_named_as_archived_with_the_way_to_reach_it() {
    let env = Env::new();
    let ws = env.new_ws("old report");
    env.run(&["archive", "old-report"]).ok();
    let out = env.run(&["delete", "old-report", "--yes"]);
    out.code_is(1);
    assert!(out.stderr.contains("is archived"), "{out:?}");
    assert!(out.stderr.contains("delete --all"), "{out:?}");
    assert!(out.stderr.contains("restore"), "{out:?}");
    assert!(!out.stderr.contains("no workspace matches"), "{out:?}");
    assert!(ws.is_dir());

    let out = env.run(&["open", "old-report"]);
    out.code_is(1);
    assert!(
        out.stderr.contains("is archived") && out.stderr.contains("open -a"),
        "{out:?}"
    );
    let out = env.run(&["archive", "old-report"]);
    out.code_is(1);
    assert!(out.stderr.contains("is archived"), "{out:?}");

    // Reached as the message says.
    env.run(&["delete", "--all", "old-report", "--yes"]).ok();
    assert!(!ws.exists());
    // A name that matches nothing at all is still "no workspace matches".
    let out = env.run(&["delete", "nothing-like-it", "--yes"]);
    out.code_is(1);
    assert!(out.stderr.contains("no workspace matches"), "{out:?}");
    env.check_canary();
}

#[test]
fn last_says_which_workspace_it_resumes() {
    let env = Env::new();
    let ws = env.new_ws("where was I");
    env.run(&["resume", path_str(&ws), "-a", "true"]).ok();
    let out = env.run(&["last", "-a", "true"]);
    out.ok();
    assert!(
        out.stderr.contains(&format!(
            "[ctask] last worked in: {} (where was I)",
            dir_name(&ws)
        )),
        "{out:?}"
    );
    env.check_canary();
}

#[test]
fn status_says_no_session_to_people_and_none_to_programs() {
    let env = Env::new();
    let ws = env.new_ws("quiet");
    let out = env.run(&["status", path_str(&ws)]);
    out.ok();
    assert!(
        out.stdout
            .starts_with(&format!("{}: no session", path_str(&ws))),
        "{out:?}"
    );
    let out = env.run(&["status", path_str(&ws), "--json"]);
    out.ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["state"], "none");
}

/// The index of the first line of `lines` that starts with `prefix`.
fn line_of(lines: &[&str], prefix: &str, text: &str) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

#[test]
fn the_demo_shows_each_command_before_its_messages_and_every_edit_as_a_step() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/demo.sh");
    let env = Env::new();
    let mut cmd = Command::new("bash");
    env.clean(&mut cmd);
    cmd.arg("-c")
        .arg(r#"bash "$0" 2>&1"#)
        .arg(&script)
        .env("CTASK", common::bin())
        .current_dir(env.scratch_dir())
        .stdin(Stdio::null());
    let out = env.run_cmd(cmd);
    out.ok();
    let text = out.stdout.as_str();
    let lines: Vec<&str> = text.lines().collect();
    // Each message follows the command it belongs to.
    let new_cmd = line_of(&lines, "$ ws=$(ctask new \"Fix Auth: login!\"", text);
    let created = line_of(&lines, "[ctask] created task", text);
    assert!(new_cmd < created, "a message precedes its command:\n{text}");
    let release = line_of(&lines, "$ ctask new \"Write release notes\"", text);
    assert!(
        release
            < lines
                .iter()
                .rposition(|l| l.starts_with("[ctask] created task"))
                .unwrap_or(0)
    );
    // The edits between sessions are steps of their own, before the diff that shows them.
    let hotfix = line_of(&lines, "$ printf 'hotfix", text);
    let diff = line_of(&lines, "$ ctask diff fix-auth", text);
    assert!(
        hotfix < diff,
        "the edit is not shown before the diff:\n{text}"
    );
    line_of(&lines, "$ printf 'def login(user)", text);
    // No bare `none` for a workspace without a session.
    assert!(text.contains(": no session"), "{text}");
    assert!(!lines.iter().any(|l| l.ends_with(": none")), "{text}");
    env.check_canary();
}
