//! Creating workspaces: directory naming with race-free collision suffixes, the
//! built-in files, seed directories and project set-up.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::Local;

use crate::error::{Error, IoContext, Result};
use crate::fsio;
use crate::workspace::config::Settings;
use crate::workspace::model::{TASK_FILE, Workspace};
use crate::workspace::slug;
use crate::workspace::taskfile::{AgentKind, AgentSpec, Kind, TaskFile};

/// Category of tasks created without one.
pub const DEFAULT_CATEGORY: &str = "general";
/// Category recorded for projects created without one (they live flat in the project root).
pub const PROJECT_CATEGORY: &str = "projects";

/// How many collision suffixes are tried before giving up.
const MAX_ATTEMPTS: u32 = 10_000;

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct NewOptions {
    /// Human title; an empty title gives the slug `task-HHMMSS`.
    pub title: String,
    /// Category; tasks default to `general`, projects live flat in the project root.
    pub category: Option<String>,
    /// Create a project instead of a task.
    pub project: bool,
    /// The agent to record in `task.yaml`; `None` leaves it to the configured default.
    pub agent: Option<AgentSpec>,
}

/// Built-in instructions for every agent.
const AGENTS_MD: &str = "\
# Working in this workspace

This directory is a ctask workspace. Every visit is a recorded session.

1. Read `handoff.md` first: it says where the last session left off.
2. Keep `notes.md` up to date with decisions, findings and open questions as you go.
   Move old notes to `context/notes-archive/` when the file gets long.
3. Before you leave, update `handoff.md`: what you did, what is next, what to watch out for.
4. Do not touch `.ctask/`: it is ctask's own bookkeeping.
";

/// Built-in pointer for Claude Code.
const CLAUDE_MD: &str = "\
# CLAUDE.md

Read and follow `AGENTS.md` in this directory.
";

const HANDOFF_MD: &str = "\
# Handoff

Nothing yet: this is a new workspace.
";

const NOTES_MD: &str = "# Notes\n";

const PROJECT_GITIGNORE: &str = ".ctask/\nlogs/sessions.log\n";

