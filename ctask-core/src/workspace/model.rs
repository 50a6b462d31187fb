//! [`Workspace`]: an opened workspace directory and its `task.yaml`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::workspace::config::Settings;
use crate::workspace::create::{self, NewOptions};
use crate::workspace::info::WorkspaceInfo;
use crate::workspace::slug;
use crate::workspace::taskfile::{AgentSpec, TaskFile, format_time};

/// File name of the workspace description.
pub const TASK_FILE: &str = "task.yaml";

/// An opened workspace: its directory and its parsed `task.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    /// Absolute, canonical path of the workspace directory.
    pub dir: PathBuf,
    /// Name of the directory (`<YYYY-MM-DD>_<slug>`).
    pub dir_name: String,
    /// The parsed `task.yaml`.
    pub task: TaskFile,
}

impl Workspace {
    /// Opens the workspace at `dir`: reads and validates its `task.yaml`.
    ///
    /// A directory without `task.yaml` is [`Error::NotFound`]; an unreadable, corrupt or
    /// truncated `task.yaml`, or one with a newer `schema_version`, is
    /// [`Error::BadFormat`] naming the file. Nothing is written.
    pub fn open(dir: &Path) -> Result<Workspace> {
        let dir = match fs::canonicalize(dir) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    query: dir.display().to_string(),
                });
            }
            Err(e) => return Err(Error::io(dir, e)),
        };
        if !fs::metadata(&dir).at(&dir)?.is_dir() {
            return Err(Error::NotFound {
                query: dir.display().to_string(),
            });
        }
        let file = dir.join(TASK_FILE);
        match fs::symlink_metadata(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    query: dir.display().to_string(),
                });
            }
            _ => {}
        }
        let mut task = TaskFile::load(&file)?;
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if task.slug.trim().is_empty() {
            task.slug = slug::slug_from_dir_name(&dir_name).to_string();
        }
        if task.category.trim().is_empty() {
            task.category = category_from_layout(&dir);
        }
        Ok(Workspace {
            dir,
            dir_name,
            task,
        })
    }

    /// Creates a new workspace as described by `opts` under the roots of `settings`.
    /// Creation is race-free: concurrent creators of one title get distinct directories.
    /// On failure nothing is left behind.
    pub fn create(settings: &Settings, opts: &NewOptions) -> Result<Workspace> {
        create::create(settings, opts)
    }

    /// [`Workspace::create`], then the `on_create` hook of `settings` (run in the new
    /// workspace): its failure is not an error but a returned warning and a `hook` log
    /// line. Every face creates workspaces through this.
    pub fn create_with_hooks(
        settings: &Settings,
        opts: &NewOptions,
    ) -> Result<(Workspace, Vec<String>)> {
        let ws = create::create(settings, opts)?;
        let hooks = &settings.hooks.value;
        let warning = hooks.set.on_create.as_ref().and_then(|argv| {
            crate::hooks::run_reported(
                crate::hooks::HookName::OnCreate,
                argv,
                &ws.dir,
                &ws.hook_env(&settings.root.value),
                hooks,
                None,
                None,
            )
        });
        Ok((ws, warning.into_iter().collect()))
    }

    /// The environment of a hook that runs outside any session: the workspace's
    /// `CTASK_*` variables without the session's.
    fn hook_env(&self, root: &Path) -> std::collections::BTreeMap<String, String> {
        let path = |p: &Path| p.to_string_lossy().into_owned();
        [
            ("CTASK_TASK", self.task.slug.clone()),
            ("CTASK_WORKSPACE", path(&self.dir)),
            ("CTASK_ROOT", path(root)),
            ("CTASK_CATEGORY", self.task.category.clone()),
            ("CTASK_TYPE", self.task.kind.as_str().to_owned()),
            ("CTASK_MODE", "local".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Path of this workspace's `task.yaml`.
    pub fn task_file(&self) -> PathBuf {
        self.dir.join(TASK_FILE)
    }

    /// Path of this workspace's `.ctask/` directory.
    pub fn ctask_dir(&self) -> PathBuf {
        self.dir.join(".ctask")
    }

    /// Writes `task.yaml` back atomically after bumping `updated_at`.
    pub fn save(&mut self) -> Result<()> {
        self.task.touch();
        self.task.save(&self.task_file())
    }

    /// The agent to launch: the one in `task.yaml`, else the configured default.
    pub fn agent(&self, settings: &Settings) -> AgentSpec {
        self.task
            .agent
            .clone()
            .unwrap_or_else(|| settings.default_agent.value.clone())
    }

    /// The serialisable description (without session state, which the session layer
    /// fills in).
    pub fn info(&self) -> WorkspaceInfo {
        let t = &self.task;
        WorkspaceInfo {
            path: self.dir.clone(),
            dir_name: self.dir_name.clone(),
            slug: t.slug.clone(),
            title: t.title.clone(),
            category: t.category.clone(),
            kind: t.kind,
            status: t.status,
            created_at: t.created_at.as_ref().map(format_time),
            updated_at: t.updated_at.as_ref().map(format_time),
            launch_dir: t.launch_dir.clone(),
            agent: t.agent.as_ref().map(AgentSpec::label),
            broken: false,
            error: None,
            session: None,
            last_session: None,
        }
    }
}

/// The category implied by where a directory lies: the name of its parent directory.
pub(crate) fn category_from_layout(dir: &Path) -> String {
    dir.parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
