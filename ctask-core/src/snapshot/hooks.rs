//! What begin, end and recovery do for snapshots, each one call from the session code:
//! capture with the store, store what the store lacks, write the history record, say
//! whether the end manifest is stored whole (in the summary), collect.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::Settings;
use super::history::{self, Change, Record, RecordKind};
use super::retention;
use super::store::Store;
use super::tree::Tree;
use crate::error::Result;
use crate::session::dirfd::Dir;
use crate::session::manifest::{self, Capture, CaptureOptions, Entry, Kind, Manifest};

/// A session's snapshot state from begin to end.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// The open store (`None`: snapshots off for this session).
    pub(crate) store: Option<Store>,
    /// The settings in force.
    pub(crate) settings: Settings,
    /// What changed while nobody was there (found by begin).
    pub(crate) outside: Vec<Change>,
    /// What the record will say made it.
    pub(crate) kind: RecordKind,
    /// The start manifest's contents are all stored.
    pub(crate) complete: bool,
}

/// Begin's capture (or the one recovery just made, `reused`), with every content read
/// stored; then, unless the last summary says its end manifest is stored whole
/// (`stored_whole`, believed only of a store that already existed), whatever the store
/// lacks is read and stored; the objects are made durable. A store that cannot be opened
/// (a symlink in its place) turns snapshots off for the session, with a warning.
#[allow(clippy::too_many_arguments)]
pub(crate) fn begin_capture(
    ws: &Path,
    ctask_path: &Path,
    settings: &Settings,
    kind: RecordKind,
    opts: &CaptureOptions,
    cache: Option<&Manifest>,
    base: Option<&Manifest>,
    stored_whole: bool,
    reused: Option<Capture>,
    warnings: &mut Vec<String>,
) -> Result<(Capture, Pending)> {
    let store = if settings.enabled {
        open_store(ctask_path, settings, true, warnings)
    } else {
        None
    };
    let capture = match reused {
        Some(c) => c,
        None => manifest::capture_stored(ws, opts, cache, store.as_ref())?,
    };
    let mut pending = Pending {
        settings: settings.clone(),
        kind,
        ..Pending::default()
    };
    let Some(store) = store else {
        return Ok((capture, pending));
    };
    let mut complete = store.failed() == 0;
    if !stored_whole || store.created() {
        complete &= fill(ws, &store, &capture.manifest.entries);
    }
    store.sync()?;
    crate::session::crashpoint::hit("snapshot.begin_stored");
    pending.outside = base
        .map(|b| history::changes(b, &capture.manifest))
        .unwrap_or_default();
    pending.complete = complete;
    pending.store = Some(store);
    Ok((capture, pending))
}

fn open_store(
    ctask_path: &Path,
    settings: &Settings,
    create: bool,
    warnings: &mut Vec<String>,
) -> Option<Store> {
    let opened =
        Dir::open(ctask_path).and_then(|d| Store::open(&d, create, settings.max_file_bytes));
    match opened {
        Ok(s) => s,
        Err(e) => {
            warnings.push(format!("snapshots are off for this session: {e}"));
            None
        }
    }
}

/// Reads and stores the contents of `entries` that the store lacks; whether all of them
/// are now stored.
fn fill(ws: &Path, store: &Store, entries: &[Entry]) -> bool {
    let Ok(tree) = Tree::open(ws) else {
        return false;
    };
    let mut all = true;
    for e in entries {
        let Some(d) = e.sha256.filter(|_| e.kind == Kind::File) else {
            continue;
        };
        if e.size > store.max_file_bytes() || store.has(&d) {
            continue;
        }
        let got = tree.state(&e.path, Some(store)).ok().flatten();
        all &= got.and_then(|s| s.digest()) == Some(d);
    }
    all
}

impl Pending {
    /// Takes back what begin stored, when the begin failed after its capture.
    pub(crate) fn discard(&self, ctask_path: &Path) {
        if let (Some(store), Ok(ctask)) = (&self.store, Dir::open(ctask_path)) {
            store.discard(&ctask);
        }
    }
}

