//! Discovery and query resolution.

use std::fs;
use std::path::{Path, PathBuf};

use ctask_core::Error;
use ctask_core::session::status::last_worked as last;
use ctask_core::workspace::{
    Found, Overrides, ResolveOptions, Settings, discover, resolve, resolve_found,
};

struct Fixture {
    dir: tempfile::TempDir,
}

const ACTIVE: ResolveOptions = ResolveOptions {
    include_archived: false,
};
const ALL: ResolveOptions = ResolveOptions {
    include_archived: true,
};

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn settings_with(&self, o: Overrides) -> Settings {
        let root = self.root().display().to_string();
        let home = self.dir.path().join("home").display().to_string();
        Settings::resolve(&o, &|k| match k {
            "CTASK_ROOT" => Some(root.clone()),
            "HOME" => Some(home.clone()),
            _ => None,
        })
        .expect("settings")
    }
    fn settings(&self) -> Settings {
        self.settings_with(Overrides::default())
    }
    /// Writes a workspace by hand at `<root>/<rel>` with `slug` and `status`.
    fn ws(&self, rel: &str, slug: &str, status: &str, updated: &str) -> PathBuf {
        let dir = self.root().join(rel);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(
            dir.join("task.yaml"),
            format!(
                "schema_version: 1\ntitle: {slug}\nslug: {slug}\ncategory: c\nstatus: {status}\n\
                 created_at: 2025-01-01T00:00:00Z\nupdated_at: {updated}\n"
            ),
        )
        .expect("write");
        fs::canonicalize(dir).expect("canon")
    }
}

fn dir_of(r: ctask_core::Result<ctask_core::workspace::Workspace>) -> PathBuf {
    r.expect("resolves").dir
}

