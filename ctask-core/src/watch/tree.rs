//! The directories a watch covers: workspaces two levels deep under each root (as
//! [`discover`](crate::workspace::discover) finds them), and the directories in between
//! whose changes can make a workspace appear or vanish.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::workspace::TASK_FILE;

/// What a listing of the roots found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Workspace directories.
    pub workspaces: BTreeSet<PathBuf>,
    /// Roots, and their sub-directories that are not workspaces (categories, or
    /// directories that may yet become workspaces): watched for entries appearing.
    pub structure: BTreeSet<PathBuf>,
}

/// Lists `roots` (already absolute). Symlinks and names starting with `.` are skipped;
/// nothing is followed out of a root.
pub fn list(roots: &[PathBuf]) -> Listing {
    let mut l = Listing::default();
    for root in roots {
        l.structure.insert(root.clone());
        for first in subdirs(root) {
            if is_workspace(&first) {
                l.workspaces.insert(first);
                continue;
            }
            for second in subdirs(&first) {
                if is_workspace(&second) {
                    l.workspaces.insert(second);
                } else {
                    l.structure.insert(second);
                }
            }
            l.structure.insert(first);
        }
    }
    l
}

/// Whether `dir` holds a `task.yaml` (of any kind; a broken one still makes a workspace).
pub fn is_workspace(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(TASK_FILE)).is_ok()
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}
