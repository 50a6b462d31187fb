//! The `ctask` binary end to end: every command, `--json` parsed, exit codes, and
//! concurrent creation by real processes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use common::{Sandbox, bin};
use predicates::prelude::*;
use serde_json::Value;

/// A private root, home and config home; nothing of the real user is touched.
type Env = Sandbox;

impl Env {
    fn new() -> Env {
        Sandbox::with_dirs(&[])
    }
    fn apply(&self, cmd: &mut StdCommand) {
        self.isolate(cmd);
        cmd.env_remove("NO_COLOR");
    }
    fn cmd(&self) -> Command {
        let mut std = StdCommand::new(bin());
        self.apply(&mut std);
        Command::from_std(std)
    }
    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd().args(args).assert()
    }
    fn stdout(&self, args: &[&str]) -> String {
        let out = self.run(args).success().get_output().stdout.clone();
        String::from_utf8(out).expect("utf-8 stdout")
    }
    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.stdout(args)).expect("valid JSON")
    }
    fn new_ws(&self, args: &[&str]) -> PathBuf {
        let mut all = vec!["new"];
        all.extend_from_slice(args);
        all.push("--no-launch");
        let out = self.stdout(&all);
        PathBuf::from(out.trim_end_matches('\n'))
    }
}

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

fn set_status(dir: &Path, status: &str) {
    let p = dir.join("task.yaml");
    let text = fs::read_to_string(&p)
        .expect("read")
        .replace("status: active", &format!("status: {status}"));
    fs::write(p, text).expect("write");
}

#[test]
fn new_prints_one_absolute_path_and_messages_go_to_stderr() {
    let env = Env::new();
    let out = env
        .run(&["new", "Fix Auth: login!", "--no-launch"])
        .success()
        .stderr(predicate::str::starts_with("[ctask] "))
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(stdout.ends_with('\n'));
    let path = PathBuf::from(stdout.trim_end());
    assert!(path.is_absolute());
    assert!(path.join("task.yaml").is_file());
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some(format!("{}_fix-auth-login", today()).as_str())
    );
    assert_eq!(
        path.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str()),
        Some("general")
    );

    // The same title again gets -2.
    let second = env.new_ws(&["Fix Auth: login!"]);
    assert!(second.to_string_lossy().ends_with("_fix-auth-login-2"));

    // Without --no-launch the agent is resolved first: the default agent (claude) is not
    // on this PATH, so nothing is created and the exit code is 127.
    env.cmd()
        .env("PATH", "/usr/bin:/bin")
        .args(["new", "Third"])
        .assert()
        .code(127)
        .stderr(predicate::str::contains("\"claude\" not found"));
    assert!(
        !env.root()
            .join("general")
            .join(format!("{}_third", today()))
            .exists()
    );
}

#[test]
fn new_with_category_project_and_agent() {
    let env = Env::new();
    let t = env.new_ws(&["Docs", "-c", "writing", "-a", "aider"]);
    assert_eq!(
        t.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str()),
        Some("writing")
    );
    let yaml = fs::read_to_string(t.join("task.yaml")).expect("yaml");
    assert!(
        yaml.contains("agent:\n  type: custom\n  command: aider"),
        "{yaml}"
    );
    assert!(!t.join("CLAUDE.md").exists());

    let p = env.new_ws(&["My App", "--project", "-a", "opencode"]);
    assert_eq!(p.parent(), Some(env.root().join("projects").as_path()));
    assert!(p.join("my-app").is_dir());
    let info = env.json(&["info", "my-app", "--json"]);
    assert_eq!(info["type"], "project");
    assert_eq!(info["launch_dir"], "my-app");
    assert_eq!(info["agent"], "opencode");

    env.run(&["new", "x", "-c", "a/b", "--no-launch"])
        .code(1)
        .stderr(predicate::str::contains("invalid category"));
}

