//! `ctask state`: the agent's state in the lease, seen by `status`, `list`, `info` and
//! `log --json`; refused outside a session; kept by the heartbeat; never shown raw.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::faces::Env;
use common::{PATIENCE, bin, dir_bytes, path_str, wait_for};
use serde_json::Value;

fn status_json(env: &Env, ws: &Path) -> Value {
    let out = env.run(&["status", path_str(ws), "--json"]);
    out.ok();
    serde_json::from_str(&out.stdout).expect("status JSON")
}

/// Waits until `ws` has a live session whose begin is complete: lease written, `start`
/// line logged, `write.lock` released (the lock is taken before the lease is written:
/// `active` alone comes a moment too early).
fn wait_leased(env: &Env, ws: &Path) {
    let ok = wait_for(
        || {
            let st = status_json(env, ws);
            let Some(id) = st["lease"]["session_id"].as_str() else {
                return false;
            };
            st["state"] == "active"
                && fs::read_to_string(ws.join("logs/sessions.log"))
                    .is_ok_and(|t| t.contains(&format!(" start id={id} ")))
                && !ws.join(".ctask/write.lock").exists()
        },
        PATIENCE,
    );
    assert!(ok, "no live session with a lease in {}", ws.display());
}

fn lease(ws: &Path) -> Value {
    serde_json::from_slice(&fs::read(ws.join(".ctask/session.json")).expect("lease"))
        .expect("lease JSON")
}

/// `ctask state ARGS` run as the session's agent would: `CTASK_WORKSPACE` and
/// `CTASK_SESSION_ID` of `ws`'s lease.
fn state_as_agent(env: &Env, ws: &Path, args: &[&str]) -> common::Out {
    let id = lease(ws)["session_id"].as_str().expect("id").to_owned();
    let mut cmd = env.cmd(&["state"]);
    cmd.args(args)
        .env("CTASK_WORKSPACE", ws)
        .env("CTASK_SESSION_ID", id);
    env.run_cmd(cmd)
}

#[test]
fn state_transitions_are_seen_by_status_list_info_and_log() {
    let env = Env::new();
    let ws = env.new_ws("stateful");
    let gate = env.scratch("gate");
    let said = env.scratch("said");
    // The agent itself reports `working` through the environment its session gave it.
    let script = format!(
        r#""{}" state working && touch "{}"; i=0; while [ ! -e "{}" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done"#,
        path_str(&bin()),
        path_str(&said),
        path_str(&gate)
    );
    let mut session =
        common::Bg::spawn(env.cmd(&["resume", path_str(&ws), "-a", "sh", "--", "-c", &script]));
    assert!(
        wait_for(|| said.exists(), PATIENCE),
        "the agent never set its state"
    );
    let st = status_json(&env, &ws);
    assert_eq!(st["state"], "active");
    assert_eq!(st["agent_state"], "working", "{st}");
    assert!(st["agent_state_age_s"].as_i64().expect("age") >= 0);
    assert!(st["agent_state_at"].is_string());
    assert!(st.get("agent_message").is_none());

    let out = state_as_agent(
        &env,
        &ws,
        &["waiting", "--message", "Allow edit of main.rs?"],
    );
    out.ok();
    let st = status_json(&env, &ws);
    assert_eq!(st["agent_state"], "waiting");
    assert_eq!(st["agent_message"], "Allow edit of main.rs?");
    assert_eq!(st["lease"]["agent_state"], "waiting");

    let human = env.run(&["status", path_str(&ws)]);
    assert!(
        human.stdout.contains("agent waiting for ") && human.stdout.contains("Allow edit"),
        "{}",
        human.stdout
    );
    let list = env.run(&["list", "--json"]);
    let rows: Value = serde_json::from_str(&list.stdout).expect("list JSON");
    assert_eq!(rows[0]["session"]["agent_state"], "waiting", "{rows}");
    assert_eq!(
        rows[0]["session"]["agent_message"],
        "Allow edit of main.rs?"
    );
    let table = env.run(&["list"]).stdout;
    assert!(
        table.contains("AGENT") && table.contains("waiting "),
        "{table}"
    );
    let info = env.run(&["info", path_str(&ws)]).stdout;
    assert!(
        info.contains("agent state:") && info.contains("waiting"),
        "{info}"
    );

    state_as_agent(&env, &ws, &["idle"]).ok();
    let st = status_json(&env, &ws);
    assert_eq!(st["agent_state"], "idle");
    assert!(
        st.get("agent_message").is_none(),
        "a new state clears the message"
    );
    state_as_agent(&env, &ws, &["done", "-m", "all tests pass"]).ok();
    assert_eq!(status_json(&env, &ws)["agent_state"], "done");

    let log: Value =
        serde_json::from_str(&env.run(&["log", path_str(&ws), "--json"]).stdout).expect("log");
    let states: Vec<&Value> = log
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["event"] == "state")
        .collect();
    let names: Vec<&str> = states
        .iter()
        .map(|e| e["fields"]["state"].as_str().expect("state"))
        .collect();
    assert_eq!(names, ["working", "waiting", "idle", "done"]);
    // Keys in the contract's order, in the log itself.
    let text = fs::read_to_string(ws.join("logs/sessions.log")).expect("log");
    let line = text
        .lines()
        .find(|l| l.contains(" state ") && l.contains("waiting"))
        .expect("state line");
    let keys: Vec<&str> = line
        .split(' ')
        .skip(2)
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .filter(|k| !k.contains('"'))
        .collect();
    assert_eq!(keys[..4], ["id", "state", "pid", "message"], "{line}");
    assert_eq!(states[1]["fields"]["message"], "Allow edit of main.rs?");
    assert_eq!(states[1]["fields"]["id"], lease(&ws)["session_id"]);

    fs::write(&gate, "").expect("gate");
    session.wait().ok();
    assert_eq!(status_json(&env, &ws)["state"], "none");
}

