//! Persistent (tmux) mode through the built `ctask` binary (issue 10 acceptance), against a
//! private tmux server: every test points `TMUX_TMPDIR` at its own temporary directory.
//!
//! Each test's [`Env`] kills, when it drops, its tmux servers and every process that carries
//! its temporary directory in its environment (supervisors, agents, tmux), so a failing test
//! leaves nothing behind. Without tmux a test prints why and returns — except under
//! `CI=true`, where a missing tmux is a failure.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    Out, PATIENCE, Sandbox, bin, remove_inherited, sha256_hex, summary, tmux_available, wait_until,
};
use serde_json::Value;

/// Shell code that waits (at most about a minute) for the file named by `$GATE_VAR`.
fn gate_loop(var: &str) -> String {
    format!(r#"i=0; while [ ! -e "${var}" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done"#)
}

/// A private root, home, config home, temp dir and tmux server directory.
struct Env {
    sandbox: Sandbox,
    vars: Vec<(String, String)>,
}

impl Deref for Env {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Env {
    fn new() -> Option<Env> {
        if !tmux_available() {
            return None;
        }
        Some(Env::without_tmux_check())
    }

    fn without_tmux_check() -> Env {
        Env {
            sandbox: Sandbox::with_dirs(&["scratch", "tmux", "tmp", "outer"]),
            vars: Vec::new(),
        }
    }

    fn tmux_dir(&self) -> PathBuf {
        self.dir.path().join("tmux")
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// The environment every `ctask` of this test runs with (nothing inherited from ctask or
    /// an enclosing tmux).
    fn env_pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = (self.sandbox.vars().iter())
            .map(|(k, p)| ((*k).to_owned(), s(p)))
            .collect();
        v.extend([
            ("TMUX_TMPDIR".to_owned(), s(&self.tmux_dir())),
            ("TMPDIR".to_owned(), s(&self.tmp())),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ]);
        v.extend(self.vars.iter().cloned());
        v
    }

    fn clean(&self, cmd: &mut Command) {
        remove_inherited(cmd, &["CTASK_", "TMUX"]);
        cmd.envs(self.env_pairs());
    }

    fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(bin());
        self.clean(&mut cmd);
        cmd.current_dir(self.scratch_dir())
            .stdin(Stdio::null())
            .args(args);
        cmd
    }

    /// Runs `ctask ARGS` to completion (stdin is not a terminal).
    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        run_bounded(self.cmd(args))
    }

    /// Runs `tmux ARGS` against this test's private default server.
    fn tmux(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("tmux");
        self.clean(&mut cmd);
        cmd.args(args).stdin(Stdio::null());
        cmd.output().expect("run tmux")
    }

    /// The sessions of the private server.
    fn tmux_sessions(&self) -> Vec<String> {
        let out = self.tmux(&["list-sessions", "-F", "#{session_name}"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Creates a workspace without launching anything; returns its path.
    fn new_ws(&self, title: &str, category: Option<&str>) -> PathBuf {
        let mut args = vec!["new", title, "--no-launch"];
        if let Some(c) = category {
            args.extend(["-c", c]);
        }
        let out = self.run(&args);
        out.ok();
        PathBuf::from(out.stdout.trim_end())
    }

    fn json<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> Value {
        let out = self.run(args);
        out.ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`ctask {args:?}` printed invalid JSON ({e}): {out:?}"))
    }

    fn status(&self, ws: &Path) -> Value {
        self.json(&["status", s(ws).as_str(), "--json"])
    }

    /// `resume WS --detach -a sh -- -c SCRIPT sh EXTRA…`, which must succeed; returns the
    /// session id and the supervisor's pid from `status --json`.
    fn detach(&self, ws: &Path, script: &str, extra: &[&Path]) -> (String, u32) {
        let out = self.run(&sh_args("resume", ws, &["--detach"], script, extra));
        out.ok();
        assert!(out.stderr.contains("supervisor pid"), "{out:?}");
        let st = self.status(ws);
        assert_eq!(st["state"], "active", "{st:#}");
        let id = st["lease"]["session_id"].as_str().expect("id").to_owned();
        let pid = st["lease"]["pid"].as_u64().expect("pid");
        (id, u32::try_from(pid).expect("pid"))
    }

    /// Waits until `ws` has no session and returns its last summary, which must be `id`'s.
    fn wait_ended(&self, ws: &Path, id: &str) -> Value {
        wait_for(&format!("session {id} to end"), || {
            let st = self.status(ws);
            (st["state"] == "none" && st["last_summary"]["session_id"] == id).then_some(())
        });
        assert!(!ws.join(".ctask/session.json").exists(), "a lease remains");
        summary(ws)
    }

    /// Every process whose environment mentions this test's directory.
    fn own_processes(&self) -> Vec<libc::pid_t> {
        common::processes_mentioning(self.dir.path())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        let outer = outer_socket(self);
        if outer.exists() {
            let _ = Command::new("tmux")
                .arg("-S")
                .arg(&outer)
                .arg("kill-server")
                .stdin(Stdio::null())
                .output();
        }
        for pid in self.own_processes() {
            // SAFETY: a plain kill of a process this test started (its environment carries
            // this test's private directory).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

fn sh_args<'a>(
    cmd: &'a str,
    ws: &Path,
    flags: &[&'a str],
    script: &'a str,
    extra: &[&Path],
) -> Vec<String> {
    let mut v: Vec<String> = vec![cmd.to_owned(), s(ws)];
    v.extend(flags.iter().map(|f| (*f).to_owned()));
    v.extend(["-a", "sh", "--", "-c", script, "sh"].map(str::to_owned));
    v.extend(extra.iter().map(|p| s(p)));
    v
}

/// Runs a command with a deadline; it is killed when it overruns.
fn run_bounded(mut cmd: Command) -> Out {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + PATIENCE;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let o = child.wait_with_output().expect("wait");
            panic!(
                "command did not finish in time: {cmd:?}; stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Out::from(child.wait_with_output().expect("output"))
}

/// Polls `f` every 100 ms (within [`PATIENCE`]) until it returns something.
fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    wait_until(what, Duration::from_millis(100), f)
}

/// `(event, id)` of every line of the workspace log.
fn log_events(env: &Env, ws: &Path) -> Vec<(String, String)> {
    let v = env.json(&["log", s(ws).as_str(), "--json"]);
    v.as_array()
        .expect("log array")
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["fields"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn count(events: &[(String, String)], event: &str, id: &str) -> usize {
    events.iter().filter(|(e, i)| e == event && i == id).count()
}

/// Every file under `dir` with its contents (a missing dir is empty).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

fn line_count(p: &Path) -> usize {
    fs::read_to_string(p).unwrap_or_default().lines().count()
}

fn process_gone(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie waiting for its parent counts as gone.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn kill9(pid: u32) {
    let p = libc::pid_t::try_from(pid).expect("pid");
    // SAFETY: a plain kill of the supervisor this test started.
    assert_eq!(unsafe { libc::kill(p, libc::SIGKILL) }, 0, "kill -9 {pid}");
    wait_for("the killed supervisor to go", || {
        process_gone(pid).then_some(())
    });
}

// ---- the session-name rule, computed independently of the library ----

/// Lower-case, `[^a-z0-9_-]` → `_`, runs of `_` collapsed, `_` and `-` trimmed, empty → `_`.
fn rule_clean(part: &str) -> String {
    let mapped: String = part
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut collapsed = String::new();
    for c in mapped.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    let t = collapsed.trim_matches(|c| c == '_' || c == '-');
    if t.is_empty() { "_".into() } else { t.into() }
}

/// `ctask-<category>-<slug≤30>-<hash6>` for workspace `ws` (read from `info --json`).
fn expected_name(env: &Env, ws: &Path) -> String {
    let info = env.json(&["info", s(ws).as_str(), "--json"]);
    let category = rule_clean(info["category"].as_str().expect("category"));
    let mut slug = rule_clean(info["slug"].as_str().expect("slug"));
    if slug.len() > 30 {
        slug.truncate(30);
        slug = slug.trim_end_matches('_').to_owned();
        if slug.is_empty() {
            slug = "_".into();
        }
    }
    let path = info["path"].as_str().expect("path");
    assert_eq!(Path::new(path), ws);
    let hash = sha256_hex(path.as_bytes());
    format!("ctask-{category}-{slug}-{}", &hash[..6])
}

fn valid_tmux_name(n: &str) -> bool {
    n.starts_with("ctask-")
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

// ---- the tests ----

/// Detached start: the tmux session has the exact name, `status` says active/persistent
/// with nobody attached, and when the agent ends on its own the supervisor writes the
/// summary and removes the lease.
#[test]
fn detached_start_runs_and_ends_without_anyone_attached() {
    let Some(env) = Env::new() else { return };
    let ws = env.new_ws("Detached start", None);
    let gate = env.scratch("gate");
    // `echo hi > f.txt; sleep 2`, held open until the test has looked at it, so a loaded
    // machine cannot end the agent before the checks.
    let script = format!("echo hi > f.txt; {}; sleep 2", gate_loop("1"));
    let (id, supervisor) = env.detach(&ws, &script, &[&gate]);

    let name = expected_name(&env, &ws);
    assert_eq!(env.tmux_sessions(), vec![name.clone()]);
    let st = env.status(&ws);
    assert_eq!(st["state"], "active", "{st:#}");
    assert_eq!(st["mode"], "persistent", "{st:#}");
    assert_eq!(st["tmux_session"], name.as_str(), "{st:#}");
    assert_eq!(st["attached"], false, "{st:#}");
    assert_eq!(st["lease"]["pid"], supervisor);
    let human = env.run(&["status", s(&ws).as_str()]);
    human.ok();
    assert!(human.stdout.contains(&name), "{human:?}");
    assert!(human.stdout.contains("not attached"), "{human:?}");

    fs::write(&gate, "").expect("gate");
    let sum = env.wait_ended(&ws, &id);
    assert_eq!(sum["files_added"], serde_json::json!(["f.txt"]), "{sum:#}");
    assert_eq!(sum["end_reason"], "tmux_session_ended");
    assert_eq!(sum["detected_via"], "polling");
    assert_eq!(sum["session_ownership"], "created");
    assert_eq!(sum["mode"], "persistent");
    assert_eq!(sum["exit_code"], 0);
    assert!(sum.get("adopted_from_orphan_at").is_none(), "{sum:#}");
    assert!(env.tmux_sessions().is_empty(), "the tmux session remains");
    wait_for("the supervisor to exit", || {
        process_gone(supervisor).then_some(())
    });
    let events = log_events(&env, &ws);
    assert_eq!(count(&events, "start", &id), 1, "{events:?}");
    assert_eq!(count(&events, "end", &id), 1, "{events:?}");
}

/// The agent of the adoption tests: counts its starts, waits for the gate, exits 7.
fn counted_agent() -> String {
    format!(r#"echo started >> "$1"; {}; exit 7"#, gate_loop("2"))
}

/// kill -9 of the supervisor, then `how` adopts the orphan.
fn adopt_after_kill(how: &str) {
    let Some(env) = Env::new() else { return };
    let ws = env.new_ws(&format!("Adopt by {how}"), None);
    let starts = env.scratch("starts");
    let gate = env.scratch("gate");
    let (id, supervisor) = env.detach(&ws, &counted_agent(), &[&starts, &gate]);
    wait_for("the agent to start", || {
        (line_count(&starts) == 1).then_some(())
    });
    let name = expected_name(&env, &ws);
    fs::write(ws.join("during.txt"), "made before the adoption").expect("write");

    kill9(supervisor);
    assert_eq!(env.tmux_sessions(), vec![name.clone()], "tmux must survive");
    let st = env.status(&ws);
    assert_ne!(st["state"], "active", "{st:#}");

    let out = match how {
        // An agent given here would append a second line: it must never run.
        "resume" => env.run(&sh_args(
            "resume",
            &ws,
            &["--detach"],
            r#"echo second >> "$1""#,
            &[&starts],
        )),
        // No flag: the configured direct mode must not start a second agent either.
        "plain resume" => env.run(&sh_args(
            "resume",
            &ws,
            &[],
            r#"echo second >> "$1""#,
            &[&starts],
        )),
        _ => env.run(&["attach", s(&ws).as_str(), "--detach"]),
    };
    out.ok();
    assert!(out.stderr.contains("adopted session"), "{out:?}");
    assert!(out.stderr.contains(&id), "{out:?}");

    let st = env.status(&ws);
    assert_eq!(st["state"], "active", "{st:#}");
    assert_eq!(st["lease"]["session_id"], id.as_str(), "{st:#}");
    assert_ne!(st["lease"]["pid"], supervisor, "{st:#}");
    assert!(st["lease"]["adopted_from_orphan_at"].is_string(), "{st:#}");
    assert_eq!(env.tmux_sessions(), vec![name]);

    fs::write(&gate, "").expect("gate");
    let sum = env.wait_ended(&ws, &id);
    assert_eq!(sum["session_ownership"], "adopted", "{sum:#}");
    assert!(sum["adopted_from_orphan_at"].is_string(), "{sum:#}");
    assert_eq!(sum["end_reason"], "tmux_session_ended");
    assert_eq!(sum["exit_code"], 7, "{sum:#}");
    assert_eq!(
        sum["files_added"],
        serde_json::json!(["during.txt"]),
        "changes while orphaned are kept: {sum:#}"
    );
    assert_eq!(line_count(&starts), 1, "a second agent was started");
    let events = log_events(&env, &ws);
    assert_eq!(count(&events, "start", &id), 1, "{events:?}");
    assert_eq!(count(&events, "adopt", &id), 1, "{events:?}");
    assert_eq!(count(&events, "end", &id), 1, "{events:?}");
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(env.tmux_sessions().is_empty());
}

#[test]
fn resume_adopts_an_orphan_after_kill_9_of_the_supervisor() {
    adopt_after_kill("resume");
}

#[test]
fn plain_resume_adopts_an_orphan_after_kill_9_of_the_supervisor() {
    adopt_after_kill("plain resume");
}

#[test]
fn attach_adopts_an_orphan_after_kill_9_of_the_supervisor() {
    adopt_after_kill("attach");
}

/// A second `attach` while the owner lives is passive: it writes nothing and names the owner.
#[test]
fn explicit_direct_never_starts_a_second_agent_beside_an_orphan() {
    let Some(env) = Env::new() else { return };
    let ws = env.new_ws("Direct beside an orphan", None);
    let starts = env.scratch("starts");
    let gate = env.scratch("gate");
    let (_id, supervisor) = env.detach(&ws, &counted_agent(), &[&starts, &gate]);
    wait_for("the agent to start", || {
        (line_count(&starts) == 1).then_some(())
    });
    kill9(supervisor);
    let before = snapshot(&ws);
    let out = env.run(&sh_args(
        "resume",
        &ws,
        &["--direct"],
        r#"echo second >> "$1""#,
        &[&starts],
    ));
    out.code_is(1);
    assert!(out.stderr.contains("tmux"), "{out:?}");
    assert_eq!(line_count(&starts), 1, "a second agent was started");
    assert_eq!(before, snapshot(&ws), "a refused begin writes nothing");
    assert_eq!(env.tmux_sessions(), vec![expected_name(&env, &ws)]);
    fs::write(&gate, "").expect("gate");
}

#[test]
fn second_attach_while_the_owner_lives_writes_nothing() {
    let Some(mut env) = Env::new() else { return };
    // No heartbeat during the test, so that any write would be attach's.
    env.vars
        .push(("CTASK_HEARTBEAT_SECONDS".into(), "3000".into()));
    env.vars
        .push(("CTASK_STALE_AFTER_SECONDS".into(), "7200".into()));
    let ws = env.new_ws("Passive attach", None);
    let starts = env.scratch("starts");
    let gate = env.scratch("gate");
    let (id, supervisor) = env.detach(&ws, &counted_agent(), &[&starts, &gate]);
    wait_for("the agent to start", || {
        (line_count(&starts) == 1).then_some(())
    });
    let before = snapshot(&ws);

    // Without a terminal, attach cannot attach: a clear error that names --detach.
    let out = env.run(&["attach", s(&ws).as_str()]);
    out.code_is(1);
    assert!(
        out.stderr.contains("needs a terminal") && out.stderr.contains("--detach"),
        "{out:?}"
    );
    let out = env.run(&["attach", s(&ws).as_str(), "--detach"]);
    out.ok();
    assert!(
        out.stderr.contains(&format!("pid {supervisor}")),
        "the owner is named: {out:?}"
    );
    assert!(out.stderr.contains(&id), "{out:?}");
    // A plain `resume` (configured direct mode) joins the tmux session the same way.
    let out = env.run(&sh_args(
        "resume",
        &ws,
        &[],
        r#"echo second >> "$1""#,
        &[&starts],
    ));
    out.ok();
    assert!(out.stderr.contains(&format!("pid {supervisor}")), "{out:?}");

    assert_eq!(snapshot(&ws), before, "a passive attach wrote something");
    assert_eq!(line_count(&starts), 1);
    let st = env.status(&ws);
    assert_eq!(st["lease"]["pid"], supervisor);

    fs::write(&gate, "").expect("gate");
    let sum = env.wait_ended(&ws, &id);
    assert_eq!(sum["session_ownership"], "created");
    assert_eq!(line_count(&starts), 1);
}

/// Dots, colons, Unicode and very long titles and categories: valid, distinct names that
/// follow the rule, and tmux accepts them.
#[test]
fn awkward_names_map_to_valid_distinct_tmux_names() {
    let Some(env) = Env::new() else { return };
    let long = "A very long title. With dots: colons, and more words than fit ".repeat(3);
    let mut wss = vec![
        env.new_ws("fix.auth: login v2.0", Some("Client.Work:2")),
        env.new_ws("日本語のタスク", Some("日本")),
        env.new_ws("Ünïcödé café", Some("Ökö.ca:t")),
        env.new_ws(&long, None),
        env.new_ws(&long, None),
    ];
    // A slug edited by hand, the way a user would, cut right after a separator.
    let edited = env.new_ws("edited slug", Some("a.b:c"));
    let yaml = fs::read_to_string(edited.join("task.yaml")).expect("task.yaml");
    let yaml = yaml.replace(
        "slug: edited-slug",
        "slug: \"Ab.cdefghijklmnopqrstuvwxyz01:日本 tail\"",
    );
    fs::write(edited.join("task.yaml"), yaml).expect("task.yaml");
    wss.push(edited);

    let gate = env.scratch("gate");
    let mut expected = Vec::new();
    let mut ids = Vec::new();
    for ws in &wss {
        let (id, _) = env.detach(ws, &gate_loop("1"), &[&gate]);
        let name = expected_name(&env, ws);
        assert_eq!(env.status(ws)["tmux_session"], name.as_str());
        expected.push(name);
        ids.push(id);
    }
    let mut listed = env.tmux_sessions();
    listed.sort();
    let mut want = expected.clone();
    want.sort();
    want.dedup();
    assert_eq!(
        want.len(),
        wss.len(),
        "names are not distinct: {expected:?}"
    );
    assert_eq!(listed, want);
    for n in &listed {
        assert!(valid_tmux_name(n), "{n}");
        let hash = n.rsplit_once('-').expect("hash").1;
        assert_eq!(hash.len(), 6, "{n}");
        let has = env.tmux(&["has-session", "-t", &format!("={n}")]);
        assert!(has.status.success(), "tmux does not find {n}");
    }
    // Cut at 30 bytes right after a separator, whose `_` is then dropped.
    assert!(
        expected[5].starts_with("ctask-a_b_c-ab_cdefghijklmnopqrstuvwxyz01-"),
        "{}",
        expected[5]
    );

    fs::write(&gate, "").expect("gate");
    for (ws, id) in wss.iter().zip(&ids) {
        let sum = env.wait_ended(ws, id);
        assert_eq!(sum["end_reason"], "tmux_session_ended");
    }
}

/// Without tmux: a clear error naming tmux, exit 1, nothing begun.
#[test]
fn tmux_missing_is_a_clear_error_and_nothing_begins() {
    let env = Env::without_tmux_check();
    let ws = env.new_ws("No tmux here", None);
    let marker = env.scratch("ran");
    let before = snapshot(&ws);
    let script = format!("echo x > {}", s(&marker));
    let attempts: Vec<Vec<String>> = vec![
        vec![
            "resume".into(),
            s(&ws),
            "--detach".into(),
            "-a".into(),
            "/bin/sh".into(),
            "--".into(),
            "-c".into(),
            script.clone(),
        ],
        vec![
            "resume".into(),
            s(&ws),
            "--persistent".into(),
            "-a".into(),
            "/bin/sh".into(),
            "--".into(),
            "-c".into(),
            script.clone(),
        ],
        vec!["attach".into(), s(&ws), "-a".into(), "/bin/sh".into()],
    ];
    for args in &attempts {
        let mut cmd = env.cmd(args);
        cmd.env("PATH", "/nonexistent");
        let out = run_bounded(cmd);
        out.code_is(1);
        assert!(out.stderr.contains("tmux"), "{out:?}");
        assert_eq!(snapshot(&ws), before, "{args:?} changed the workspace");
    }
    // Persistent by configuration, too.
    let mut cmd = env.cmd(&["resume", s(&ws).as_str(), "-a", "/bin/sh"]);
    cmd.env("PATH", "/nonexistent")
        .env("CTASK_SESSION_MODE", "persistent");
    let out = run_bounded(cmd);
    out.code_is(1);
    assert!(out.stderr.contains("tmux"), "{out:?}");
    assert_eq!(snapshot(&ws), before);
    assert!(!marker.exists(), "the agent ran");
    assert!(!ws.join("logs/sessions.log").exists() || log_events(&env, &ws).is_empty());
    assert_eq!(env.status(&ws)["state"], "none");
}

/// A secret from `agent.env` reaches the agent but no command line, and the env file that
/// carried it is gone once the agent runs.
#[test]
fn agent_env_secrets_never_reach_a_command_line() {
    let Some(env) = Env::new() else { return };
    let ws = env.new_ws("Secret agent", None);
    let secret = format!(
        "tok-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_nanos()
    );
    let seen = env.scratch("seen");
    let gate = env.scratch("gate");
    let script = env.scratch("agent.sh");
    fs::write(
        &script,
        format!(
            "printf '%s' \"$SECRET_TOKEN\" > \"$1\"\n{}\n",
            gate_loop("2")
        ),
    )
    .expect("agent script");
    let mut yaml = fs::read_to_string(ws.join("task.yaml")).expect("task.yaml");
    yaml.push_str(&format!(
        "agent:\n  type: custom\n  command: /bin/sh\n  args:\n    - {}\n    - {}\n    - {}\n  env:\n    SECRET_TOKEN: {secret}\n",
        s(&script),
        s(&seen),
        s(&gate)
    ));
    fs::write(ws.join("task.yaml"), yaml).expect("task.yaml");

    let out = env.run(&["resume", s(&ws).as_str(), "--detach"]);
    out.ok();
    let id = env.status(&ws)["lease"]["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_for("the agent to write the secret", || {
        (fs::read_to_string(&seen).ok()? == secret).then_some(())
    });
    let mut scanned = 0;
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(cmdline) = fs::read(e.path().join("cmdline")) {
            scanned += 1;
            assert!(
                !cmdline
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "the secret is on the command line of pid {:?}: {}",
                e.file_name(),
                String::from_utf8_lossy(&cmdline)
            );
        }
    }
    assert!(scanned > 3, "scanned only {scanned} processes");
    let leftovers: Vec<_> = fs::read_dir(env.tmp())
        .expect("tmp")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "env file left behind: {leftovers:?}");
    for (path, body) in snapshot(&ws) {
        assert!(
            !body.windows(secret.len()).any(|w| w == secret.as_bytes())
                || path.ends_with("task.yaml"),
            "the secret was written to {}",
            path.display()
        );
    }

    fs::write(&gate, "").expect("gate");
    let sum = env.wait_ended(&ws, &id);
    assert_eq!(sum["exit_code"], 0);
}

fn tmux_version() -> (u32, u32) {
    let out = Command::new("tmux").arg("-V").output().expect("tmux -V");
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text.trim().trim_start_matches("tmux ");
    let v = v.trim_start_matches(|c: char| !c.is_ascii_digit());
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// The agent's exit code is the summary's, also for an agent that exits at once; a death by
/// SIGTERM reads 143 where tmux reports the signal.
#[test]
fn exit_codes_reach_the_summary() {
    let Some(env) = Env::new() else { return };
    let ws = env.new_ws("Exit seven", None);
    let (id, _) = env.detach(&ws, "exit 7", &[]);
    assert_eq!(env.wait_ended(&ws, &id)["exit_code"], 7);

    let (id, _) = env.detach(&ws, "sleep 0.5; exit 7", &[]);
    let sum = env.wait_ended(&ws, &id);
    assert_eq!(sum["exit_code"], 7);
    assert_eq!(sum["end_reason"], "tmux_session_ended");

    let (id, _) = env.detach(&ws, "kill -TERM $$", &[]);
    let sum = env.wait_ended(&ws, &id);
    if tmux_version() >= (3, 3) {
        assert_eq!(sum["exit_code"], 143, "{sum:#}");
    } else {
        assert!(
            sum.get("exit_code").is_none() || sum["exit_code"] == 143,
            "{sum:#}"
        );
    }
    assert!(env.tmux_sessions().is_empty());
}

fn outer_socket(env: &Env) -> PathBuf {
    env.dir.path().join("outer").join("sock")
}

/// `tmux -S OUTER ARGS` (the outer server that plays the user's terminal).
fn outer(env: &Env, args: &[&str]) -> Output {
    let mut cmd = Command::new("tmux");
    env.clean(&mut cmd);
    cmd.arg("-S")
        .arg(outer_socket(env))
        .args(args)
        .stdin(Stdio::null());
    cmd.output().expect("outer tmux")
}

/// `env -i VARS… ctask ARGS…` as one argv, for a pane of the outer server.
fn in_terminal(env: &Env, args: &[String]) -> Vec<String> {
    let mut v = vec!["env".to_owned(), "-i".to_owned()];
    v.push(format!(
        "PATH={}",
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    ));
    v.push("TERM=screen".to_owned());
    v.extend(env.env_pairs().iter().map(|(k, val)| format!("{k}={val}")));
    v.push(s(&bin()));
    v.extend(args.iter().cloned());
    v
}

fn capture(env: &Env, target: &str) -> String {
    let out = outer(env, &["capture-pane", "-p", "-t", target]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(dead, status)` of the outer pane `target`; `dead` only once tmux knows how the process
/// ended (tmux marks a pane dead when its terminal closes, which can be before it reaped it).
fn outer_pane(env: &Env, target: &str) -> (bool, String) {
    let out = outer(
        env,
        &[
            "list-panes",
            "-t",
            target,
            "-F",
            "#{pane_dead} #{pane_dead_status}#{?pane_dead_signal,signal ,}#{pane_dead_signal}",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().next().unwrap_or("").to_owned();
    let (dead, status) = line.split_once(' ').unwrap_or((line.as_str(), ""));
    if dead == "1" && status.is_empty() {
        // tmux sometimes misses a pane process's SIGCHLD and leaves it unreaped until the
        // next one: send the outer server one.
        let pid = outer(env, &["display-message", "-p", "#{pid}"]);
        if let Ok(pid) = String::from_utf8_lossy(&pid.stdout)
            .trim()
            .parse::<libc::pid_t>()
        {
            // SAFETY: a plain kill of this test's own outer tmux server.
            unsafe {
                libc::kill(pid, libc::SIGCHLD);
            }
        }
    }
    (dead == "1" && !status.is_empty(), status.to_owned())
}

/// Interactive attach, through an outer tmux server playing the user's terminal: the agent's
/// output is visible, C-b d detaches without ending anything, `attach` comes back, and when
/// the agent exits the attached command returns its exit code.
#[test]
fn interactive_attach_through_an_outer_terminal() {
    let Some(env) = Env::new() else { return };
    let ws = env.new_ws("Interactive", None);
    let gate = env.scratch("gate");
    let conf = env.scratch("outer.conf");
    fs::write(&conf, "set -g remain-on-exit on\n").expect("outer conf");
    let script = format!("echo AGENT-SAYS-HELLO; {}; exit 5", gate_loop("1"));
    let first = in_terminal(
        &env,
        &sh_args("resume", &ws, &["--persistent"], &script, &[&gate]),
    );
    let mut args: Vec<&str> = vec![
        "-f",
        conf.to_str().expect("conf"),
        "new-session",
        "-d",
        "-s",
        "outer",
        "-x",
        "120",
        "-y",
        "40",
        "--",
    ];
    args.extend(first.iter().map(String::as_str));
    let out = outer(&env, &args);
    assert!(out.status.success(), "outer tmux: {out:?}");

    wait_for("the agent's output in the outer terminal", || {
        capture(&env, "=outer:0")
            .contains("AGENT-SAYS-HELLO")
            .then_some(())
    });
    let name = expected_name(&env, &ws);
    let st = wait_for("the client to show as attached", || {
        let st = env.status(&ws);
        (st["attached"] == true).then_some(st)
    });
    assert_eq!(st["mode"], "persistent");
    assert_eq!(st["tmux_session"], name.as_str());
    let id = st["lease"]["session_id"].as_str().expect("id").to_owned();
    let human = env.run(&["status", s(&ws).as_str()]);
    assert!(human.stdout.contains(&name), "{human:?}");
    assert!(
        human.stdout.contains("attached") && !human.stdout.contains("not attached"),
        "{human:?}"
    );

    // Detach: the command returns 0 and the session goes on.
    let out = outer(&env, &["send-keys", "-t", "=outer:0", "C-b", "d"]);
    assert!(out.status.success());
    let status = wait_for("ctask to return after the detach", || {
        let (dead, status) = outer_pane(&env, "=outer:0");
        dead.then_some(status)
    });
    assert_eq!(status, "0", "{}", capture(&env, "=outer:0"));
    let st = env.status(&ws);
    assert_eq!(st["state"], "active", "{st:#}");
    assert_eq!(st["attached"], false, "{st:#}");
    assert_eq!(env.tmux_sessions(), vec![name.clone()]);

    // Come back with `attach`, then let the agent end while attached.
    let second = in_terminal(&env, &["attach".to_owned(), s(&ws)]);
    let mut args: Vec<&str> = vec!["new-window", "-d", "-t", "=outer:", "-n", "again", "--"];
    args.extend(second.iter().map(String::as_str));
    let out = outer(&env, &args);
    assert!(out.status.success(), "{out:?}");
    wait_for("the second attach", || {
        (env.status(&ws)["attached"] == true).then_some(())
    });
    wait_for("the agent's output after reattaching", || {
        capture(&env, "=outer:again")
            .contains("AGENT-SAYS-HELLO")
            .then_some(())
    });
    fs::write(&gate, "").expect("gate");
    let status = wait_for("attach to return when the agent ends", || {
        let (dead, status) = outer_pane(&env, "=outer:again");
        dead.then_some(status)
    });
    let sum = env.wait_ended(&ws, &id);
    assert_eq!(sum["exit_code"], 5, "{sum:#}");
    assert_eq!(sum["session_ownership"], "created");
    assert_eq!(sum["end_reason"], "tmux_session_ended");
    assert_eq!(
        status,
        "5",
        "attach returns the agent's exit code: {}",
        capture(&env, "=outer:again")
    );
}

/// `--detach` with `--direct` is a usage error.
#[test]
fn detach_with_direct_is_a_usage_error() {
    let env = Env::without_tmux_check();
    let ws = env.new_ws("Usage", None);
    let before = snapshot(&ws);
    let w = s(&ws);
    for args in [
        vec!["resume", w.as_str(), "--detach", "--direct"],
        vec!["open", w.as_str(), "--detach", "--direct"],
        vec!["last", "--direct", "--detach"],
        vec!["resume", w.as_str(), "--persistent", "--direct"],
    ] {
        let out = env.run(&args);
        out.code_is(2);
    }
    assert_eq!(snapshot(&ws), before);
}

/// `snapshots: false` in `task.yaml` holds for a persistent session too (its supervisor
/// begins and ends it): nothing is stored; without it, the same session stores.
#[test]
fn snapshots_false_in_task_yaml_holds_for_a_persistent_session() {
    let Some(env) = Env::new() else { return };
    let ws = env.new_ws("Persistent no snapshots", None);
    let task = ws.join("task.yaml");
    let plain = fs::read_to_string(&task).expect("task.yaml");
    fs::write(&task, format!("{plain}snapshots: false\n")).expect("task.yaml");
    let (id, _) = env.detach(&ws, "echo hi > f.txt", &[]);
    let sum = env.wait_ended(&ws, &id);
    assert_eq!(sum["files_added"], serde_json::json!(["f.txt"]), "{sum:#}");
    assert!(!ws.join(".ctask/objects").exists(), "objects were stored");
    assert!(!ws.join(".ctask/history").exists(), "a record was written");
    fs::write(&task, plain).expect("task.yaml");
    let (id, _) = env.detach(&ws, "echo again > g.txt", &[]);
    env.wait_ended(&ws, &id);
    assert!(ws.join(format!(".ctask/history/{id}.json")).exists());
}
