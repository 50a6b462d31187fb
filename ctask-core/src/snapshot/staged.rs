//! The temp files an undo stages, listed in `.ctask/undo-staged.json` before the first is
//! written, so that the end of that undo — or the recovery of its session after a crash —
//! removes exactly those still there, before its capture (docs/undo.md).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::tree::{TEMP_PREFIX, Tree};
use crate::error::Result;
use crate::session::dirfd::Dir;

/// The list's name in `.ctask/`.
pub const STAGED_FILE: &str = "undo-staged.json";

/// The most of the list read (an agent may have planted a huge one).
const STAGED_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// What the list holds.
#[derive(Debug, Serialize, Deserialize)]
struct Staged {
    /// The undo session that staged them.
    session_id: String,
    /// Workspace-relative paths of the temp files.
    temps: Vec<String>,
}

/// Writes the list of temp files undo session `session_id` is about to stage (atomic,
/// durable).
pub fn write(ctask: &Dir, session_id: &str, temps: &[String]) -> Result<()> {
    ctask.write_json_atomic(
        STAGED_FILE,
        &Staged {
            session_id: session_id.to_owned(),
            temps: temps.to_vec(),
        },
    )
}

/// Whether `p` is a path undo could have staged: relative, plain components, outside
/// `.ctask/`, its last component an undo temp name.
fn plausible(p: &str) -> bool {
    let last = p.rsplit('/').next().unwrap_or_default();
    last.starts_with(TEMP_PREFIX)
        && !p.starts_with('/')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && p.split('/').next() != Some(".ctask")
}

/// Removes the temp files of undo session `session_id` still in the workspace (each only
/// when still a regular file or a symlink, reached without following one), then the
/// list. A list of another session (or with `session_id` empty: of any) is removed without
/// touching anything; what cannot be done is a warning.
pub fn clear(ws: &Path, ctask: &Dir, session_id: &str, warnings: &mut Vec<String>) {
    let list = match ctask.read_capped(STAGED_FILE, STAGED_MAX_BYTES) {
        Ok(Some(b)) => serde_json::from_slice::<Staged>(&b).ok(),
        Ok(None) => return,
        Err(e) => {
            warnings.push(format!("{e}; undo temp files, if any, were left"));
            None
        }
    };
    if let Some(list) = list.filter(|l| !session_id.is_empty() && l.session_id == session_id) {
        match Tree::open(ws) {
            Ok(tree) => {
                for p in list.temps.iter().filter(|p| plausible(p)) {
                    if let Err(e) = tree.remove_if_file(p) {
                        warnings.push(format!("cannot remove undo temp file {p:?}: {e}"));
                    }
                }
                let _ = tree.sync_dirs();
            }
            Err(e) => warnings.push(format!("cannot open {}: {e}", ws.display())),
        }
    }
    if let Err(e) = ctask.unlink(STAGED_FILE) {
        warnings.push(e.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_undo_temp_names_inside_the_workspace_are_plausible() {
        assert!(plausible(".ctask-undo-1-ab"));
        assert!(plausible("a/b/.ctask-undo-1-ab"));
        for p in [
            "notes.md",
            "/tmp/.ctask-undo-1-ab",
            "../.ctask-undo-1-ab",
            "a/../.ctask-undo-1-ab",
            ".ctask/.ctask-undo-1-ab",
            "a//.ctask-undo-1-ab",
            ".ctask-undo-1-ab/x",
        ] {
            assert!(!plausible(p), "{p}");
        }
    }
}
