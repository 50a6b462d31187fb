//! Creating workspaces: layout, files, collisions, seeds, projects.

use std::fs;
use std::path::{Path, PathBuf};

use ctask_core::workspace::{
    AgentKind, AgentSpec, Kind, NewOptions, Overrides, Settings, Workspace,
};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("home")).expect("home");
        Fixture { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn settings_with(&self, o: Overrides) -> Settings {
        let home = self.dir.path().join("home").display().to_string();
        let root = self.root().display().to_string();
        Settings::resolve(&o, &|k| match k {
            "HOME" => Some(home.clone()),
            "CTASK_ROOT" => Some(root.clone()),
            _ => None,
        })
        .expect("settings")
    }
    fn settings(&self) -> Settings {
        self.settings_with(Overrides::default())
    }
}

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

fn task(title: &str) -> NewOptions {
    NewOptions {
        title: title.to_string(),
        ..NewOptions::default()
    }
}

#[test]
fn a_task_gets_every_file() {
    let fx = Fixture::new();
    let ws = Workspace::create(&fx.settings(), &task("Fix Auth: login!")).expect("create");
    let expected_dir = fx
        .root()
        .join("general")
        .join(format!("{}_fix-auth-login", today()));
    assert_eq!(ws.dir, fs::canonicalize(&expected_dir).expect("canon"));
    assert!(ws.dir.is_absolute());
    assert_eq!(ws.task.slug, "fix-auth-login");
    assert_eq!(ws.task.title, "Fix Auth: login!");
    assert_eq!(ws.task.category, "general");
    assert_eq!(ws.task.kind, Kind::Task);
    assert!(ws.task.created_at.is_some() && ws.task.updated_at.is_some());
    for f in [
        "task.yaml",
        "AGENTS.md",
        "CLAUDE.md",
        "handoff.md",
        "notes.md",
        "context/notes-archive/.gitkeep",
        "logs/sessions.log",
    ] {
        assert!(ws.dir.join(f).is_file(), "{f} missing");
    }
    assert!(ws.dir.join(".ctask").is_dir());
    assert_eq!(
        fs::read(ws.dir.join("logs/sessions.log"))
            .expect("log")
            .len(),
        0
    );
    let agents = fs::read_to_string(ws.dir.join("AGENTS.md")).expect("agents");
    assert!(
        agents.contains("handoff.md") && agents.contains("notes.md") && agents.contains(".ctask/")
    );
    assert!(
        fs::read_to_string(ws.dir.join("CLAUDE.md"))
            .expect("claude")
            .contains("AGENTS.md")
    );
    // task.yaml holds no agent unless one was asked for.
    assert!(ws.task.agent.is_none());
    assert_eq!(ws.task.schema_version, 1);
}

#[test]
fn category_and_custom_agent() {
    let fx = Fixture::new();
    let opts = NewOptions {
        title: "Write docs".into(),
        category: Some("writing".into()),
        agent: Some(AgentSpec::from_plain("aider")),
        ..NewOptions::default()
    };
    let ws = Workspace::create(&fx.settings(), &opts).expect("create");
    assert_eq!(
        ws.dir.parent().and_then(Path::file_name).expect("parent"),
        "writing"
    );
    assert_eq!(ws.task.category, "writing");
    let agent = ws.task.agent.as_ref().expect("agent");
    assert_eq!(
        (agent.kind, agent.command.as_deref()),
        (AgentKind::Custom, Some("aider"))
    );
    assert!(
        !ws.dir.join("CLAUDE.md").exists(),
        "CLAUDE.md is for claude agents only"
    );
    assert!(ws.dir.join("AGENTS.md").exists());

    for bad in ["", "a/b", "..", ".hidden"] {
        let opts = NewOptions {
            title: "x".into(),
            category: Some(bad.into()),
            ..NewOptions::default()
        };
        assert!(Workspace::create(&fx.settings(), &opts).is_err(), "{bad:?}");
    }
}

#[test]
fn collisions_get_numbered_suffixes_kept_in_the_slug() {
    let fx = Fixture::new();
    let s = fx.settings();
    let a = Workspace::create(&s, &task("Same title")).expect("first");
    let b = Workspace::create(&s, &task("Same title")).expect("second");
    let c = Workspace::create(&s, &task("same  TITLE!")).expect("third");
    assert_eq!(a.dir_name, format!("{}_same-title", today()));
    assert_eq!(b.dir_name, format!("{}_same-title-2", today()));
    assert_eq!(c.dir_name, format!("{}_same-title-3", today()));
    assert_eq!(
        (
            a.task.slug.as_str(),
            b.task.slug.as_str(),
            c.task.slug.as_str()
        ),
        ("same-title", "same-title-2", "same-title-3")
    );
}

#[test]
fn concurrent_creation_in_threads_gives_distinct_workspaces() {
    let fx = Fixture::new();
    let s = fx.settings();
    let dirs: Vec<PathBuf> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| Workspace::create(&s, &task("Race")).map(|w| w.dir)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join").expect("create"))
            .collect()
    });
    let mut unique = dirs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8);
    for d in &dirs {
        Workspace::open(d).expect("complete");
    }
}