pub(crate) fn create(settings: &Settings, opts: &NewOptions) -> Result<Workspace> {
    let category = match &opts.category {
        Some(c) => Some(validate_category(c)?),
        None => None,
    };
    let base: PathBuf = match (opts.project, &category) {
        (false, Some(c)) => settings.root.value.join(c),
        (false, None) => settings.root.value.join(DEFAULT_CATEGORY),
        (true, Some(c)) => settings.project_root.value.join(c),
        (true, None) => settings.project_root.value.clone(),
    };
    let stored_category = match (opts.project, category) {
        (_, Some(c)) => c.to_string(),
        (false, None) => DEFAULT_CATEGORY.to_string(),
        (true, None) => PROJECT_CATEGORY.to_string(),
    };
    let mut seeds = Vec::new();
    for s in [&settings.seed_dir, &settings.project_seed_dir]
        .into_iter()
        .take(if opts.project { 2 } else { 1 })
    {
        if let Some(dir) = &s.value {
            match fs::metadata(dir) {
                Ok(m) if m.is_dir() => seeds.push(dir.clone()),
                Ok(_) => {
                    return Err(Error::invalid(format!(
                        "seed directory {} (from {}) is not a directory",
                        dir.display(),
                        s.source
                    )));
                }
                Err(e) => {
                    return Err(Error::invalid(format!(
                        "seed directory {} (from {}): {e}",
                        dir.display(),
                        s.source
                    )));
                }
            }
        }
    }

    let now = Local::now();
    let base_slug = slug::slug_or_fallback(&opts.title, &now);
    let date = now.date_naive();
    fs::create_dir_all(&base).at(&base)?;

    let (dir, stored_slug) = claim_dir(&base, date, &base_slug)?;
    // One line: runs of whitespace (newlines and tabs included) become one space.
    let title = opts.title.split_whitespace().collect::<Vec<_>>().join(" ");
    let title = if title.is_empty() {
        stored_slug.clone()
    } else {
        title
    };
    let kind = if opts.project {
        Kind::Project
    } else {
        Kind::Task
    };
    let mut task = TaskFile::new(&title, &stored_slug, &stored_category, kind);
    task.agent = opts.agent.clone();
    let effective_agent = opts.agent.as_ref().unwrap_or(&settings.default_agent.value);

    match populate(&dir, &task, effective_agent, &seeds) {
        Ok(()) => Workspace::open(&dir),
        Err(e) => {
            // The directory is ours alone (we created it); leave nothing half-made.
            let _ = fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

/// Creates `<base>/<date>_<slug>` or the first free `-N` variant with `create_dir`
/// (never check-then-create) and returns it with the slug to store.
fn claim_dir(base: &Path, date: chrono::NaiveDate, base_slug: &str) -> Result<(PathBuf, String)> {
    for n in 1..=MAX_ATTEMPTS {
        let name = slug::dir_name(date, base_slug, n);
        let dir = base.join(&name);
        match fs::create_dir(&dir) {
            Ok(()) => {
                let stored = if n <= 1 {
                    base_slug.to_string()
                } else {
                    format!("{base_slug}-{n}")
                };
                return Ok((dir, stored));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
    Err(Error::invalid(format!(
        "too many workspaces named {base_slug:?} today under {}",
        base.display()
    )))
}

fn populate(dir: &Path, task: &TaskFile, agent: &AgentSpec, seeds: &[PathBuf]) -> Result<()> {
    fsio::write_atomic(&dir.join("AGENTS.md"), AGENTS_MD.as_bytes())?;
    if agent.kind == AgentKind::Claude {
        fsio::write_atomic(&dir.join("CLAUDE.md"), CLAUDE_MD.as_bytes())?;
    }
    fsio::write_atomic(&dir.join("handoff.md"), HANDOFF_MD.as_bytes())?;
    fsio::write_atomic(&dir.join("notes.md"), NOTES_MD.as_bytes())?;
    let archive = dir.join("context").join("notes-archive");
    fs::create_dir_all(&archive).at(&archive)?;
    fsio::write_atomic(&archive.join(".gitkeep"), b"")?;
    let logs = dir.join("logs");
    fsio::ensure_real_dir(&logs, true)?;
    fsio::write_atomic(&logs.join("sessions.log"), b"")?;
    fsio::ensure_real_dir(&dir.join(".ctask"), true)?;

    for seed in seeds {
        copy_seed(seed, dir)?;
    }

    let mut task = task.clone();
    if task.kind == Kind::Project {
        let gitignore = dir.join(".gitignore");
        if fs::symlink_metadata(&gitignore).is_err() {
            fsio::write_atomic(&gitignore, PROJECT_GITIGNORE.as_bytes())?;
        }
        let sub = dir.join(&task.slug);
        fs::create_dir_all(&sub).at(&sub)?;
        task.launch_dir = Some(task.slug.clone());
        if let Ok(git) = crate::program::find_program("git") {
            git_init(&git, dir)?;
        }
    }
    // Last, so a half-made directory is never taken for a workspace.
    task.save(&dir.join(TASK_FILE))
}

/// Copies the contents of `seed` over `dest`: directories merged, files replaced,
/// symbolic links reproduced as links. `task.yaml` and `.ctask/` are never seeded.
fn copy_seed(seed: &Path, dest: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(seed).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(seed).to_path_buf();
            Error::io(&path, e.into())
        })?;
        let Ok(rel) = entry.path().strip_prefix(seed) else {
            continue;
        };
        if rel == Path::new(TASK_FILE) || rel.starts_with(".ctask") {
            continue;
        }
        let target = dest.join(rel);
        let ft = entry.file_type();
        let existing = fs::symlink_metadata(&target).ok();
        if ft.is_dir() {
            match existing {
                Some(m) if m.is_dir() => {}
                Some(_) => {
                    return Err(Error::invalid(format!(
                        "seed {} is a directory but {} is not",
                        entry.path().display(),
                        target.display()
                    )));
                }
                None => fs::create_dir(&target).at(&target)?,
            }
            continue;
        }
        if let Some(m) = existing {
            if m.is_dir() {
                return Err(Error::invalid(format!(
                    "seed {} is a file but {} is a directory",
                    entry.path().display(),
                    target.display()
                )));
            }
            fs::remove_file(&target).at(&target)?;
        }
        if ft.is_symlink() {
            let link = fs::read_link(entry.path()).at(entry.path())?;
            make_symlink(&link, &target)?;
        } else {
            fs::copy(entry.path(), &target).at(&target)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn make_symlink(link: &Path, target: &Path) -> Result<()> {
    std::os::unix::fs::symlink(link, target).at(target)
}

#[cfg(not(unix))]
fn make_symlink(_link: &Path, target: &Path) -> Result<()> {
    Err(Error::invalid(format!(
        "cannot reproduce the symbolic link {} on this platform",
        target.display()
    )))
}

fn git_init(git: &Path, dir: &Path) -> Result<()> {
    let out = Command::new(git)
        .arg("init")
        .arg("--quiet")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .at(git)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "git init in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Checks a category given by the user: one plain directory name.
fn validate_category(c: &str) -> Result<&str> {
    let c = c.trim();
    let bad = c.is_empty()
        || c.starts_with('.')
        || c.contains(['/', '\\', '\0'])
        || c.chars().any(char::is_control);
    if bad {
        return Err(Error::invalid(format!(
            "invalid category {c:?}: it must be one directory name (no '/', not starting with '.')"
        )));
    }
    Ok(c)
}
