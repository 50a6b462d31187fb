//! Query resolution: which workspace a QUERY names.

use std::path::Path;

use crate::error::{Error, Result};
use crate::workspace::config::Settings;
use crate::workspace::discover::{Found, discover};
use crate::workspace::model::Workspace;
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
    if query.trim().is_empty() {
        return Err(Error::invalid("empty workspace query"));
    }
    if query.contains('/') {
        return Workspace::open(Path::new(query));
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
                return all
                    .into_iter()
                    .nth(one)
                    .map(Found::into_result)
                    .unwrap_or_else(|| Err(not_found(query)));
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

fn not_found(query: &str) -> Error {
    Error::NotFound {
        query: query.to_string(),
    }
}