#[test]
fn list_json_names_and_filters() {
    let env = Env::new();
    let a = env.new_ws(&["Alpha task"]);
    let b = env.new_ws(&["Beta project", "--project"]);
    let c = env.new_ws(&["Gamma", "-c", "misc"]);
    set_status(&c, "archived");

    let v = env.json(&["list", "--json"]);
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 2);
    for item in arr {
        for key in [
            "path",
            "dir_name",
            "slug",
            "title",
            "category",
            "type",
            "status",
            "created_at",
            "updated_at",
        ] {
            assert!(item.get(key).is_some(), "{key} missing in {item}");
        }
        assert!(item.get("broken").is_none());
        assert!(!item.to_string().contains("null"), "{item}");
    }
    let alpha = arr
        .iter()
        .find(|i| i["slug"] == "alpha-task")
        .expect("alpha");
    assert_eq!(alpha["path"], a.to_string_lossy().as_ref());
    assert_eq!(alpha["title"], "Alpha task");
    assert_eq!(alpha["category"], "general");
    assert_eq!(alpha["type"], "task");
    assert_eq!(alpha["status"], "active");

    let all = env.json(&["list", "-a", "--json"]);
    assert_eq!(all.as_array().expect("array").len(), 3);
    let projects = env.json(&["list", "--projects", "--json"]);
    assert_eq!(projects.as_array().expect("array").len(), 1);
    assert_eq!(projects[0]["path"], b.to_string_lossy().as_ref());
    let tasks = env.json(&["list", "--task", "--all", "--json"]);
    assert_eq!(tasks.as_array().expect("array").len(), 2);
    let misc = env.json(&["list", "--all", "-c", "misc", "--json"]);
    assert_eq!(misc[0]["status"], "archived");
    assert_eq!(
        env.json(&["list", "-n", "1", "--json"])
            .as_array()
            .expect("array")
            .len(),
        1
    );

    let names = env.stdout(&["list", "--names"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            format!("{}_alpha-task", today()),
            format!("{}_beta-project", today())
        ]
    );

    let table = env.stdout(&["list"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("Alpha task") && !table.contains("Gamma"),
        "{table}"
    );

    env.run(&["list", "--projects", "--tasks"]).code(2);
}

#[test]
fn list_on_an_empty_root() {
    let env = Env::new();
    assert_eq!(env.json(&["list", "--json"]), serde_json::json!([]));
    env.run(&["list"])
        .success()
        .stdout("")
        .stderr(predicate::str::contains("[ctask] no workspaces"));
}

#[test]
fn info_and_path() {
    let env = Env::new();
    let a = env.new_ws(&["Fix Auth: login!"]);
    let info = env.json(&["info", "fix-auth", "--json"]);
    assert_eq!(info["path"], a.to_string_lossy().as_ref());
    assert_eq!(info["slug"], "fix-auth-login");
    assert_eq!(info["title"], "Fix Auth: login!");
    assert_eq!(info["dir_name"], format!("{}_fix-auth-login", today()));
    assert!(info.get("session").is_none());

    let human = env.stdout(&["info", "fix-auth"]);
    assert!(
        human.contains("title:") && human.contains("Fix Auth: login!"),
        "{human}"
    );

    assert_eq!(
        env.stdout(&["path", "fix-auth-login"]),
        format!("{}\n", a.display())
    );
    assert_eq!(
        env.stdout(&["path", &a.to_string_lossy()]),
        format!("{}\n", a.display())
    );

    // Archived: info and path still find it (direct lookups).
    set_status(&a, "archived");
    assert_eq!(
        env.stdout(&["path", "fix-auth"]),
        format!("{}\n", a.display())
    );
    assert_eq!(
        env.json(&["info", "fix-auth", "--json"])["status"],
        "archived"
    );

    env.run(&["info", "nope"])
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "[ctask] error: no workspace matches \"nope\"",
        ));
}