/// End's capture: with the store of the session, when it has one.
pub(crate) fn end_capture(
    ws: &Path,
    p: &Pending,
    opts: &CaptureOptions,
    cache: Option<&Manifest>,
) -> Result<Capture> {
    manifest::capture_stored(ws, opts, cache, p.store.as_ref())
}

/// Makes the objects durable, then writes the history record of the session (before its
/// summary), unless it is a session that changed nothing and found nothing changed. A
/// failure is a warning: the session is recorded, only not undoable.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_end(
    ctask: &Dir,
    p: &Pending,
    id: &str,
    agent: &str,
    started_at: DateTime<Utc>,
    start: &Manifest,
    end: &Manifest,
    warnings: &mut Vec<String>,
) {
    let Some(store) = &p.store else { return };
    // `ended_at` to the nanosecond (the summary's is to the second): records sort by it.
    let r = Record {
        session_id: id.to_owned(),
        kind: p.kind,
        started_at: Some(started_at),
        ended_at: Some(Utc::now()),
        agent: agent.to_owned(),
        outside: p.outside.clone(),
        changes: history::changes(start, end),
    };
    // A session that changed nothing, and found nothing changed, has nothing to give
    // back: no record, so it neither shows in `history` nor pushes an older record out of
    // retention (an undo session is always recorded).
    let nothing = r.kind == RecordKind::Session && r.changes.is_empty() && r.outside.is_empty();
    let written = store.sync().and_then(|()| {
        crate::session::crashpoint::hit("snapshot.objects_synced");
        if nothing {
            Ok(())
        } else {
            history::write(ctask, &r)
        }
    });
    if let Err(e) = written {
        warnings.push(format!("the session's history record was not written: {e}"));
    }
    crate::session::crashpoint::hit("snapshot.history_written");
}

/// Collects under `write.lock` (at end; recovery does not know the settings), keeping what
/// `end` (the end manifest about to be the baseline) names.
pub(crate) fn finish_end(ctask: &Dir, p: &Pending, end: &[Entry], warnings: &mut Vec<String>) {
    let Some(store) = &p.store else { return };
    if let Err(e) = retention::collect(ctask, store, &p.settings, end) {
        warnings.push(format!("snapshot store: {e}"));
    }
}

impl Pending {
    /// With snapshots on: whether every content of the end manifest is stored (the start
    /// manifest's were, and nothing the end capture read failed to be stored).
    pub(crate) fn stored_whole(&self) -> Option<bool> {
        let store = self.store.as_ref()?;
        Some(self.complete && store.failed() == 0)
    }
}

/// Recovery's capture of a dead session: with the store when the workspace has one and
/// `settings` (the recovering caller's, i.e. the workspace's) keep snapshots; the history
/// record is written before the summary.
pub(crate) fn recovery_capture(
    ws: &Path,
    ctask_path: &Path,
    settings: &Settings,
    opts: &CaptureOptions,
    cache: Option<&Manifest>,
    warnings: &mut Vec<String>,
) -> Result<(Capture, Pending)> {
    let settings = settings.clone();
    let store = if settings.enabled {
        open_store(ctask_path, &settings, false, warnings)
    } else {
        None
    };
    let capture = manifest::capture_stored(ws, opts, cache, store.as_ref())?;
    let complete = store.as_ref().is_some_and(|s| s.failed() == 0) && cache.is_some();
    Ok((
        capture,
        Pending {
            store,
            settings,
            complete,
            ..Pending::default()
        },
    ))
}

/// The record kind of a dead session by its agent label.
pub(crate) fn kind_of_agent(agent: Option<&str>) -> RecordKind {
    if agent == Some(super::undo::AGENT) {
        RecordKind::Undo
    } else {
        RecordKind::Session
    }
}