#[test]
fn a_state_from_outside_any_session_is_refused_and_writes_nothing() {
    let env = Env::new();
    let ws = env.new_ws("nobody-home");
    let before = dir_bytes(&ws);
    let mut cmd = env.cmd(&["state", "working"]);
    cmd.env("CTASK_WORKSPACE", &ws)
        .env("CTASK_SESSION_ID", "host-1-20260101T000000Z-abcd");
    let out = env.run_cmd(cmd);
    out.code_is(1);
    assert!(
        out.stderr.contains("no session is running"),
        "{}",
        out.stderr
    );
    assert_eq!(dir_bytes(&ws), before);

    // A dead owner's lease (the lock is free) with another session id: refused, untouched.
    let planted = serde_json::json!({
        "session_id": "elsewhere-77-20260101T000000Z-0001",
        "pid": 77, "hostname": "elsewhere", "lock": "session.lock",
        "heartbeat_at": "2026-01-01T00:00:00Z"
    });
    fs::write(ws.join(".ctask/session.json"), planted.to_string()).expect("plant");
    let before = dir_bytes(&ws);
    let mut cmd = env.cmd(&["state", "waiting", path_str(&ws)]);
    cmd.env("CTASK_SESSION_ID", "host-1-20260101T000000Z-abcd");
    let out = env.run_cmd(cmd);
    out.code_is(1);
    assert!(
        out.stderr.contains("elsewhere-77-20260101T000000Z-0001")
            && out.stderr.contains("owner is gone")
            && out.stderr.contains("nothing was set"),
        "{}",
        out.stderr
    );
    assert_eq!(dir_bytes(&ws), before);
    // No session id at all: the same.
    let out = env.run(&["state", "idle", path_str(&ws)]);
    out.code_is(1);
    assert_eq!(dir_bytes(&ws), before);
}

