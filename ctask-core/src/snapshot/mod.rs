//! Snapshots and undo (docs/design.md §4.10, docs/undo.md): the contents of every file at
//! each session boundary are kept in a store, each session's changes in a history record,
//! and any recorded session can be given back.

pub mod history;
mod hooks;
mod pack;
mod retention;
pub(crate) mod staged;
pub mod store;
pub mod tree;
mod undo;
mod view;

pub use history::{Change, Record, RecordKind, State};
pub use undo::{ItemStatus, UndoAction, UndoItem, UndoOptions, UndoReport, undo};
pub use view::{At, HistoryEntry, HistoryReport, history, show, store_bytes};

pub(crate) use hooks::Pending;
pub(crate) use hooks::{
    begin_capture, end_capture, finish_end, kind_of_agent, record_end, recovery_capture,
};

/// Default of `snapshot_max_file_bytes`: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Default of `snapshot_keep_sessions`.
pub const DEFAULT_KEEP_SESSIONS: usize = 50;
/// Default of `snapshot_max_bytes`: 2 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The snapshot settings (config keys `snapshots`, `snapshot_max_file_bytes`,
/// `snapshot_keep_sessions`, `snapshot_max_bytes`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Keep contents and history at all.
    pub enabled: bool,
    /// Files larger than this are hashed, not stored.
    pub max_file_bytes: u64,
    /// History records (and their contents) kept.
    pub keep_sessions: usize,
    /// The most the store may hold, beyond the current tree's contents.
    pub max_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            keep_sessions: DEFAULT_KEEP_SESSIONS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

impl Settings {
    /// The settings in force for workspace `ws`: the resolved config, with `snapshots:
    /// false` in its `task.yaml` turning them off.
    pub fn for_workspace(
        s: &crate::workspace::Settings,
        ws: &crate::workspace::Workspace,
    ) -> Settings {
        let off_here = ws.task.extra.get("snapshots").and_then(|v| v.as_bool()) == Some(false);
        Settings {
            enabled: s.snapshots.value && !off_here,
            max_file_bytes: s.snapshot_max_file_bytes.value,
            keep_sessions: usize::try_from(s.snapshot_keep_sessions.value).unwrap_or(usize::MAX),
            max_bytes: s.snapshot_max_bytes.value,
        }
    }

    /// The settings in force for directory `dir`: [`Settings::for_workspace`] when it is a
    /// workspace that opens, else the resolved config alone. Every face begins with these.
    pub fn for_dir(s: &crate::workspace::Settings, dir: &std::path::Path) -> Settings {
        match crate::workspace::Workspace::open(dir) {
            Ok(ws) => Settings::for_workspace(s, &ws),
            Err(_) => Settings {
                enabled: s.snapshots.value,
                max_file_bytes: s.snapshot_max_file_bytes.value,
                keep_sessions: usize::try_from(s.snapshot_keep_sessions.value)
                    .unwrap_or(usize::MAX),
                max_bytes: s.snapshot_max_bytes.value,
            },
        }
    }
}

/// Whether `name` is one of the snapshot directories in `.ctask/` (`objects`, `history`).
pub(crate) fn is_snapshot_dir(name: &str) -> bool {
    name == store::OBJECTS_DIR || name == history::HISTORY_DIR
}

/// Whether the snapshot directory `dir` holds only what ctask writes there: regular files
/// named as objects or packs, an old marker, temp files, or history records (provisional
/// cleanup).
pub(crate) fn holds_only_own_files(dir: &std::path::Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.into_iter().all(|e| {
        e.is_ok_and(|e| {
            let name = e.file_name();
            let ok_name = name.to_str().is_some_and(|n| {
                store::is_object_name(n)
                    || store::is_pack_name(n)
                    || n == store::OLD_MARKER
                    || n.starts_with("tmp-")
                    || n.starts_with(crate::fsio::TEMP_PREFIX)
                    || n.ends_with(".json")
            });
            ok_name && e.file_type().is_ok_and(|t| t.is_file())
        })
    })
}
