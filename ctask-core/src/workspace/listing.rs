//! The one listing of roots that discovery and watch share: workspaces two levels deep
//! under each root, and the directories in between (which a watch follows so that a
//! workspace appearing or vanishing is seen). A symbolic link inside a root is never
//! followed, at either level (docs/workspace.md, "Discovery").

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::workspace::TASK_FILE;

/// What a listing of the roots found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Workspace directories, as reached from their root (not canonicalised).
    pub workspaces: BTreeSet<PathBuf>,
    /// Roots, and their sub-directories that are not workspaces (categories, or
    /// directories that may yet become workspaces).
    pub structure: BTreeSet<PathBuf>,
}

/// Lists `roots`: a directory holding `task.yaml` at the first level is a workspace and is
/// not looked into; otherwise its sub-directories holding one are. Names starting with `.`,
/// symlinks and directories that cannot be listed are skipped; a root itself may be
/// reached through a symlink.
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

/// The real sub-directories of `dir` (not symlinks to one), names starting with `.` left
/// out.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_skipped_at_both_levels_and_a_root_may_be_one() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        for d in ["root/top", "root/cat/inner", "root/cat/empty", "outside/ws"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        for ws in ["root/top", "root/cat/inner", "outside/ws", "outside"] {
            fs::write(t.path().join(ws).join(TASK_FILE), "title: x\n").unwrap();
        }
        let link = |target: &Path, at: &str| std::os::unix::fs::symlink(target, root.join(at));
        link(&outside, "linked-ws").unwrap();
        link(&t.path().join("outside-cat"), "dangling").unwrap();
        link(&root.join("cat"), "cat-alias").unwrap();
        link(&outside.join("ws"), "cat/linked-inner").unwrap();
        let l = list(std::slice::from_ref(&root));
        let want: BTreeSet<PathBuf> = [root.join("top"), root.join("cat/inner")].into();
        assert_eq!(l.workspaces, want);
        let want: BTreeSet<PathBuf> =
            [root.clone(), root.join("cat"), root.join("cat/empty")].into();
        assert_eq!(l.structure, want);
        // A root reached through a symlink is listed like the real one.
        let via = t.path().join("root-link");
        std::os::unix::fs::symlink(&root, &via).unwrap();
        assert_eq!(list(std::slice::from_ref(&via)).workspaces.len(), 2);
    }
}
