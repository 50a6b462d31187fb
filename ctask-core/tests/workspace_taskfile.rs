//! `task.yaml` reading and writing: unknown keys, schema versions, corrupt files, agents.

use std::fs;
use std::path::Path;

use ctask_core::Error;
use ctask_core::workspace::{AgentKind, AgentSpec, Kind, Status, TaskFile, Workspace};

const FULL: &str = "\
schema_version: 1
workspace:
  mode: native
  future_option: 7
title: Fix auth
slug: fix-auth
category: general
type: task
status: active
created_at: 2025-01-02T03:04:05Z
updated_at: 2025-01-02T03:04:05Z
agent:
  type: custom
  command: aider
  args: [--yes, --model, x]
  env:
    FOO: bar
  sandbox: strict
owner: alice
labels:
  - backend
  - urgent
nested:
  deep: {a: 1, b: [x, y]}
";

fn ws_with(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let dir = d.path().join("2025-01-02_fix-auth");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("task.yaml"), text).expect("write");
    (d, dir)
}

fn assert_bad_format_naming(err: Error, file: &Path, needle: &str) {
    match err {
        Error::BadFormat { path, detail } => {
            assert_eq!(path, file, "detail: {detail}");
            assert!(detail.contains(needle), "{detail:?} lacks {needle:?}");
        }
        other => panic!("expected BadFormat, got {other:?}"),
    }
}

#[test]
fn round_trip_keeps_unknown_keys() {
    let (_d, dir) = ws_with(FULL);
    let file = dir.join("task.yaml");
    let mut ws = Workspace::open(&dir).expect("open");
    assert_eq!(ws.task.slug, "fix-auth");
    assert_eq!(ws.task.extra.len(), 3);
    ws.task.title = "Fix auth properly".into();
    ws.save().expect("save");

    let text = fs::read_to_string(&file).expect("read");
    for key in [
        "owner: alice",
        "labels:",
        "- urgent",
        "deep:",
        "future_option: 7",
        "sandbox: strict",
    ] {
        assert!(text.contains(key), "{key} missing from\n{text}");
    }
    assert!(!text.contains("null"), "{text}");
    let again = Workspace::open(&dir).expect("reopen");
    assert_eq!(again.task.title, "Fix auth properly");
    assert_eq!(again.task.extra, ws.task.extra);
    assert_eq!(again.task.agent, ws.task.agent);
    assert!(again.task.updated_at >= again.task.created_at);
    // No temp files left behind.
    let names: Vec<String> = fs::read_dir(&dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["task.yaml".to_string()]);
}

#[test]
fn schema_version_2_is_refused_naming_the_file() {
    let (_d, dir) = ws_with(&FULL.replace("schema_version: 1", "schema_version: 2"));
    let file = fs::canonicalize(dir.join("task.yaml")).expect("canon");
    let err = Workspace::open(&dir).expect_err("must refuse");
    assert_bad_format_naming(err, &file, "upgrade ctask");
    assert!(
        Workspace::open(&dir)
            .expect_err("refuse")
            .to_string()
            .contains("task.yaml")
    );
}

#[test]
fn truncated_or_corrupt_yaml_is_an_error_naming_the_file_and_nothing_is_rewritten() {
    let cut = FULL.find("Fix auth").expect("title") + 3;
    let truncated = format!("{}\"{}", &FULL[..cut - 3], &FULL[cut - 3..cut]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated in a quoted string", truncated.into_bytes()),
        (
            "truncated before the slug",
            FULL.as_bytes()[..FULL.find("slug:").expect("slug")].to_vec(),
        ),
        (
            "unclosed flow",
            b"schema_version: 1\ntitle: [oops\n".to_vec(),
        ),
        ("not a map", b"- just\n- a list\n".to_vec()),
        ("empty", Vec::new()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01]),
        (
            "bad timestamp",
            FULL.replace("2025-01-02T03:04:05Z", "yesterday")
                .into_bytes(),
        ),
        (
            "bad type",
            FULL.replace("type: task", "type: chore").into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        let d = tempfile::tempdir().expect("tempdir");
        let dir = d.path().join("ws");
        fs::create_dir(&dir).expect("mkdir");
        let file = dir.join("task.yaml");
        fs::write(&file, &bytes).expect("write");
        let before = fs::metadata(&file)
            .expect("meta")
            .modified()
            .expect("mtime");
        let err = Workspace::open(&dir).expect_err(what);
        let canon = fs::canonicalize(&file).expect("canon");
        match &err {
            Error::BadFormat { path, .. } => assert_eq!(path, &canon, "{what}"),
            other => panic!("{what}: expected BadFormat, got {other:?}"),
        }
        assert!(err.to_string().contains("task.yaml"), "{what}: {err}");
        assert_eq!(fs::read(&file).expect("read"), bytes, "{what}: rewritten");
        assert_eq!(
            fs::metadata(&file)
                .expect("meta")
                .modified()
                .expect("mtime"),
            before
        );
    }
}

