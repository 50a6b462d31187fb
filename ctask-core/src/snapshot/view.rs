//! Reading the history: the sessions a workspace can still give back, and stored contents.

use std::path::Path;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;

use super::history::{self, Change, RecordKind, State};
use super::store::Store;
use crate::error::{Error, Result};
use crate::session::dirfd::Dir;
use crate::session::manifest::Kind;
use crate::session::paths::CTASK_DIR;

/// Counts of a list of changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Paths that appeared.
    pub added: usize,
    /// Paths whose content, target, kind or mode changed.
    pub modified: usize,
    /// Paths that went away.
    pub deleted: usize,
}

impl Counts {
    fn of(list: &[Change]) -> Counts {
        let mut c = Counts::default();
        for ch in list {
            match (&ch.before, &ch.after) {
                (None, _) => c.added += 1,
                (_, None) => c.deleted += 1,
                _ => c.modified += 1,
            }
        }
        c
    }
}

/// One session of `ctask history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Its id.
    pub session_id: String,
    /// `session` or `undo`.
    pub kind: RecordKind,
    /// Its agent label.
    pub agent: String,
    /// When it began.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// What it changed.
    pub changes: Counts,
    /// What changed before it, while nobody was there.
    pub outside: Counts,
    /// Whether every content its undo needs is kept.
    pub restorable: bool,
    /// Whether every content the undo of its outside changes needs is kept.
    pub outside_restorable: bool,
    /// The paths whose old content is not kept.
    pub not_restorable: Vec<String>,
}

/// `ctask history`: sessions newest first, and records that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistoryReport {
    /// Sessions, newest first.
    pub sessions: Vec<HistoryEntry>,
    /// Records that could not be read, each naming its file.
    pub warnings: Vec<String>,
}

/// Whether the old side of `c` can be put back from `store`.
pub(crate) fn restorable(c: &Change, store: Option<&Store>) -> bool {
    match &c.before {
        None => true,
        Some(State {
            kind: Kind::Symlink,
            target: Some(_),
            ..
        }) => true,
        Some(
            s @ State {
                kind: Kind::File, ..
            },
        ) => s
            .digest()
            .is_some_and(|d| store.is_some_and(|st| st.has(&d))),
        Some(_) => false,
    }
}

/// The sessions of the workspace at `ws` that have a history record, newest first, with
/// whether each can still be undone. Never writes.
pub fn history(ws: &Path) -> Result<HistoryReport> {
    let ctask = open_ctask(ws)?;
    let store = Store::open(&ctask, false, super::DEFAULT_MAX_FILE_BYTES)?;
    let mut out = HistoryReport::default();
    for (_, r) in history::read_all(&ctask)? {
        let r = match r {
            Ok(r) => r,
            Err(w) => {
                out.warnings.push(w);
                continue;
            }
        };
        let not_restorable: Vec<String> = r
            .changes
            .iter()
            .filter(|c| !restorable(c, store.as_ref()))
            .map(|c| c.path.clone())
            .collect();
        out.sessions.push(HistoryEntry {
            session_id: r.session_id.clone(),
            kind: r.kind,
            agent: r.agent.clone(),
            started_at: r.started_at.map(|t| t.trunc_subsecs(0)),
            ended_at: r.ended_at.map(|t| t.trunc_subsecs(0)),
            changes: Counts::of(&r.changes),
            outside: Counts::of(&r.outside),
            restorable: not_restorable.is_empty(),
            outside_restorable: r.outside.iter().all(|c| restorable(c, store.as_ref())),
            not_restorable,
        });
    }
    Ok(out)
}

/// `.ctask/` of `ws`, opened without following a symlink.
pub(crate) fn open_ctask(ws: &Path) -> Result<Dir> {
    Dir::open(&ws.join(CTASK_DIR))
}

/// Which side of a change [`show`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum At {
    /// As the session found it.
    Start,
    /// As the session left it.
    #[default]
    End,
}

/// The stored content of `path` as session `session` (default: the newest that changed
/// it) found it (`At::Start`) or left it (`At::End`).
pub fn show(ws: &Path, path: &str, session: Option<&str>, at: At) -> Result<Vec<u8>> {
    let ctask = open_ctask(ws)?;
    let records = history::read_all(&ctask)?;
    let change = records
        .iter()
        .filter(|(id, _)| session.is_none_or(|s| s == id))
        .filter_map(|(_, r)| r.as_ref().ok())
        .find_map(|r| r.changes.iter().chain(&r.outside).find(|c| c.path == path))
        .ok_or_else(|| match session {
            Some(s) => Error::invalid(format!("session {s} has no recorded change of {path:?}")),
            None => Error::invalid(format!("no recorded session changed {path:?}")),
        })?;
    let side = match at {
        At::Start => &change.before,
        At::End => &change.after,
    };
    let state = side.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "{path:?} did not exist at the {} of that session",
            if at == At::Start { "start" } else { "end" }
        ))
    })?;
    match state.kind {
        Kind::Symlink => Ok(state.target.clone().unwrap_or_default().into_bytes()),
        Kind::File => {
            let d = state
                .digest()
                .ok_or_else(|| Error::invalid(format!("{path:?} has no recorded content hash")))?;
            let store = Store::open(&ctask, false, super::DEFAULT_MAX_FILE_BYTES)?;
            store
                .and_then(|s| s.get(&d, state.size).transpose())
                .transpose()?
                .ok_or_else(|| {
                    Error::invalid(format!("the content of {path:?} is not kept in the store"))
                })
        }
        Kind::Other => Err(Error::invalid(format!("{path:?} was not a file"))),
    }
}

/// Total bytes in the store of `ws` (0 without one), for `doctor`.
pub fn store_bytes(ws: &Path) -> Result<u64> {
    let ctask = open_ctask(ws)?;
    match Store::open(&ctask, false, super::DEFAULT_MAX_FILE_BYTES)? {
        Some(s) => s.total_bytes(),
        None => Ok(0),
    }
}
