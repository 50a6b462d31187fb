//! The rest of the CLI through the built binary: archive, restore, delete, notes, doctor,
//! agents check, completion, colours, --quiet, --json of every read command, and the
//! generated part of docs/cli.md.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use clap::CommandFactory;
use common::{PATIENCE, Sandbox, bin, path_str};
use serde_json::Value;

/// A private root, home and config home; inherited CTASK_* variables removed.
type Env = Sandbox;

impl Env {
    fn new() -> Env {
        Sandbox::with_dirs(&["scratch"])
    }
    fn config_file(&self) -> PathBuf {
        self.config_home().join("ctask").join("config.yaml")
    }
    fn write_config(&self, text: &str) {
        let p = self.config_file();
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write config");
    }
    fn std_cmd(&self) -> StdCommand {
        let mut cmd = StdCommand::new(bin());
        self.apply(&mut cmd);
        cmd
    }
    /// Isolates `cmd`: private root, home and config; no inherited CTASK_*, colour or
    /// editor variables; a scratch working directory (never inside a workspace); no
    /// standard input.
    fn apply(&self, cmd: &mut StdCommand) {
        self.isolate(cmd);
        cmd.env_remove("NO_COLOR")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .current_dir(self.scratch_dir())
            .stdin(Stdio::null());
    }
    fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run ctask")
    }
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(code(&out), 0, "{args:?} failed: {}", stderr(&out));
        out
    }
    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: invalid JSON ({e}): {}", stdout(&out)))
    }
    fn new_ws(&self, args: &[&str]) -> PathBuf {
        let mut all = vec!["new"];
        all.extend_from_slice(args);
        all.push("--no-launch");
        let out = self.ok(&all);
        PathBuf::from(stdout(&out).trim_end())
    }
    /// A background `resume W --agent sleep -- 60` in its own process group, returned once
    /// `status W --json` says the session is active.
    fn busy(&self, ws: &Path) -> Busy {
        let mut cmd = self.std_cmd();
        cmd.args(["resume", path_str(ws), "--agent", "sleep", "--", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let child = cmd.spawn().expect("spawn resume");
        let mut busy = Busy { child };
        let start = Instant::now();
        loop {
            let st = self.json(&["status", path_str(ws), "--json"]);
            // Active once session.lock is held; the owner is named once the lease is written.
            if st["state"] == "active" && st["lease"]["pid"].is_u64() {
                return busy;
            }
            if let Ok(Some(status)) = busy.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = busy.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("resume exited early with {status}: {err}");
            }
            assert!(start.elapsed() < PATIENCE, "session never became active");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A live session; its process group is ended when dropped.
struct Busy {
    child: Child,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: signalling a process group we created.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn expect_code(o: &Output, want: i32, what: &str) {
    assert_eq!(
        code(o),
        want,
        "{what}: exit {}; stdout: {}; stderr: {}",
        code(o),
        stdout(o),
        stderr(o)
    );
    assert!(
        !stderr(o).contains("panicked"),
        "{what}: panic: {}",
        stderr(o)
    );
}

fn task_status(ws: &Path) -> String {
    let text = fs::read_to_string(ws.join("task.yaml")).expect("task.yaml");
    text.lines()
        .find_map(|l| l.strip_prefix("status: "))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn names(env: &Env, all: bool) -> Vec<String> {
    let mut args = vec!["list", "--names"];
    if all {
        args.push("--all");
    }
    stdout(&env.ok(&args)).lines().map(str::to_owned).collect()
}

fn dir_name(ws: &Path) -> String {
    ws.file_name().expect("name").to_string_lossy().into_owned()
}

/// `sh -c` through `script`, which gives the command a pseudo-terminal; `None` (after
/// printing why) when `script` is not installed.
fn in_terminal(
    env: &Env,
    args: &[&str],
    input: &str,
    extra_env: &[(&str, &str)],
) -> Option<Output> {
    if StdCommand::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`script` (bsdutils) is required under CI=true"
        );
        println!("skipped: `script` (bsdutils) is not installed, so no terminal can be faked");
        return None;
    }
    let line = std::iter::once(path_str(&bin()).to_owned())
        .chain(args.iter().map(|a| (*a).to_owned()))
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = StdCommand::new("script");
    env.apply(&mut cmd);
    cmd.args(["-qec", &line, "/dev/null"]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn script");
    if let Some(mut i) = child.stdin.take() {
        use std::io::Write;
        let _ = i.write_all(input.as_bytes());
    }
    Some(child.wait_with_output().expect("script"))
}

// ---------------------------------------------------------------- archive / restore

#[test]
fn archive_hides_and_restore_brings_back() {
    let env = Env::new();
    let ws = env.new_ws(&["Alpha job"]);
    let name = dir_name(&ws);
    let out = env.ok(&["archive", "alpha"]);
    assert!(stderr(&out).contains("archived"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restore"),
        "the message says how to undo it"
    );
    assert_eq!(task_status(&ws), "archived");
    assert!(!names(&env, false).contains(&name));
    assert!(names(&env, true).contains(&name));

    // An archived workspace is not matched by name for archive; by path it is a no-op.
    expect_code(
        &env.run(&["archive", "alpha"]),
        1,
        "archive of an archived name",
    );
    let out = env.ok(&["archive", path_str(&ws)]);
    assert!(stderr(&out).contains("already archived"));

    env.ok(&["restore", "alpha"]);
    assert_eq!(task_status(&ws), "active");
    assert!(names(&env, false).contains(&name));
    let out = env.ok(&["restore", "alpha"]);
    assert!(stderr(&out).contains("already active"));
    let yaml = fs::read_to_string(ws.join("task.yaml")).expect("yaml");
    assert!(!yaml.contains("null"), "absent values are omitted: {yaml}");
}

#[test]
fn archive_restore_delete_refuse_missing_and_ambiguous_queries() {
    let env = Env::new();
    env.new_ws(&["report one"]);
    env.new_ws(&["report two"]);
    for cmd in ["archive", "restore", "delete", "notes", "path"] {
        let out = env.run(&[cmd, "nothing-like-this"]);
        expect_code(&out, 1, cmd);
        assert!(
            stderr(&out).contains("nothing-like-this"),
            "{cmd}: {}",
            stderr(&out)
        );
        let out = env.run(&[cmd, "report"]);
        expect_code(&out, 1, cmd);
        let err = stderr(&out);
        assert!(
            err.contains("ambiguous") && err.contains("report-one") && err.contains("report-two"),
            "{cmd}: {err}"
        );
    }
    assert_eq!(names(&env, true).len(), 2, "nothing was changed");
}

#[test]
fn a_busy_workspace_cannot_be_archived_or_deleted() {
    let env = Env::new();
    let ws = env.new_ws(&["busy one"]);
    let session = env.busy(&ws);
    let pid = session.child.id();

    let out = env.run(&["archive", "busy"]);
    expect_code(&out, 3, "archive while busy");
    assert!(stderr(&out).contains("busy"), "{}", stderr(&out));
    assert_eq!(task_status(&ws), "active");

    let out = env.run(&["delete", "-y", "busy"]);
    expect_code(&out, 3, "delete while busy");
    assert!(
        stderr(&out).contains(&format!("pid {pid}")),
        "the owner is named: {}",
        stderr(&out)
    );
    assert!(ws.join("task.yaml").is_file());
    drop(session);

    // Once the session is over, both work.
    env.ok(&["archive", "busy"]);
    env.ok(&["delete", "-y", "--all", "busy"]);
    assert!(!ws.exists());
}

// ---------------------------------------------------------------- delete

#[test]
fn delete_needs_a_terminal_or_yes() {
    let env = Env::new();
    let ws = env.new_ws(&["doomed"]);
    let out = env.run(&["delete", "doomed"]);
    expect_code(&out, 1, "delete without a terminal");
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(ws.is_dir(), "nothing deleted");

    let out = env.ok(&["delete", "--yes", "doomed"]);
    assert!(stderr(&out).contains("deleted"));
    assert!(!ws.exists());
    let leftovers: Vec<_> = fs::read_dir(ws.parent().expect("parent"))
        .expect("read_dir")
        .filter_map(Result::ok)
        .collect();
    assert!(leftovers.is_empty(), "no hidden remains: {leftovers:?}");
}

#[test]
fn delete_asks_on_a_terminal_and_declining_exits_0() {
    let env = Env::new();
    let ws = env.new_ws(&["maybe"]);
    let Some(out) = in_terminal(&env, &["delete", "maybe"], "n\n", &[]) else {
        return;
    };
    expect_code(&out, 0, "declined");
    let text = stdout(&out);
    assert!(text.contains("[y/N]"), "{text}");
    assert!(text.contains("nothing deleted"), "{text}");
    assert!(ws.is_dir());
    let Some(out) = in_terminal(&env, &["delete", "maybe"], "y\n", &[]) else {
        return;
    };
    expect_code(&out, 0, "accepted");
    assert!(!ws.exists());
}

#[test]
fn delete_refuses_the_current_sessions_workspace() {
    let env = Env::new();
    let ws = env.new_ws(&["mine"]);
    let out = env
        .cmd()
        .args(["delete", "-y", "mine"])
        .env("CTASK_WORKSPACE", &ws)
        .output()
        .expect("run");
    expect_code(&out, 1, "delete of $CTASK_WORKSPACE");
    assert!(stderr(&out).contains("CTASK_WORKSPACE"), "{}", stderr(&out));
    assert!(ws.is_dir());
    // Named through a different spelling of the same path: still refused.
    let spelled = ws
        .parent()
        .expect("parent")
        .join("..")
        .join("general")
        .join(dir_name(&ws))
        .join(".");
    let out = env
        .cmd()
        .args(["delete", "-y", path_str(&ws)])
        .env("CTASK_WORKSPACE", &spelled)
        .output()
        .expect("run");
    expect_code(&out, 1, "delete of $CTASK_WORKSPACE spelled differently");
    assert!(ws.is_dir());
}

#[test]
fn delete_never_leaves_the_roots_nor_follows_symlinks() {
    let env = Env::new();
    let ws = env.new_ws(&["keeper"]);
    // A workspace outside both roots, reached through a symlink inside the root.
    let outside = env.scratch("outside-ws");
    fs::create_dir(&outside).expect("mkdir");
    fs::copy(ws.join("task.yaml"), outside.join("task.yaml")).expect("copy");
    let link = env.root().join("general").join("2000-01-01_link");
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    let out = env.run(&["delete", "-y", path_str(&link)]);
    expect_code(&out, 1, "delete through a symlink leaving the root");
    assert!(stderr(&out).contains("outside"), "{}", stderr(&out));
    assert!(outside.join("task.yaml").is_file());
    let out = env.run(&["delete", "-y", path_str(&outside)]);
    expect_code(&out, 1, "delete of a workspace outside the roots");
    assert!(outside.join("task.yaml").is_file());
    fs::remove_file(&link).expect("rm link");

    // Symlinks inside a deleted workspace are removed, their targets kept.
    let precious = env.scratch("precious");
    fs::create_dir(&precious).expect("mkdir");
    fs::write(precious.join("data.txt"), "keep me").expect("write");
    std::os::unix::fs::symlink(&precious, ws.join("link-to-precious")).expect("symlink");
    std::os::unix::fs::symlink(precious.join("data.txt"), ws.join("file-link")).expect("symlink");
    env.ok(&["delete", "-y", "keeper"]);
    assert!(!ws.exists());
    assert_eq!(
        fs::read_to_string(precious.join("data.txt")).expect("kept"),
        "keep me"
    );
}

#[test]
fn delete_of_an_archived_workspace_needs_all() {
    let env = Env::new();
    let ws = env.new_ws(&["old stuff"]);
    env.ok(&["archive", "old"]);
    expect_code(
        &env.run(&["delete", "-y", "old"]),
        1,
        "archived without --all",
    );
    assert!(ws.is_dir());
    env.ok(&["delete", "-y", "-a", "old"]);
    assert!(!ws.exists());
}

// ---------------------------------------------------------------- notes

#[test]
fn notes_prints_the_file_and_never_waits_for_input() {
    let env = Env::new();
    let ws = env.new_ws(&["noted"]);
    let text = "# Notes\n\nthe key is in the drawer\n";
    fs::write(ws.join("notes.md"), text).expect("write");
    // stdin stays open and unwritten: notes must not read it.
    let mut child = env
        .std_cmd()
        .args(["notes", "noted"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let _stdin = child.stdin.take();
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        assert!(start.elapsed() < PATIENCE, "notes waited for input");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    expect_code(&out, 0, "notes");
    assert_eq!(stdout(&out), text, "printed exactly");

    // Archived workspaces are found too (a direct lookup).
    env.ok(&["archive", "noted"]);
    assert_eq!(stdout(&env.ok(&["notes", "noted"])), text);

    fs::remove_file(ws.join("notes.md")).expect("rm");
    let out = env.run(&["notes", "noted"]);
    expect_code(&out, 1, "missing notes.md");
    assert!(stderr(&out).contains("notes.md"), "{}", stderr(&out));
}

#[test]
fn notes_refuses_a_symlink_leading_out_of_the_workspace() {
    let env = Env::new();
    let ws = env.new_ws(&["linked"]);
    let secret = env.scratch("secret");
    fs::write(&secret, "private").expect("write");
    fs::remove_file(ws.join("notes.md")).expect("rm");
    std::os::unix::fs::symlink(&secret, ws.join("notes.md")).expect("symlink");
    let out = env.run(&["notes", "linked"]);
    expect_code(&out, 1, "notes through an outside symlink");
    assert!(!stdout(&out).contains("private"));
}

#[test]
fn notes_edit_needs_a_terminal() {
    let env = Env::new();
    env.new_ws(&["edited"]);
    let out = env
        .cmd()
        .args(["notes", "--edit", "edited"])
        .env("EDITOR", "true")
        .output()
        .expect("run");
    expect_code(&out, 1, "notes --edit without a terminal");
    assert!(stderr(&out).contains("terminal"), "{}", stderr(&out));
}

#[test]
fn notes_edit_runs_the_editor_split_by_shell_rules_without_a_shell() {
    let env = Env::new();
    let ws = env.new_ws(&["edited"]);
    // Quotes keep the script one word; the path is appended as the last argument ($1).
    let editor = r#"sh -c 'printf "%s\n" "edited by $0" >> "$1"' 'my editor'"#;
    let Some(out) = in_terminal(
        &env,
        &["notes", "--edit", "edited"],
        "",
        &[("EDITOR", editor)],
    ) else {
        return;
    };
    expect_code(&out, 0, "notes --edit");
    let notes = fs::read_to_string(ws.join("notes.md")).expect("notes");
    assert!(notes.ends_with("edited by my editor\n"), "{notes:?}");

    // $VISUAL wins over $EDITOR; an editor that is not installed is exit 127.
    let Some(out) = in_terminal(
        &env,
        &["notes", "--edit", "edited"],
        "",
        &[("VISUAL", "no-such-editor-here --wait"), ("EDITOR", "true")],
    ) else {
        return;
    };
    expect_code(&out, 127, "missing editor");
    assert!(
        stdout(&out).contains("no-such-editor-here"),
        "{}",
        stdout(&out)
    );
}

// ---------------------------------------------------------------- doctor

#[test]
fn doctor_reports_an_unknown_config_key_by_name() {
    let env = Env::new();
    env.write_config("root: /tmp\nfrobnicate_level: 3\n");
    let out = env.run(&["doctor", "--json"]);
    expect_code(&out, 1, "doctor with a bad config");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let problems = v["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("frobnicate_level"))),
        "{problems:?}"
    );
    assert!(
        v["config"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("frobnicate_level"))
    );
    assert_eq!(v["healthy"], false);
    // The other settings are still shown.
    assert_eq!(v["settings"]["root"]["source"], "env");

    // The human form names it too and does not crash.
    let out = env.run(&["doctor"]);
    expect_code(&out, 1, "doctor (human) with a bad config");
    assert!(
        stdout(&out).contains("frobnicate_level"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn doctor_names_the_source_of_root() {
    let env = Env::new();
    let flag_root = env.scratch("flag-root");
    let cfg_root = env.scratch("cfg-root");

    // default: no CTASK_ROOT, no config → ~/ai-workspaces
    let out = env
        .cmd()
        .args(["doctor", "--json"])
        .env_remove("CTASK_ROOT")
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["settings"]["root"]["source"], "default");
    assert_eq!(
        v["settings"]["root"]["value"],
        path_str(&env.home().join("ai-workspaces"))
    );

    // env
    let v = json_of(env.cmd().args(["doctor", "--json"]));
    assert_eq!(v["settings"]["root"]["source"], "env");
    assert_eq!(v["settings"]["root"]["value"], path_str(&env.root()));

    // config beats the default but not the environment
    env.write_config(&format!("root: {}\n", cfg_root.display()));
    let v = json_of(
        env.cmd()
            .args(["doctor", "--json"])
            .env_remove("CTASK_ROOT"),
    );
    assert_eq!(v["settings"]["root"]["source"], "config");
    assert_eq!(v["settings"]["root"]["value"], path_str(&cfg_root));
    assert_eq!(v["config"]["loaded"], true);
    let v = json_of(env.cmd().args(["doctor", "--json"]));
    assert_eq!(v["settings"]["root"]["source"], "env");

    // the flag beats everything
    let v = json_of(
        env.cmd()
            .args(["doctor", "--json", "--root", path_str(&flag_root)]),
    );
    assert_eq!(v["settings"]["root"]["source"], "flag");
    assert_eq!(v["settings"]["root"]["value"], path_str(&flag_root));
    assert_eq!(v["settings"]["project_root"]["source"], "default");
}

fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("run");
    assert!(
        matches!(code(&out), 0 | 1),
        "doctor exit {}: {}",
        code(&out),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn doctor_is_healthy_with_a_found_agent_and_reports_stale_leases() {
    let env = Env::new();
    let ws = env.new_ws(&["leased"]);
    let out = env
        .cmd()
        .args(["doctor", "--json"])
        .env("CTASK_AGENT", "sh")
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    expect_code(&out, 0, "healthy doctor");
    assert_eq!(v["healthy"], true, "{v}");
    assert_eq!(v["settings"]["default_agent"]["source"], "env");
    let agents = v["agents"].as_array().expect("agents");
    assert!(
        agents
            .iter()
            .any(|a| a["default"] == true && a["found"] == true)
    );
    assert!(agents.iter().any(|a| a["name"] == "opencode"));
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(tools, ["tmux", "git"]);
    let root = &v["roots"][0];
    assert_eq!(root["exists"], true);
    assert_eq!(root["writable"], true);
    assert!(root["filesystem"].is_string());

    // A lease nobody holds whose file does not parse: stale, reported with its workspace.
    fs::write(ws.join(".ctask").join("session.json"), "{\"session_id\": ").expect("write");
    let out = env
        .cmd()
        .args(["doctor", "--json"])
        .env("CTASK_AGENT", "sh")
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let leases = v["leases"].as_array().expect("leases");
    assert_eq!(leases.len(), 1, "{v}");
    assert_eq!(leases[0]["state"], "stale");
    assert_eq!(leases[0]["path"], path_str(&ws));
    assert!(
        v["warnings"]
            .as_array()
            .expect("w")
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("stale")))
    );
    assert!(
        fs::read_to_string(ws.join(".ctask").join("session.json"))
            .expect("lease")
            .starts_with('{'),
        "doctor writes nothing"
    );

    // A default agent that is not installed is a problem.
    let out = env
        .cmd()
        .args(["doctor"])
        .env("CTASK_AGENT", "no-such-agent-zz")
        .output()
        .expect("run");
    expect_code(&out, 1, "doctor without the default agent");
    assert!(stdout(&out).contains("no-such-agent-zz"));
}

// ---------------------------------------------------------------- agents check

#[test]
fn agents_check_tells_which_agent_and_whether_it_is_found() {
    let env = Env::new();
    env.new_ws(&["plain"]);
    env.new_ws(&["custom one", "-a", "no-such-agent-zz"]);

    let out = env
        .cmd()
        .args(["agents", "check", "plain", "--json"])
        .env("CTASK_AGENT", "sh")
        .output()
        .expect("run");
    expect_code(&out, 0, "agents check of a found default");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["source"], "env");
    assert_eq!(v["program"], "sh");
    assert_eq!(v["found"], true);
    assert!(v["path"].as_str().is_some_and(|p| p.ends_with("/sh")));

    let out = env.run(&["agents", "check", "custom", "--json"]);
    expect_code(&out, 127, "agents check of a missing agent");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["source"], "task.yaml");
    assert_eq!(v["found"], false);
    assert_eq!(v["agent"]["command"], "no-such-agent-zz");
    let out = env.run(&["agents", "check", "custom"]);
    expect_code(&out, 127, "agents check (human)");
    assert!(stdout(&out).contains("not found"));

    let out = env
        .cmd()
        .args(["agents", "check", "--json"])
        .env("CTASK_AGENT", "sh")
        .output()
        .expect("run");
    expect_code(&out, 0, "agents check without a workspace");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["default"]["name"], "sh");
    let builtins: Vec<&str> = v["builtins"]
        .as_array()
        .expect("b")
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert_eq!(builtins, ["claude", "opencode"]);

    expect_code(
        &env.run(&["agents", "check", "nothing-like-this"]),
        1,
        "missing workspace",
    );
    expect_code(&env.run(&["agents"]), 2, "agents without a subcommand");
}

// ---------------------------------------------------------------- completion

#[test]
fn completion_scripts_parse_in_their_shells() {
    let env = Env::new();
    let script = env.scratch("ctask.bash");
    let out = env.ok(&["completion", "bash"]);
    fs::write(&script, &out.stdout).expect("write");
    let check = StdCommand::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash");
    assert!(check.status.success(), "bash -n: {}", stderr(&check));
    // The script asks ctask for candidates on every TAB (tests/completion.rs drives it:
    // subcommands such as `archive`, flags, workspace slugs).
    assert!(stdout(&out).contains("_CTASK_COMPLETE=\"bash\""));
    assert!(stdout(&out).contains("-F _clap_complete_ctask ctask"));

    let out = env.ok(&["completion", "zsh"]);
    if StdCommand::new("zsh").arg("--version").output().is_ok() {
        let script = env.scratch("_ctask");
        fs::write(&script, &out.stdout).expect("write");
        let check = StdCommand::new("zsh")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("zsh");
        assert!(check.status.success(), "zsh -n: {}", stderr(&check));
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "zsh is required under CI=true"
        );
        println!("skipped zsh -n: zsh is not installed");
    }
    for shell in ["fish", "powershell"] {
        assert!(!env.ok(&["completion", shell]).stdout.is_empty(), "{shell}");
    }
    expect_code(&env.run(&["completion", "tcsh"]), 2, "unknown shell");
}

// ---------------------------------------------------------------- colours, quiet, JSON

#[test]
fn no_color_and_color_never_give_plain_output() {
    let env = Env::new();
    env.new_ws(&["colourless"]);
    let cases: [(&[&str], Option<&str>); 4] = [
        (&["list"], Some("1")),
        (&["doctor"], Some("1")),
        (&["info", "nothing-like-this"], Some("1")),
        (&["list", "--color", "never"], None),
    ];
    for (args, no_color) in cases {
        let mut cmd = env.cmd();
        cmd.args(args);
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().expect("run");
        assert!(
            !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
            "{args:?} printed an escape"
        );
    }
    // --color always colours even into a pipe.
    let out = env.ok(&["list", "--color", "always"]);
    assert!(out.stdout.contains(&0x1b));
    expect_code(
        &env.run(&["list", "--color", "sometimes"]),
        2,
        "bad --color",
    );
}

#[test]
fn on_a_terminal_no_color_turns_colours_off() {
    let env = Env::new();
    env.new_ws(&["colourful"]);
    let Some(out) = in_terminal(&env, &["list"], "", &[]) else {
        return;
    };
    expect_code(&out, 0, "list on a terminal");
    assert!(
        out.stdout.contains(&0x1b),
        "colours on a terminal: {}",
        stdout(&out)
    );
    let Some(out) = in_terminal(&env, &["list"], "", &[("NO_COLOR", "1")]) else {
        return;
    };
    assert!(!out.stdout.contains(&0x1b), "NO_COLOR: {}", stdout(&out));
}

#[test]
fn quiet_silences_messages_but_not_errors() {
    let env = Env::new();
    let out = env.ok(&["--quiet", "new", "hushed", "--no-launch"]);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert!(stdout(&out).trim_end().ends_with("hushed"));
    let out = env.ok(&["archive", "-q", "hushed"]);
    assert!(out.stderr.is_empty());
    let out = env.run(&["-q", "info", "nothing-like-this"]);
    expect_code(&out, 1, "error under --quiet");
    assert!(stderr(&out).contains("error:"));
}

#[test]
fn json_of_every_read_command_parses() {
    let env = Env::new();
    let ws = env.new_ws(&["jsonable"]);
    let q = path_str(&ws);
    assert!(env.json(&["list", "--json"]).is_array());
    assert!(env.json(&["list", "--all", "--json"]).is_array());
    assert!(env.json(&["info", q, "--json"]).is_object());
    assert!(env.json(&["status", q, "--json"]).is_object());
    assert!(env.json(&["status", "--json"]).is_array());
    assert!(env.json(&["diff", q, "--json"]).is_object());
    assert!(env.json(&["log", q, "--json"]).is_array());
    let out = env
        .cmd()
        .args(["agents", "check", q, "--json"])
        .env("CTASK_AGENT", "sh")
        .output()
        .expect("run");
    assert!(
        serde_json::from_slice::<Value>(&out.stdout)
            .expect("agents JSON")
            .is_object()
    );
    let out = env
        .cmd()
        .args(["doctor", "--json"])
        .env("CTASK_AGENT", "sh")
        .output()
        .expect("run");
    assert!(
        serde_json::from_slice::<Value>(&out.stdout)
            .expect("doctor JSON")
            .is_object()
    );
}

#[test]
fn hints_name_the_binary_as_invoked() {
    let env = Env::new();
    let dir = env.scratch("bin");
    fs::create_dir(&dir).expect("mkdir");
    let alias = dir.join("tk");
    std::os::unix::fs::symlink(bin(), &alias).expect("symlink");
    let mut cmd = StdCommand::new(&alias);
    env.apply(&mut cmd);
    let out = cmd
        .args(["archive", "nothing-like-this"])
        .output()
        .expect("run");
    expect_code(&out, 1, "missing workspace");
    assert!(stderr(&out).contains("`tk list --all`"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- docs/cli.md

/// Marker after which docs/cli.md is generated from the command definitions.
const MARKER: &str = "<!-- Everything below is generated from the command definitions. -->";

fn reference() -> String {
    let mut root = ctask_cli::Cli::command().bin_name("ctask").term_width(100);
    root.build();
    let mut out = String::new();
    section(&mut root, "ctask", &mut out);
    out
}

fn section(cmd: &mut clap::Command, path: &str, out: &mut String) {
    let mut shown = cmd.clone().term_width(100);
    if path != "ctask" {
        // Global options are documented once, under `ctask`.
        let globals: Vec<clap::Id> = shown
            .get_arguments()
            .filter(|a| a.is_global_set())
            .map(|a| a.get_id().clone())
            .collect();
        for id in globals {
            shown = shown.mut_arg(id, |a| a.hide(true));
        }
    }
    let help = shown.render_long_help().to_string();
    let help: Vec<&str> = help.lines().map(str::trim_end).collect();
    out.push_str(&format!(
        "\n## `{path}`\n\n```text\n{}\n```\n",
        help.join("\n").trim_end()
    ));
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .cloned()
        .collect();
    for mut sub in subs {
        let name = format!("{path} {}", sub.get_name());
        section(&mut sub, &name, out);
    }
}

#[test]
fn docs_cli_md_matches_the_commands() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
    let text = fs::read_to_string(&file).unwrap_or_default();
    let head = match text.find(MARKER) {
        Some(i) => text[..i].to_owned(),
        // No marker yet: everything written by hand is kept above it.
        None => format!("{}\n\n", text.trim_end()),
    };
    let want = format!("{head}{MARKER}\n{}", reference());
    if std::env::var_os("CTASK_UPDATE_DOCS").is_some() {
        fs::write(&file, &want).expect("write docs/cli.md");
        return;
    }
    assert!(
        text == want,
        "docs/cli.md is out of date with the commands; regenerate it with \
         `CTASK_UPDATE_DOCS=1 cargo test -p ctask-cli --test cli_more docs_cli_md`"
    );
}
