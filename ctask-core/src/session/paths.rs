//! The names of the files in a workspace's `.ctask/` directory.

use std::path::{Path, PathBuf};

/// The `.ctask/` directory's name.
pub const CTASK_DIR: &str = ".ctask";

/// Paths of every file ctask keeps in `.ctask/`.
#[derive(Debug, Clone)]
pub struct CtaskPaths {
    /// `.ctask/`.
    pub dir: PathBuf,
    /// `session.json` (the lease).
    pub lease: PathBuf,
    /// `session.lock`.
    pub session_lock: PathBuf,
    /// `write.lock`.
    pub write_lock: PathBuf,
    /// `manifest-start.json`.
    pub start_manifest: PathBuf,
    /// `last-session-summary.json`.
    pub summary: PathBuf,
}

impl CtaskPaths {
    /// The paths for workspace `ws`.
    pub fn new(ws: &Path) -> CtaskPaths {
        let dir = ws.join(CTASK_DIR);
        CtaskPaths {
            lease: dir.join("session.json"),
            session_lock: dir.join("session.lock"),
            write_lock: dir.join("write.lock"),
            start_manifest: dir.join("manifest-start.json"),
            summary: dir.join("last-session-summary.json"),
            dir,
        }
    }
}