#[test]
fn agent_as_plain_string() {
    for (plain, kind, command) in [
        ("claude", AgentKind::Claude, None),
        ("opencode", AgentKind::Opencode, None),
        ("aider", AgentKind::Custom, Some("aider")),
        (
            "/usr/local/bin/my agent",
            AgentKind::Custom,
            Some("/usr/local/bin/my agent"),
        ),
    ] {
        let text = format!("schema_version: 1\ntitle: t\nslug: t\nagent: {plain:?}\n");
        let t = TaskFile::parse(&text, Path::new("task.yaml")).expect(plain);
        let a = t.agent.expect("agent");
        assert_eq!(a.kind, kind);
        assert_eq!(a.command.as_deref(), command);
        assert_eq!(a, AgentSpec::from_plain(plain));
    }
    assert_eq!(
        AgentSpec::from_plain("claude").argv().expect("argv"),
        vec!["claude"]
    );
    assert_eq!(
        AgentSpec::from_plain("opencode").argv().expect("argv"),
        vec!["opencode"]
    );
    assert_eq!(
        AgentSpec::from_plain("aider").argv().expect("argv"),
        vec!["aider"]
    );
}

#[test]
fn agent_as_map() {
    let t = TaskFile::parse(FULL, Path::new("task.yaml")).expect("parse");
    let a = t.agent.expect("agent");
    assert_eq!(a.kind, AgentKind::Custom);
    assert_eq!(
        a.argv().expect("argv"),
        vec!["aider", "--yes", "--model", "x"]
    );
    assert_eq!(a.env.get("FOO").map(String::as_str), Some("bar"));

    let text = "title: t\nslug: t\nagent: {type: claude, args: [--continue]}\n";
    let a = TaskFile::parse(text, Path::new("task.yaml"))
        .expect("parse")
        .agent
        .expect("agent");
    assert_eq!(a.argv().expect("argv"), vec!["claude", "--continue"]);

    // A map with only a command is a custom agent.
    let text = "title: t\nslug: t\nagent: {command: goose}\n";
    let a = TaskFile::parse(text, Path::new("task.yaml"))
        .expect("parse")
        .agent
        .expect("agent");
    assert_eq!(a.kind, AgentKind::Custom);

    // custom needs a command; unknown types are refused.
    for bad in [
        "agent: {type: custom}",
        "agent: {type: aider}",
        "agent: ''",
        "agent: {args: [x]}",
    ] {
        let text = format!("title: t\nslug: t\n{bad}\n");
        let err = TaskFile::parse(&text, Path::new("/x/task.yaml")).expect_err(bad);
        assert!(matches!(err, Error::BadFormat { .. }), "{bad}: {err:?}");
    }
}

#[test]
fn defaults_and_no_nulls() {
    let t = TaskFile::parse("title: t\nslug: s\n", Path::new("task.yaml")).expect("parse");
    assert_eq!(t.kind, Kind::Task);
    assert_eq!(t.status, Status::Active);
    assert_eq!(t.schema_version, 1);
    let yaml = t.to_yaml().expect("yaml");
    assert!(!yaml.contains("null"), "{yaml}");
    assert!(!yaml.contains("agent"), "{yaml}");
    assert!(!yaml.contains("launch_dir"), "{yaml}");

    let mut t = TaskFile::new("Title", "slug", "general", Kind::Project);
    t.agent = Some(AgentSpec::from_plain("aider"));
    let yaml = t.to_yaml().expect("yaml");
    assert!(yaml.contains("type: project"), "{yaml}");
    assert!(
        yaml.contains("agent:\n  type: custom\n  command: aider\n"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("null") && !yaml.contains("args") && !yaml.contains("env"),
        "{yaml}"
    );
    let back = TaskFile::parse(&yaml, Path::new("task.yaml")).expect("parse");
    assert_eq!(back, t);
}
