//! Diff of two manifests into added / modified / deleted / renamed paths.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::manifest::{Entry, Kind, Manifest};

/// A path that moved: deleted at `from`, added at `to` with the same content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rename {
    /// The old path.
    pub from: String,
    /// The new path.
    pub to: String,
}

/// What changed between two manifests; every list sorted by path (renames by `from`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// Paths that exist only now.
    pub added: Vec<String>,
    /// Paths whose content (file), target (symlink) or kind changed.
    pub modified: Vec<String>,
    /// Paths that existed only before.
    pub deleted: Vec<String>,
    /// Deleted paths whose content reappeared under an added path.
    pub renamed: Vec<Rename>,
}

/// The sizes of a [`Diff`]'s lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Number of added paths.
    pub added: usize,
    /// Number of modified paths.
    pub modified: usize,
    /// Number of deleted paths.
    pub deleted: usize,
    /// Number of renames.
    pub renamed: usize,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.modified.is_empty()
            && self.deleted.is_empty()
            && self.renamed.is_empty()
    }

    /// How many paths each list holds.
    pub fn counts(&self) -> Counts {
        Counts {
            added: self.added.len(),
            modified: self.modified.len(),
            deleted: self.deleted.len(),
            renamed: self.renamed.len(),
        }
    }
}

/// What changed from `base` to `now`. A `touch` is not a change; a base entry without a
/// hash (foreign baseline, unreadable file) is compared by size and mtime.
pub fn diff(base: &Manifest, now: &Manifest) -> Diff {
    let base = sorted(&base.entries);
    let now = sorted(&now.entries);
    let (mut i, mut j) = (0, 0);
    let mut out = Diff::default();
    let (mut gone, mut new): (Vec<&Entry>, Vec<&Entry>) = (Vec::new(), Vec::new());
    while i < base.len() || j < now.len() {
        match (base.get(i), now.get(j)) {
            (Some(b), Some(n)) if b.path == n.path => {
                if changed(b, n) {
                    out.modified.push(n.path.clone());
                }
                i += 1;
                j += 1;
            }
            (Some(b), Some(n)) if b.path < n.path => {
                gone.push(b);
                i += 1;
            }
            (Some(b), None) => {
                gone.push(b);
                i += 1;
            }
            (_, Some(n)) => {
                new.push(n);
                j += 1;
            }
            (None, None) => break,
        }
    }
    pair_renames(&gone, &new, &mut out);
    out
}

/// Whether the same path differs between `b` (before) and `n` (now).
fn changed(b: &Entry, n: &Entry) -> bool {
    if b.is_legacy() {
        return b.size != n.size || b.mtime != n.mtime;
    }
    if b.kind != n.kind {
        return true;
    }
    match b.kind {
        Kind::File => match (b.sha256, n.sha256) {
            (Some(x), Some(y)) => x != y || b.size != n.size,
            _ => b.size != n.size || b.mtime != n.mtime,
        },
        Kind::Symlink => b.target != n.target,
        Kind::Other => false,
    }
}

/// Pairs deleted and added regular files with the same hash and size, in path order on
/// both sides, each deleted path used at most once; the rest stay deleted / added.
fn pair_renames(gone: &[&Entry], new: &[&Entry], out: &mut Diff) {
    let key = |e: &Entry| match (e.kind, e.sha256) {
        (Kind::File, Some(sha)) => Some((sha, e.size)),
        _ => None,
    };
    let mut sources: HashMap<([u8; 32], u64), VecDeque<&str>> = HashMap::new();
    for e in gone {
        if let Some(k) = key(e) {
            sources.entry(k).or_default().push_back(&e.path);
        }
    }
    let mut used: Vec<&str> = Vec::new();
    for e in new {
        let from = key(e).and_then(|k| sources.get_mut(&k)?.pop_front());
        match from {
            Some(from) => {
                used.push(from);
                out.renamed.push(Rename {
                    from: from.to_owned(),
                    to: e.path.clone(),
                });
            }
            None => out.added.push(e.path.clone()),
        }
    }
    used.sort_unstable();
    out.deleted = gone
        .iter()
        .filter(|e| used.binary_search(&e.path.as_str()).is_err())
        .map(|e| e.path.clone())
        .collect();
    out.renamed.sort_unstable();
}

/// `entries` in path order (they normally already are).
fn sorted(entries: &[Entry]) -> Vec<&Entry> {
    let mut v: Vec<&Entry> = entries.iter().collect();
    if !v.is_sorted_by(|a, b| a.path <= b.path) {
        v.sort_by(|a, b| a.path.cmp(&b.path));
    }
    v
}