#[test]
fn empty_title_gets_a_time_slug() {
    let fx = Fixture::new();
    let ws = Workspace::create(&fx.settings(), &task("")).expect("create");
    let slug = &ws.task.slug;
    assert!(slug.starts_with("task-") && slug.len() == 11, "{slug}");
    assert!(slug[5..].bytes().all(|b| b.is_ascii_digit()), "{slug}");
}

#[test]
fn a_project_is_flat_with_git_gitignore_and_launch_dir() {
    let fx = Fixture::new();
    let opts = NewOptions {
        title: "My App".into(),
        project: true,
        ..NewOptions::default()
    };
    let ws = Workspace::create(&fx.settings(), &opts).expect("create");
    let expected = fx
        .root()
        .join("projects")
        .join(format!("{}_my-app", today()));
    assert_eq!(ws.dir, fs::canonicalize(expected).expect("canon"));
    assert_eq!(ws.task.kind, Kind::Project);
    assert_eq!(ws.task.launch_dir.as_deref(), Some("my-app"));
    assert!(ws.dir.join("my-app").is_dir());
    let gitignore = fs::read_to_string(ws.dir.join(".gitignore")).expect("gitignore");
    assert!(gitignore.contains(".ctask/") && gitignore.contains("logs/sessions.log"));
    if ctask_core::program::find_program("git").is_ok() {
        assert!(ws.dir.join(".git").is_dir(), "git init expected");
    }

    // With -c a project goes under that category of the project root.
    let opts = NewOptions {
        title: "Lib".into(),
        project: true,
        category: Some("oss".into()),
        ..NewOptions::default()
    };
    let ws = Workspace::create(&fx.settings(), &opts).expect("create");
    assert_eq!(
        ws.dir.parent().and_then(Path::file_name).expect("parent"),
        "oss"
    );
    assert_eq!(ws.task.category, "oss");
}

#[test]
fn seeds_are_copied_over_the_built_ins() {
    let fx = Fixture::new();
    let seed = fx.dir.path().join("seed");
    let pseed = fx.dir.path().join("pseed");
    fs::create_dir_all(seed.join("context")).expect("seed");
    fs::create_dir_all(&pseed).expect("pseed");
    fs::write(seed.join("notes.md"), "# Seeded notes\n").expect("w");
    fs::write(seed.join("context").join("style.md"), "style").expect("w");
    fs::write(seed.join("task.yaml"), "not: used").expect("w");
    fs::write(pseed.join(".gitignore"), "target/\n").expect("w");
    fs::write(pseed.join("notes.md"), "# Project notes\n").expect("w");
    let s = fx.settings_with(Overrides {
        seed_dir: Some(seed.clone()),
        project_seed_dir: Some(pseed.clone()),
        ..Overrides::default()
    });

    let t = Workspace::create(&s, &task("Seeded task")).expect("task");
    assert_eq!(
        fs::read_to_string(t.dir.join("notes.md")).expect("r"),
        "# Seeded notes\n"
    );
    assert_eq!(
        fs::read_to_string(t.dir.join("context/style.md")).expect("r"),
        "style"
    );
    assert!(t.dir.join("context/notes-archive/.gitkeep").exists());
    assert_eq!(
        t.task.title, "Seeded task",
        "a seed never replaces task.yaml"
    );
    assert!(
        !t.dir.join(".gitignore").exists(),
        "project seed is for projects only"
    );

    let p = Workspace::create(
        &s,
        &NewOptions {
            title: "Seeded project".into(),
            project: true,
            ..NewOptions::default()
        },
    )
    .expect("project");
    assert_eq!(
        fs::read_to_string(p.dir.join("notes.md")).expect("r"),
        "# Project notes\n"
    );
    assert_eq!(
        fs::read_to_string(p.dir.join(".gitignore")).expect("r"),
        "target/\n"
    );
    assert!(p.dir.join("context/style.md").exists());
}

#[test]
fn a_missing_seed_dir_fails_and_creates_nothing() {
    let fx = Fixture::new();
    let s = fx.settings_with(Overrides {
        seed_dir: Some(fx.dir.path().join("no-such-seed")),
        ..Overrides::default()
    });
    let err = Workspace::create(&s, &task("x")).expect_err("missing seed");
    assert!(err.to_string().contains("no-such-seed"), "{err}");
    assert!(
        !fx.root().exists()
            || fs::read_dir(fx.root().join("general"))
                .map(|d| d.count())
                .unwrap_or(0)
                == 0
    );
}

#[test]
fn titles_are_kept_on_one_line() {
    let fx = Fixture::new();
    let ws = Workspace::create(&fx.settings(), &task("  Two\nlines\tand  tabs ")).expect("create");
    assert_eq!(ws.task.title, "Two lines and tabs");
    assert_eq!(ws.task.slug, "two-lines-and-tabs");
}
