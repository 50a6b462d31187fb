//! The names of the files in a workspace's `.ctask/` directory.

use std::path::{Path, PathBuf};

/// The `.ctask/` directory's name.
pub const CTASK_DIR: &str = ".ctask";

/// `session.json`'s name.
pub const LEASE: &str = "session.json";
/// `write.lock`'s name.
pub const WRITE_LOCK: &str = "write.lock";
/// The start manifest's name (binary, docs/manifest.md).
pub const START_MANIFEST: &str = "manifest-start.bin";
/// The name of a start manifest in JSON, as the reference tool writes it (still read).
pub const JSON_START_MANIFEST: &str = "manifest-start.json";
/// The index's name: the binary baseline and hash cache.
pub const INDEX: &str = "index";
/// `last-session-summary.json`'s name.
pub const SUMMARY: &str = "last-session-summary.json";

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
    /// `manifest-start.bin`.
    pub start_manifest: PathBuf,
    /// `manifest-start.json` (the reference tool's start manifest).
    pub json_start_manifest: PathBuf,
    /// `index`.
    pub index: PathBuf,
    /// `last-session-summary.json`.
    pub summary: PathBuf,
}

impl CtaskPaths {
    /// The paths for workspace `ws`.
    pub fn new(ws: &Path) -> CtaskPaths {
        let dir = ws.join(CTASK_DIR);
        CtaskPaths {
            lease: dir.join(LEASE),
            session_lock: dir.join("session.lock"),
            write_lock: dir.join(WRITE_LOCK),
            start_manifest: dir.join(START_MANIFEST),
            json_start_manifest: dir.join(JSON_START_MANIFEST),
            index: dir.join(INDEX),
            summary: dir.join(SUMMARY),
            dir,
        }
    }
}