fn candidates(e: Error) -> Vec<PathBuf> {
    match e {
        Error::Ambiguous { mut candidates, .. } => {
            candidates.sort();
            candidates
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[test]
fn exact_dir_beats_slug_beats_substring() {
    let fx = Fixture::new();
    let t = "2025-01-01T00:00:00Z";
    let a = fx.ws("c/2025-01-01_auth", "auth", "active", t);
    // b's slug equals a's directory name: the directory name still wins.
    let b = fx.ws("c/2025-01-02_weird", "2025-01-01_auth", "active", t);
    let c = fx.ws("c/2025-01-03_auth-fix", "auth-fix", "active", t);
    let s = fx.settings();
    assert_eq!(dir_of(resolve(&s, "2025-01-01_auth", ACTIVE)), a);
    assert_eq!(dir_of(resolve(&s, "2025-01-02_weird", ACTIVE)), b);
    // exact slug "auth" beats the substring match in "auth-fix".
    assert_eq!(dir_of(resolve(&s, "auth", ACTIVE)), a);
    // unique case-insensitive substring.
    assert_eq!(dir_of(resolve(&s, "FIX", ACTIVE)), c);
    // several substring matches: every candidate is listed.
    assert_eq!(
        candidates(resolve(&s, "ut", ACTIVE).expect_err("ambiguous")),
        {
            let mut v = vec![a.clone(), b.clone(), c.clone()];
            v.sort();
            v
        }
    );
    match resolve(&s, "nothing-like-it", ACTIVE) {
        Err(Error::NotFound { query }) => assert_eq!(query, "nothing-like-it"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn one_exact_slug_under_two_dates_or_categories_is_ambiguous() {
    let fx = Fixture::new();
    let t = "2025-01-01T00:00:00Z";
    let a = fx.ws("c/2025-01-01_deploy", "deploy", "active", t);
    let b = fx.ws("c/2025-02-01_deploy", "deploy", "active", t);
    let c = fx.ws("other/2025-03-01_deploy", "deploy", "active", t);
    let err = resolve(&fx.settings(), "deploy", ACTIVE).expect_err("ambiguous");
    let msg = err.to_string();
    assert!(
        msg.contains("2025-01-01_deploy") && msg.contains("2025-02-01_deploy"),
        "{msg}"
    );
    assert_eq!(candidates(err), vec![a.clone(), b, c]);
    assert_eq!(
        dir_of(resolve(&fx.settings(), "2025-01-01_deploy", ACTIVE)),
        a
    );
}

#[test]
fn archived_workspaces_are_hidden_unless_asked_for() {
    let fx = Fixture::new();
    let t = "2025-01-01T00:00:00Z";
    let old = fx.ws("c/2025-01-01_old-login", "old-login", "archived", t);
    let new = fx.ws("c/2025-02-01_login-v2", "login-v2", "active", t);
    let s = fx.settings();
    assert!(matches!(
        resolve(&s, "old-login", ACTIVE),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(dir_of(resolve(&s, "old-login", ALL)), old);
    // The archived one does not make "login" ambiguous for active lookups.
    assert_eq!(dir_of(resolve(&s, "login", ACTIVE)), new);
    assert!(matches!(
        resolve(&s, "login", ALL),
        Err(Error::Ambiguous { .. })
    ));
}

#[test]
fn a_broken_task_yaml_does_not_stop_the_others() {
    let fx = Fixture::new();
    let t = "2025-01-01T00:00:00Z";
    let good = fx.ws("c/2025-01-01_good", "good", "active", t);
    let broken = fx.root().join("c").join("2025-01-01_broken-one");
    fs::create_dir_all(&broken).expect("mkdir");
    fs::write(
        broken.join("task.yaml"),
        "schema_version: 1\ntitle: \"unterminated\n",
    )
    .expect("w");
    let broken = fs::canonicalize(broken).expect("canon");
    let s = fx.settings();

    let found = discover(&s);
    assert_eq!(found.len(), 2);
    let b = found.iter().find(|f| f.is_broken()).expect("broken listed");
    assert_eq!(b.slug(), "broken-one");
    assert_eq!(b.dir(), broken);
    let info = b.info();
    assert!(info.broken);
    assert_eq!(info.category, "c");
    assert!(info.error.as_deref().unwrap_or("").contains("task.yaml"));

    assert_eq!(dir_of(resolve(&s, "good", ACTIVE)), good);
    match resolve(&s, "broken-one", ALL) {
        Err(Error::BadFormat { path, .. }) => assert_eq!(path, broken.join("task.yaml")),
        other => panic!("expected BadFormat, got {other:?}"),
    }
}

#[test]
fn resolve_found_keeps_a_broken_workspace_by_name_and_by_path() {
    let fx = Fixture::new();
    let broken = fx.root().join("c").join("2025-01-01_broken-one");
    fs::create_dir_all(&broken).expect("mkdir");
    fs::write(broken.join("task.yaml"), "title: [unclosed\n").expect("w");
    let broken = fs::canonicalize(broken).expect("canon");
    let s = fx.settings();
    for query in [
        "2025-01-01_broken-one".to_owned(),
        "broken".to_owned(),
        broken.display().to_string(),
    ] {
        match resolve_found(&s, &query, ACTIVE) {
            Ok(Found::Broken {
                dir,
                dir_name,
                category,
                error,
            }) => {
                assert_eq!(dir, broken, "{query}");
                assert_eq!(dir_name, "2025-01-01_broken-one");
                assert_eq!(category, "c");
                assert!(matches!(error, Error::BadFormat { .. }), "{error:?}");
            }
            other => panic!("{query}: expected a broken workspace, got {other:?}"),
        }
    }
    // A directory without task.yaml is still not a workspace.
    let empty = fx.root().join("c").join("plain");
    fs::create_dir_all(&empty).expect("mkdir");
    assert!(matches!(
        resolve_found(&s, &empty.display().to_string(), ACTIVE),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_path_query_opens_that_directory() {
    let fx = Fixture::new();
    let a = fx.ws(
        "c/2025-01-01_by-path",
        "by-path",
        "archived",
        "2025-01-01T00:00:00Z",
    );
    let s = fx.settings();
    assert_eq!(dir_of(resolve(&s, &format!("{}/", a.display()), ACTIVE)), a);
    let empty = fx.dir.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    assert!(matches!(
        resolve(&s, &empty.display().to_string(), ALL),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        resolve(&s, "/no/such/dir", ALL),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn discovery_is_two_levels_deep_and_deduplicates_roots() {
    let fx = Fixture::new();
    let t = "2025-01-01T00:00:00Z";
    let top = fx.ws("2025-01-01_top", "top", "active", t);
    let nested = fx.ws("c/2025-01-01_nested", "nested", "active", t);
    let proj = fx.ws("projects/2025-01-01_proj", "proj", "active", t);
    fx.ws("c/deeper/2025-01-01_too-deep", "too-deep", "active", t);
    fs::create_dir_all(fx.root().join(".hidden/2025-01-01_x")).expect("mkdir");
    fs::write(
        fx.root().join(".hidden/2025-01-01_x/task.yaml"),
        "title: x\nslug: x\n",
    )
    .expect("w");

    // Project root inside the task root: found once.
    let dirs: Vec<PathBuf> = discover(&fx.settings())
        .iter()
        .map(|f| f.dir().to_path_buf())
        .collect();
    let mut want = vec![top.clone(), nested.clone(), proj.clone()];
    want.sort();
    assert_eq!(dirs, want);

    // Project root elsewhere, reached through a symlink to the same place: still once each.
    let elsewhere = fx.dir.path().join("code");
    fs::create_dir_all(elsewhere.join("2025-01-01_outside")).expect("mkdir");
    fs::write(
        elsewhere.join("2025-01-01_outside/task.yaml"),
        "title: o\nslug: outside\n",
    )
    .expect("w");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&elsewhere, fx.root().join("code-link")).expect("symlink");
    let s = fx.settings_with(Overrides {
        project_root: Some(elsewhere.clone()),
        ..Overrides::default()
    });
    let found = discover(&s);
    assert_eq!(
        found.len(),
        4,
        "{:?}",
        found.iter().map(Found::dir).collect::<Vec<&Path>>()
    );
}

#[test]
fn last_without_sessions_is_the_most_recently_updated() {
    let fx = Fixture::new();
    fx.ws("c/2025-01-01_a", "a", "active", "2025-01-05T00:00:00Z");
    let b = fx.ws("c/2025-01-01_b", "b", "active", "2025-03-01T00:00:00Z");
    fx.ws("c/2025-01-01_c", "c", "archived", "2025-06-01T00:00:00Z");
    assert_eq!(dir_of(last(&fx.settings(), ACTIVE)), b);
    assert!(matches!(
        last(&Fixture::new().settings(), ACTIVE),
        Err(Error::NotFound { .. })
    ));
}
