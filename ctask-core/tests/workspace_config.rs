//! config.yaml and settings precedence.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use ctask_core::Error;
use ctask_core::workspace::{AgentKind, Overrides, SessionMode, Settings, Source};

struct Env {
    _dir: tempfile::TempDir,
    home: PathBuf,
    vars: HashMap<String, String>,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        fs::create_dir(&home).expect("home");
        let mut vars = HashMap::new();
        vars.insert("HOME".to_string(), home.display().to_string());
        Env {
            _dir: dir,
            home,
            vars,
        }
    }
    fn set(&mut self, k: &str, v: impl AsRef<str>) {
        self.vars.insert(k.to_string(), v.as_ref().to_string());
    }
    fn config(&self, text: &str) -> PathBuf {
        let p = self.home.join(".config").join("ctask").join("config.yaml");
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, text).expect("write");
        p
    }
    fn resolve(&self, o: &Overrides) -> ctask_core::Result<Settings> {
        Settings::resolve(o, &|k| self.vars.get(k).cloned())
    }
}

#[test]
fn defaults() {
    let env = Env::new();
    let s = env.resolve(&Overrides::default()).expect("resolve");
    assert_eq!(s.root.value, env.home.join("ai-workspaces"));
    assert_eq!(s.root.source, Source::Default);
    assert_eq!(
        s.project_root.value,
        env.home.join("ai-workspaces").join("projects")
    );
    assert_eq!(s.seed_dir.value, None);
    assert_eq!(s.default_agent.value.kind, AgentKind::Claude);
    assert_eq!(s.session_mode.value, SessionMode::Direct);
    assert_eq!(s.heartbeat_seconds.value, 30);
    assert_eq!(s.stale_after_seconds.value, 60);
    assert!(!s.config_loaded);
    // Never created automatically.
    assert!(!env.home.join(".config").exists());
}

#[test]
fn unknown_key_is_an_error_naming_key_and_file() {
    let env = Env::new();
    let file = env.config("root: /tmp/x\nroots: /tmp/y\n");
    let err = env.resolve(&Overrides::default()).expect_err("unknown key");
    match &err {
        Error::BadFormat { path, detail } => {
            assert_eq!(path, &file);
            assert!(detail.contains("roots"), "{detail}");
        }
        other => panic!("expected BadFormat, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("config.yaml") && msg.contains("roots"),
        "{msg}"
    );
}

#[test]
fn bad_values_in_config_name_the_file() {
    let env = Env::new();
    for text in [
        "heartbeat_seconds: soon\n",
        "session_mode: tmux\n",
        "root: relative/dir\n",
        "[1, 2]\n",
    ] {
        let file = env.config(text);
        match env.resolve(&Overrides::default()) {
            Err(Error::BadFormat { path, .. }) => assert_eq!(path, file, "{text}"),
            other => panic!("{text}: expected BadFormat, got {other:?}"),
        }
    }
}

#[test]
fn precedence_flag_env_file_default() {
    let mut env = Env::new();
    env.config("root: /from/config\nsession_mode: persistent\ndefault_agent: {type: opencode}\nheartbeat_seconds: 20\n");
    let flag = Overrides {
        root: Some(PathBuf::from("/from/flag")),
        ..Overrides::default()
    };

    let s = env.resolve(&Overrides::default()).expect("config");
    assert_eq!(
        (s.root.value.as_path(), s.root.source),
        (Path::new("/from/config"), Source::Config)
    );
    assert_eq!(s.session_mode.value, SessionMode::Persistent);
    assert_eq!(s.session_mode.source, Source::Config);
    assert_eq!(s.default_agent.value.kind, AgentKind::Opencode);
    assert_eq!(s.heartbeat_seconds.value, 20);
    assert_eq!(s.project_root.value, Path::new("/from/config/projects"));
    assert!(s.config_loaded);

    env.set("CTASK_ROOT", "/from/env");
    env.set("CTASK_SESSION_MODE", "direct");
    env.set("CTASK_AGENT", "aider");
    let s = env.resolve(&Overrides::default()).expect("env");
    assert_eq!(
        (s.root.value.as_path(), s.root.source),
        (Path::new("/from/env"), Source::Env)
    );
    assert_eq!(
        (s.session_mode.value, s.session_mode.source),
        (SessionMode::Direct, Source::Env)
    );
    assert_eq!(s.default_agent.value.command.as_deref(), Some("aider"));
    assert_eq!(s.default_agent.source, Source::Env);

    let s = env.resolve(&flag).expect("flag");
    assert_eq!(
        (s.root.value.as_path(), s.root.source),
        (Path::new("/from/flag"), Source::Flag)
    );

    // An empty variable counts as unset.
    env.set("CTASK_ROOT", "");
    let s = env.resolve(&Overrides::default()).expect("empty env");
    assert_eq!(s.root.source, Source::Config);
}

#[test]
fn xdg_config_home_wins_over_home() {
    let mut env = Env::new();
    env.config("root: /from/home-config\n");
    let xdg = env.home.join("xdg");
    fs::create_dir_all(xdg.join("ctask")).expect("mkdir");
    fs::write(xdg.join("ctask").join("config.yaml"), "root: /from/xdg\n").expect("write");
    env.set("XDG_CONFIG_HOME", xdg.display().to_string());
    let s = env.resolve(&Overrides::default()).expect("resolve");
    assert_eq!(s.root.value, Path::new("/from/xdg"));
    assert_eq!(s.config_path, Some(xdg.join("ctask").join("config.yaml")));
}

#[test]
fn tilde_is_expanded_and_empty_config_is_fine() {
    let env = Env::new();
    env.config("# nothing yet\n");
    assert!(
        env.resolve(&Overrides::default())
            .expect("empty")
            .config_loaded
    );
    env.config("root: ~/work\nproject_root: ~/code\nseed_dir: ~/seed\n");
    let s = env.resolve(&Overrides::default()).expect("resolve");
    assert_eq!(s.root.value, env.home.join("work"));
    assert_eq!(s.project_root.value, env.home.join("code"));
    assert_eq!(s.project_root.source, Source::Config);
    assert_eq!(s.seed_dir.value, Some(env.home.join("seed")));
}

#[test]
fn heartbeat_must_be_at_most_half_of_stale_after() {
    let mut env = Env::new();
    env.set("CTASK_HEARTBEAT_SECONDS", "31");
    let err = env.resolve(&Overrides::default()).expect_err("31 > 60/2");
    assert!(err.to_string().contains("heartbeat_seconds"), "{err}");
    env.set("CTASK_STALE_AFTER_SECONDS", "62");
    let s = env.resolve(&Overrides::default()).expect("31 <= 62/2");
    assert_eq!(s.heartbeat_seconds.value, 31);
    env.set("CTASK_HEARTBEAT_SECONDS", "x");
    let err = env
        .resolve(&Overrides::default())
        .expect_err("not a number");
    assert!(err.to_string().contains("CTASK_HEARTBEAT_SECONDS"), "{err}");
    env.set("CTASK_HEARTBEAT_SECONDS", "0");
    assert!(env.resolve(&Overrides::default()).is_err());
}

#[test]
fn no_home_and_no_root_is_a_clear_error() {
    let err = Settings::resolve(&Overrides::default(), &|_| None).expect_err("no home");
    assert!(err.to_string().contains("CTASK_ROOT"), "{err}");
}
