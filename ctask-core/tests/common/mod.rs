//! What the library-level session tests share: a workspace under a temporary root, session
//! options without a heartbeat thread, and paths in `.ctask/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ctask_core::session::SessionOptions;
use ctask_core::workspace::{NewOptions, Settings, Workspace};

/// A workspace that lives as long as its temporary root.
pub struct Fixture {
    pub _root: tempfile::TempDir,
    pub ws: PathBuf,
}

/// A new workspace titled `title` under a fresh temporary root.
pub fn fixture_titled(title: &str) -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let settings = Settings::with_root(root.path()).unwrap();
    let ws = Workspace::create(
        &settings,
        &NewOptions {
            title: title.into(),
            ..NewOptions::default()
        },
    )
    .unwrap()
    .dir;
    Fixture { _root: root, ws }
}

/// Options of a test session: label `test`, no heartbeat thread.
pub fn opts() -> SessionOptions {
    SessionOptions {
        agent: "test".into(),
        heartbeat: false,
        ..SessionOptions::default()
    }
}

/// The path of `name` in the workspace's `.ctask/`.
pub fn ctask(ws: &Path, name: &str) -> PathBuf {
    ws.join(".ctask").join(name)
}
