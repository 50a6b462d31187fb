//! Query resolution: which workspace a QUERY names.

use std::path::Path;

use crate::error::{Error, Result};
use crate::workspace::config::Settings;
use crate::workspace::discover::{Found, discover};
use crate::workspace::model::{TASK_FILE, Workspace, category_from_layout};
use crate::workspace::taskfile::Status;

/// How to resolve a query.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResolveOptions {
    /// Match archived workspaces too (direct-lookup commands and `--all`).
    pub include_archived: bool,
}

/// Resolves `query` to one workspace.
///
/// A query containing `/` is a path to a workspace directory (it must hold `task.yaml`).
/// Otherwise, in order, the first rule with any match decides: exact directory name,
/// exact slug, case-insensitive substring of the slug. One match is returned (a broken
/// one as its error, naming its `task.yaml`); several are [`Error::Ambiguous`] listing
/// all of them; none is [`Error::NotFound`]. Archived workspaces take part only with
/// `include_archived`.
pub fn resolve(settings: &Settings, query: &str, opts: ResolveOptions) -> Result<Workspace> {
    resolve_found(settings, query, opts)?.into_result()
}

/// Resolves `query` like [`resolve`], but a workspace whose `task.yaml` cannot be read is
/// returned as [`Found::Broken`] instead of its error — for what can be done to a broken
/// workspace (deleting it). A path query names a broken workspace when its directory holds
/// a `task.yaml` that cannot be opened.
pub fn resolve_found(settings: &Settings, query: &str, opts: ResolveOptions) -> Result<Found> {
    if query.trim().is_empty() {
        return Err(Error::invalid("empty workspace query"));
    }
    if query.contains('/') {
        return open_path(Path::new(query));
    }
    let all: Vec<Found> = discover(settings)
        .into_iter()
        .filter(|f| opts.include_archived || f.status() != Status::Archived)
        .collect();
    let lower = query.to_lowercase();
    let rules: [&dyn Fn(&Found) -> bool; 3] =
        [&|f| f.dir_name() == query, &|f| f.slug() == query, &|f| {
            f.slug().to_lowercase().contains(&lower)
        }];
    for rule in rules {
        let idx: Vec<usize> = (0..all.len()).filter(|&i| rule(&all[i])).collect();
        match idx.as_slice() {
            [] => continue,
            [one] => {
                let one = *one;
                return all.into_iter().nth(one).ok_or_else(|| not_found(query));
            }
            many => {
                return Err(Error::Ambiguous {
                    query: query.to_string(),
                    candidates: many.iter().map(|&i| all[i].dir().to_path_buf()).collect(),
                });
            }
        }
    }
    Err(not_found(query))
}

/// The workspace at `path`; one whose `task.yaml` exists but cannot be opened is broken.
fn open_path(path: &Path) -> Result<Found> {
    match Workspace::open(path) {
        Ok(w) => Ok(Found::Ok(Box::new(w))),
        Err(Error::NotFound { query }) => Err(Error::NotFound { query }),
        Err(error) => {
            let Ok(dir) = std::fs::canonicalize(path) else {
                return Err(error);
            };
            if std::fs::symlink_metadata(dir.join(TASK_FILE)).is_err() {
                return Err(error);
            }
            Ok(Found::Broken {
                dir_name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                category: category_from_layout(&dir),
                dir,
                error,
            })
        }
    }
}

fn not_found(query: &str) -> Error {
    Error::NotFound {
        query: query.to_string(),
    }
}