#[test]
fn bad_messages_are_refused_and_write_nothing() {
    let env = Env::new();
    let ws = env.new_ws("picky");
    let (mut session, gate) = env.gated_session(&ws);
    wait_leased(&env, &ws);
    let before = dir_bytes(&ws.join(".ctask"));
    let log_before = fs::read(ws.join("logs/sessions.log")).unwrap_or_default();
    for (msg, why) in [
        ("two\nlines", "control character"),
        ("\u{1b}[31mred", "control character"),
        (&"x".repeat(1025) as &str, "at most 1024"),
    ] {
        let out = state_as_agent(&env, &ws, &["waiting", "--message", msg]);
        out.code_is(1);
        assert!(out.stderr.contains(why), "{}", out.stderr);
        assert!(
            !out.stderr.contains('\u{1b}'),
            "the message reached the terminal raw"
        );
        assert_eq!(dir_bytes(&ws.join(".ctask")), before);
        assert_eq!(
            fs::read(ws.join("logs/sessions.log")).unwrap_or_default(),
            log_before
        );
    }
    let out = env.run(&["state", "sleeping", path_str(&ws)]);
    out.code_is(2);
    fs::write(&gate, "").expect("gate");
    session.wait().ok();
}

#[test]
fn a_planted_message_never_reaches_the_terminal_raw() {
    let env = Env::new();
    let ws = env.new_ws("hostile-state");
    let (mut session, gate) = env.gated_session(&ws);
    wait_leased(&env, &ws);
    // The agent can write the lease itself: a message with escapes and a fake line.
    let mut l = lease(&ws);
    l["agent_state"] = "waiting".into();
    l["agent_state_at"] = "2026-01-01T00:00:00Z".into();
    l["agent_message"] = "\u{1b}]0;owned\u{7}\n[ctask] fake line\u{9b}".into();
    fs::write(ws.join(".ctask/session.json"), l.to_string()).expect("plant");
    for args in [
        vec!["status", path_str(&ws)],
        vec!["info", path_str(&ws)],
        vec!["list"],
    ] {
        let out = env.run(&args);
        out.ok();
        assert!(
            !out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{9b}'),
            "{args:?}: {:?}",
            out.stdout
        );
        assert!(
            !out.stdout.contains("\n[ctask] fake"),
            "{args:?}: {:?}",
            out.stdout
        );
    }
    assert!(
        env.run(&["status", path_str(&ws)])
            .stdout
            .contains("\\x1b]0;owned")
    );
    // JSON stays exact.
    assert_eq!(
        status_json(&env, &ws)["agent_message"],
        "\u{1b}]0;owned\u{7}\n[ctask] fake line\u{9b}"
    );
    fs::write(&gate, "").expect("gate");
    session.wait().ok();
}

#[test]
fn the_heartbeat_keeps_the_state() {
    let env = Env::new();
    let ws = env.new_ws("beating");
    let gate = env.scratch("gate");
    let script = format!(
        r#"i=0; while [ ! -e "{}" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done"#,
        path_str(&gate)
    );
    let mut cmd = env.cmd(&["resume", path_str(&ws), "-a", "sh", "--", "-c", &script]);
    cmd.env("CTASK_HEARTBEAT_SECONDS", "1")
        .env("CTASK_STALE_AFTER_SECONDS", "2");
    let mut session = common::Bg::spawn(cmd);
    wait_leased(&env, &ws);
    let out = state_as_agent(&env, &ws, &["waiting", "-m", "still here"]);
    assert!(
        out.status.success(),
        "{} / {}",
        out.stderr,
        session.stderr()
    );
    let first_beat = lease(&ws)["heartbeat_at"].clone();
    // Two more heartbeats (one a second) rewrite the lease; the state stays.
    let beaten = wait_for(
        || {
            let l = lease(&ws);
            l["heartbeat_at"] != first_beat && {
                std::thread::sleep(Duration::from_millis(1100));
                true
            }
        },
        PATIENCE,
    );
    assert!(beaten, "the heartbeat never ran");
    let l = lease(&ws);
    assert_ne!(l["heartbeat_at"], first_beat);
    assert_eq!(l["agent_state"], "waiting", "{l}");
    assert_eq!(l["agent_message"], "still here");
    assert!(l["agent_state_at"].is_string());
    fs::write(&gate, "").expect("gate");
    session.wait().ok();
}
