//! Discovery: every workspace under the task root and the project root.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::workspace::config::Settings;
use crate::workspace::info::WorkspaceInfo;
use crate::workspace::model::{Workspace, category_from_layout};
use crate::workspace::slug;
use crate::workspace::taskfile::{Kind, Status};

/// A directory found by [`discover`]: an opened workspace, or one whose `task.yaml`
/// cannot be read.
#[derive(Debug)]
pub enum Found {
    /// A readable workspace.
    Ok(Box<Workspace>),
    /// A workspace whose `task.yaml` is unreadable or malformed.
    Broken {
        /// Canonical path of the directory.
        dir: PathBuf,
        /// Name of the directory.
        dir_name: String,
        /// Category implied by the layout (the parent directory's name, or empty at the
        /// top level of a root).
        category: String,
        /// Why it cannot be opened (names the `task.yaml`).
        error: Error,
    },
}

impl Found {
    /// The workspace directory.
    pub fn dir(&self) -> &Path {
        match self {
            Found::Ok(w) => &w.dir,
            Found::Broken { dir, .. } => dir,
        }
    }

    /// The directory name.
    pub fn dir_name(&self) -> &str {
        match self {
            Found::Ok(w) => &w.dir_name,
            Found::Broken { dir_name, .. } => dir_name,
        }
    }

    /// The slug: from `task.yaml`, or from the directory name when broken.
    pub fn slug(&self) -> &str {
        match self {
            Found::Ok(w) => &w.task.slug,
            Found::Broken { dir_name, .. } => slug::slug_from_dir_name(dir_name),
        }
    }

    /// The status; broken workspaces count as active (they are always shown).
    pub fn status(&self) -> Status {
        match self {
            Found::Ok(w) => w.task.status,
            Found::Broken { .. } => Status::Active,
        }
    }

    /// Whether `task.yaml` could not be read.
    pub fn is_broken(&self) -> bool {
        matches!(self, Found::Broken { .. })
    }

    /// The serialisable description; a broken one carries `broken: true` and its error.
    pub fn info(&self) -> WorkspaceInfo {
        match self {
            Found::Ok(w) => w.info(),
            Found::Broken {
                dir,
                dir_name,
                category,
                error,
            } => WorkspaceInfo {
                path: dir.clone(),
                dir_name: dir_name.clone(),
                slug: slug::slug_from_dir_name(dir_name).to_string(),
                title: String::new(),
                category: category.clone(),
                kind: Kind::Task,
                status: Status::Active,
                created_at: None,
                updated_at: None,
                launch_dir: None,
                agent: None,
                broken: true,
                error: Some(error.to_string()),
                session: None,
                last_session: None,
            },
        }
    }

    /// The workspace, or the error that makes it broken.
    pub fn into_result(self) -> crate::Result<Workspace> {
        match self {
            Found::Ok(w) => Ok(*w),
            Found::Broken { error, .. } => Err(error),
        }
    }
}

/// Finds every workspace under the task root and the project root, two levels deep
/// (`<root>/<ws>` and `<root>/<category>/<ws>`); a directory is a workspace when it holds
/// `task.yaml` ([`listing`](super::listing): a symlink inside a root is never followed).
/// Directories are de-duplicated by canonical path (the project root may lie inside the
/// task root); names starting with `.` are skipped, and so are directories that cannot be
/// listed. The result is sorted by path. Nothing is written.
pub fn discover(settings: &Settings) -> Vec<Found> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for root in [&settings.root.value, &settings.project_root.value] {
        for (dir, top_level) in candidates(root) {
            let Ok(canon) = fs::canonicalize(&dir) else {
                continue;
            };
            if !seen.insert(canon.clone()) {
                continue;
            }
            found.push(match Workspace::open(&canon) {
                Ok(w) => Found::Ok(Box::new(w)),
                Err(error) => Found::Broken {
                    dir_name: canon
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    category: if top_level {
                        String::new()
                    } else {
                        category_from_layout(&canon)
                    },
                    dir: canon,
                    error,
                },
            });
        }
    }
    found.sort_by(|a, b| a.dir().cmp(b.dir()));
    found
}

/// Workspace directories under `root` (with whether they sit directly in it), by the
/// listing watch uses too.
fn candidates(root: &Path) -> Vec<(PathBuf, bool)> {
    super::listing::list(&[root.to_path_buf()])
        .workspaces
        .into_iter()
        .map(|w| {
            let top = w.parent() == Some(root);
            (w, top)
        })
        .collect()
}