#[test]
fn ambiguous_query_lists_every_candidate() {
    let env = Env::new();
    let a = env.new_ws(&["Deploy"]);
    let b = env.new_ws(&["Deploy", "-c", "ops"]);
    let err = env
        .run(&["path", "deploy"])
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).expect("utf-8");
    assert!(err.contains("ambiguous"), "{err}");
    assert!(
        err.contains(&a.display().to_string()) && err.contains(&b.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_broken_workspace_does_not_stop_list_or_path_of_others() {
    let env = Env::new();
    let good = env.new_ws(&["Good one"]);
    let bad = env.new_ws(&["Bad one"]);
    fs::write(bad.join("task.yaml"), "schema_version: 1\ntitle: \"cut off").expect("corrupt");

    let v = env.json(&["list", "--json"]);
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 2);
    let broken = arr
        .iter()
        .find(|i| i["broken"] == true)
        .expect("broken entry");
    assert_eq!(broken["slug"], "bad-one");
    assert!(broken["error"].as_str().unwrap_or("").contains("task.yaml"));

    env.run(&["list"])
        .success()
        .stderr(predicate::str::contains("task.yaml"));
    assert_eq!(
        env.stdout(&["path", "good-one"]),
        format!("{}\n", good.display())
    );
    env.run(&["info", "bad-one"])
        .code(1)
        .stderr(predicate::str::contains(
            bad.join("task.yaml").display().to_string(),
        ));
    // Nothing was rewritten.
    assert_eq!(
        fs::read_to_string(bad.join("task.yaml")).expect("read"),
        "schema_version: 1\ntitle: \"cut off"
    );
}

#[test]
fn root_flag_beats_environment_and_config() {
    let env = Env::new();
    let other = env.dir.path().join("other-root");
    let cfg = env.dir.path().join("config").join("ctask");
    fs::create_dir_all(&cfg).expect("mkdir");
    fs::write(
        cfg.join("config.yaml"),
        format!("root: {}\n", env.dir.path().join("cfg-root").display()),
    )
    .expect("w");
    let out = env.stdout(&[
        "--root",
        &other.to_string_lossy(),
        "new",
        "Flagged",
        "--no-launch",
    ]);
    assert!(out.starts_with(&other.display().to_string()), "{out}");
    // The global flag also works after the command.
    assert_eq!(
        env.stdout(&["list", "--names", "--root", &other.to_string_lossy()])
            .lines()
            .count(),
        1
    );
    assert_eq!(env.stdout(&["list", "--names"]).lines().count(), 0);
}

#[test]
fn config_errors_name_the_key_and_file() {
    let env = Env::new();
    let cfg = env.dir.path().join("config").join("ctask");
    fs::create_dir_all(&cfg).expect("mkdir");
    fs::write(cfg.join("config.yaml"), "rooot: /x\n").expect("w");
    env.run(&["list"])
        .code(1)
        .stderr(predicate::str::contains("rooot").and(predicate::str::contains("config.yaml")));
}

#[test]
fn version_help_and_usage_errors() {
    let env = Env::new();
    env.run(&["--version"])
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
    env.run(&["--help"])
        .success()
        .stdout(predicate::str::contains("list"));
    env.run(&["new", "--help"])
        .success()
        .stdout(predicate::str::contains("--no-launch"));
    env.run(&["list", "--bogus"])
        .code(2)
        .stderr(predicate::str::starts_with("[ctask] error"));
    env.run(&["frobnicate"]).code(2);
    env.run(&[]).code(2);
    env.run(&["info"]).code(2);
}

#[cfg(unix)]
#[test]
fn hints_use_the_name_the_binary_was_invoked_as() {
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let mut std = StdCommand::new(bin());
    env.apply(&mut std);
    std.arg0("/some/where/mytask").args(["info", "missing"]);
    Command::from_std(std)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("mytask list --all"));
}

#[test]
fn eight_processes_creating_the_same_title_at_once() {
    let env = Env::new();
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut c = StdCommand::new(bin());
            env.apply(&mut c);
            c.args(["new", "Same race title", "--no-launch"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut paths = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        paths.push(PathBuf::from(
            String::from_utf8(out.stdout).expect("utf-8").trim_end(),
        ));
    }
    let mut unique = paths.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8, "{paths:?}");
    let mut slugs = Vec::new();
    for p in &paths {
        for f in [
            "task.yaml",
            "AGENTS.md",
            "handoff.md",
            "notes.md",
            "logs/sessions.log",
        ] {
            assert!(p.join(f).is_file(), "{} lacks {f}", p.display());
        }
        let info = env.json(&["info", &p.to_string_lossy(), "--json"]);
        let dir_name = p.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(info["dir_name"], dir_name);
        let slug = info["slug"].as_str().expect("slug").to_string();
        assert!(dir_name.ends_with(&slug), "{dir_name} vs {slug}");
        slugs.push(slug);
    }
    slugs.sort();
    let mut want: Vec<String> = std::iter::once("same-race-title".to_string())
        .chain((2..=8).map(|n| format!("same-race-title-{n}")))
        .collect();
    want.sort();
    assert_eq!(slugs, want);
    assert_eq!(
        env.json(&["list", "--json"])
            .as_array()
            .expect("array")
            .len(),
        8
    );
}
