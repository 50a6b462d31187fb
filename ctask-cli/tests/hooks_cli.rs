//! Hooks from the user's config.yaml: `before_begin` refuses a begin and writes nothing,
//! a hanging hook is killed with its process group at the timeout, hooks get the
//! session's environment, `on_create`/`after_end` failures are warnings and `hook` log
//! lines, `hooks` in task.yaml is refused, and `doctor` lists them.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::faces::Env;
use common::{dir_bytes, path_str};
use serde_json::Value;

/// Writes the user's config.yaml.
fn config(env: &Env, yaml: &str) {
    let dir = env.config_home().join("ctask");
    fs::create_dir_all(&dir).expect("config dir");
    fs::write(dir.join("config.yaml"), yaml).expect("config");
}

/// A YAML flow list of `sh -c SCRIPT`.
fn sh(script: &str) -> String {
    serde_json::to_string(&["sh", "-c", script]).expect("json")
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 && !fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[test]
fn a_failing_before_begin_refuses_the_begin_and_changes_nothing() {
    let env = Env::new();
    let ws = env.new_ws("guarded");
    let ran = env.scratch("agent-ran");
    config(&env, &format!("hooks:\n  before_begin: {}\n", sh("exit 1")));
    let before = dir_bytes(&ws);
    let out = env.run(&[
        "resume",
        path_str(&ws),
        "-a",
        "sh",
        "--",
        "-c",
        &format!("touch {}", path_str(&ran)),
    ]);
    out.code_is(1);
    assert!(
        out.stderr
            .contains("hook before_begin (sh) failed: exit code 1")
            && out.stderr.contains("not begun"),
        "{}",
        out.stderr
    );
    assert!(!ran.exists(), "the agent ran");
    assert_eq!(dir_bytes(&ws), before, ".ctask/ or the log changed");
}

#[test]
fn a_hanging_hook_is_killed_with_its_group_at_the_timeout() {
    let env = Env::new();
    let ws = env.new_ws("slow");
    let pids = env.scratch("pids");
    let script = format!(
        "sleep 300 & echo $! > {p}.child; echo $$ > {p}; wait",
        p = path_str(&pids)
    );
    config(
        &env,
        &format!(
            "hook_timeout_seconds: 1\nhooks:\n  before_begin: {}\n",
            sh(&script)
        ),
    );
    let before = dir_bytes(&ws);
    let t = Instant::now();
    let out = env.run(&["resume", path_str(&ws), "-a", "sh", "--", "-c", "true"]);
    let took = t.elapsed();
    out.code_is(1);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    common::figure("hook_timeout_1s_refusal_ms", took.as_millis());
    for f in [
        pids.clone(),
        PathBuf::from(format!("{}.child", path_str(&pids))),
    ] {
        let pid: i32 = fs::read_to_string(&f)
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        assert!(
            common::wait_for(|| !alive(pid), Duration::from_secs(2)),
            "process {pid} of the hook is still running"
        );
    }
    assert_eq!(dir_bytes(&ws), before);
}

#[test]
fn hooks_get_the_session_environment_and_failures_are_logged() {
    let env = Env::new();
    let seen = env.scratch("seen");
    let record = format!(
        r#"printf '%s|%s|%s|%s\n' "$CTASK_HOOK" "$CTASK_SESSION_ID" "$CTASK_WORKSPACE" "$CTASK_SUMMARY" >> {}"#,
        path_str(&seen)
    );
    config(
        &env,
        &format!(
            "hooks:\n  on_create: {}\n  before_begin: {}\n  after_end: {}\n",
            sh(&format!("{record}; exit 3")),
            sh(&record),
            sh(&format!("{record}; test -f \"$CTASK_SUMMARY\" && exit 5")),
        ),
    );
    let out = env.run(&["new", "hooked", "--no-launch"]);
    out.ok();
    let ws = PathBuf::from(out.stdout.trim_end());
    assert!(ws.is_dir(), "stdout is the path alone: {:?}", out.stdout);
    assert!(
        out.stderr
            .contains("hook on_create (sh) failed: exit code 3"),
        "{}",
        out.stderr
    );
    let out = env.run(&["resume", path_str(&ws), "-a", "sh", "--", "-c", "exit 0"]);
    out.ok();
    assert!(
        out.stderr
            .contains("hook after_end (sh) failed: exit code 5"),
        "{}",
        out.stderr
    );
    let lines: Vec<Vec<String>> = fs::read_to_string(&seen)
        .expect("seen")
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let ws_s = ws.to_string_lossy().into_owned();
    assert_eq!(lines[0][..4], ["on_create", "", &ws_s, ""]);
    let start = common::log_lines(&ws)
        .into_iter()
        .find(|l| l.event == "start")
        .expect("start line");
    let id = start.get("id").expect("id").to_owned();
    assert_eq!(lines[1][..4], ["before_begin", &id, &ws_s, ""]);
    let summary = ws.join(".ctask/last-session-summary.json");
    assert_eq!(
        lines[2][..4],
        ["after_end", &id, &ws_s, &summary.to_string_lossy()]
    );
    let hooks: Vec<String> = fs::read_to_string(ws.join("logs/sessions.log"))
        .expect("log")
        .lines()
        .filter(|l| l.split(' ').nth(1) == Some("hook"))
        .map(|l| l.split_once(' ').expect("ts").1.to_owned())
        .collect();
    assert_eq!(
        hooks,
        [
            "hook id=- name=on_create exit=3".to_owned(),
            format!("hook id={id} name=after_end exit=5"),
        ]
    );
    // The end line came before the after_end hook ran.
    let text = fs::read_to_string(ws.join("logs/sessions.log")).expect("log");
    let end_at = text.find(" end id=").expect("end");
    assert!(end_at < text.find("name=after_end").expect("hook line"));
}

#[test]
fn hooks_in_task_yaml_are_refused() {
    let env = Env::new();
    let ws = env.new_ws("sneaky");
    let marker = env.scratch("planted-ran");
    let task = ws.join("task.yaml");
    let mut text = fs::read_to_string(&task).expect("task");
    text.push_str(&format!(
        "hooks:\n  before_begin: [touch, {}]\n",
        path_str(&marker)
    ));
    fs::write(&task, text).expect("plant");
    let before = dir_bytes(&ws);
    let out = env.run(&["resume", path_str(&ws), "-a", "sh", "--", "-c", "true"]);
    out.code_is(1);
    assert!(
        out.stderr.contains("`hooks` key")
            && out.stderr.contains("must never make ctask run")
            && out.stderr.contains("task.yaml"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists());
    assert_eq!(dir_bytes(&ws), before);
}

#[test]
fn doctor_lists_the_hooks() {
    let env = Env::new();
    config(
        &env,
        "hook_timeout_seconds: 7\nhooks:\n  after_end: [notify-send, \"session ended\"]\n",
    );
    let out = env.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).expect("doctor JSON");
    let s = &v["settings"];
    assert_eq!(
        s["hooks"]["value"]["after_end"],
        serde_json::json!(["notify-send", "session ended"])
    );
    assert_eq!(s["hooks"]["source"], "config");
    assert_eq!(s["hook_timeout_seconds"]["value"], 7);
    let human = env.run(&["doctor"]).stdout;
    assert!(
        human.contains("after_end") && human.contains("\"session ended\""),
        "{human}"
    );
    // An empty argv, a zero timeout and an unknown hook are refused, naming the file;
    // nothing is created.
    let ws_before = dir_bytes(&env.root());
    for (yaml, names) in [
        ("hooks:\n  before_begin: []\n", "before_begin"),
        (
            "hook_timeout_seconds: 0\nhooks:\n  after_end: [true]\n",
            "hook_timeout_seconds",
        ),
        ("hooks:\n  on_start: [true]\n", "on_start"),
    ] {
        config(&env, yaml);
        let out = env.run(&["new", "never", "--no-launch"]);
        out.code_is(1);
        assert!(
            out.stderr.contains("config.yaml") && out.stderr.contains(names),
            "{yaml}: {}",
            out.stderr
        );
        assert_eq!(dir_bytes(&env.root()), ws_before, "{yaml}");
    }
}

#[test]
fn persistent_sessions_run_the_hooks_in_their_supervisor() {
    if !common::tmux_available() {
        eprintln!("skipped: tmux is not available");
        return;
    }
    let env = Env::new();
    let ws = env.new_ws("persistent-hooks");
    config(&env, &format!("hooks:\n  before_begin: {}\n", sh("exit 6")));
    let before = dir_bytes(&ws);
    let out = env.run(&[
        "resume",
        path_str(&ws),
        "--detach",
        "-a",
        "sh",
        "--",
        "-c",
        "sleep 30",
    ]);
    out.code_is(1);
    assert!(
        out.stderr
            .contains("hook before_begin (sh) failed: exit code 6"),
        "{}",
        out.stderr
    );
    assert!(
        !env.tmux(&["ls"]).status.success(),
        "a tmux session was left"
    );
    assert_eq!(dir_bytes(&ws), before);

    let seen = env.scratch("after");
    config(
        &env,
        &format!(
            "hooks:\n  after_end: {}\n",
            sh(&format!(
                r#"printf '%s %s' "$CTASK_HOOK" "$CTASK_SESSION_ID" > {}"#,
                path_str(&seen)
            ))
        ),
    );
    let out = env.run(&[
        "resume",
        path_str(&ws),
        "--detach",
        "-a",
        "sh",
        "--",
        "-c",
        "sleep 0.5",
    ]);
    out.ok();
    assert!(
        common::wait_for(|| seen.exists(), common::PATIENCE),
        "after_end never ran"
    );
    let id = common::summary(&ws)["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(common::wait_for(
        || fs::read_to_string(&seen).is_ok_and(|t| t == format!("after_end {id}")),
        Duration::from_secs(5)
    ));
}

#[test]
fn a_hook_that_cannot_start_refuses_the_begin_and_hook_output_stays_off_stdout() {
    let env = Env::new();
    config(&env, "hooks:\n  on_create: [echo, noise-from-the-hook]\n");
    let out = env.run(&["new", "quiet-stdout", "--no-launch"]);
    out.ok();
    let ws = PathBuf::from(out.stdout.trim_end());
    assert_eq!(out.stdout.lines().count(), 1, "{:?}", out.stdout);
    assert!(ws.is_dir());
    assert!(out.stderr.contains("noise-from-the-hook"), "{}", out.stderr);

    config(&env, "hooks:\n  before_begin: [/nonexistent/check]\n");
    let before = dir_bytes(&ws);
    let out = env.run(&["resume", path_str(&ws), "-a", "sh", "--", "-c", "true"]);
    out.code_is(1);
    assert!(
        out.stderr
            .contains("hook before_begin (/nonexistent/check) failed: could not be started"),
        "{}",
        out.stderr
    );
    assert_eq!(dir_bytes(&ws), before);
}
