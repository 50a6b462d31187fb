//! Crash recovery (docs/design.md §4.6): holding `session.lock`, a begin that finds a dead owner's
//! lease closes that session first, so its changes are attributed once, to it.

use std::path::Path;

use super::RecoveryOutcome;
use super::baseline;
use super::diff::{self, Diff};
use super::lease::{self, LOCK_MARKER, Lease, LeaseFile};
use super::log;
use super::manifest::{self, Capture, CaptureOptions, Manifest};
use super::paths::CtaskPaths;
use super::record::{self, LogEvent};
use super::summary::{self, DetectedVia, EndReason, Summary, SummaryFile};
use super::writelock::WriteLock;
use super::{Recovered, SessionDirs, crashpoint, timefmt};
use crate::error::Result;
use crate::fsio;
use crate::snapshot::RecordKind;

/// What recovering a dead lease produced.
#[derive(Debug)]
pub struct Recovery {
    /// What was done, for the caller.
    pub report: Recovered,
    /// The tree captured while closing the session (reused by the begin that recovered).
    pub capture: Option<Capture>,
}

/// Closes the session of dead lease `l` (the caller holds `session.lock`).
pub fn recover_dead(
    ws: &Path,
    paths: &CtaskPaths,
    l: &Lease,
    opts: &CaptureOptions,
    summary_max: usize,
    warnings: &mut Vec<String>,
) -> Result<Recovery> {
    let last = match summary::read::<summary::Omitted>(&paths.summary)? {
        SummaryFile::Present(s) => Some(*s),
        _ => None,
    };
    let (started, ended) = log::lines_of(ws, &l.session_id, l.started_at)?;
    crashpoint::hit("recovery.judged");
    let judged = LeaseFile::Present(Box::new(l.clone()));
    // Finalized: only the lease was left behind.
    if let Some(s) = last.as_ref().filter(|s| s.session_id == l.session_id) {
        let _guard = WriteLock::acquire(&paths.write_lock)?;
        if !lease::still(&paths.lease, &judged)? {
            return Err(lease::changed_error(&paths.lease));
        }
        if !ended {
            let counts = [
                s.files_added.len(),
                s.files_modified.len(),
                s.files_deleted.len(),
                s.files_renamed.len(),
            ];
            let ts = s.ended_at.unwrap_or_else(timefmt::now_secs);
            LogEvent::end_counts(s, counts, None).append(ws, ts)?;
        }
        crashpoint::hit("recovery.finalized_end_line");
        remove_lease_and_start(paths)?;
        log_removed(ws, &l.session_id, "finalized")?;
        return Ok(report(l, RecoveryOutcome::Finalized, None, None));
    }
    // Incomplete: killed inside begin, before the agent ran.
    if l.lock.as_deref() == Some(LOCK_MARKER) && !started {
        let _guard = WriteLock::acquire(&paths.write_lock)?;
        if !lease::still(&paths.lease, &judged)? {
            return Err(lease::changed_error(&paths.lease));
        }
        remove_lease_and_start(paths)?;
        crashpoint::hit("recovery.incomplete_removed");
        log_removed(ws, &l.session_id, "incomplete")?;
        return Ok(report(l, RecoveryOutcome::Incomplete, None, None));
    }
    // Otherwise: the owner died mid-session; close it now.
    let start = match manifest::read_start(&paths.dir) {
        Ok(m) => m,
        Err(e) => {
            warnings.push(format!(
                "{e}; the dead session's changes cannot be told apart"
            ));
            None
        }
    };
    let cache = start.as_ref().filter(|m| !m.is_foreign());
    let dirs = SessionDirs::open(ws, paths)?;
    // The temp files a dead undo staged are not the session's changes (only an undo's
    // lease can name them).
    let undo = crate::snapshot::kind_of_agent(l.agent.as_deref()) == RecordKind::Undo;
    let owner = if undo { l.session_id.as_str() } else { "" };
    crate::snapshot::staged::clear(ws, &dirs.ctask, owner, warnings);
    let (mut capture, mut snap) =
        crate::snapshot::recovery_capture(ws, &paths.dir, opts, cache, warnings)?;
    let changes = match &start {
        Some(s) => diff::diff(s, &capture.manifest),
        None => Diff::default(),
    };
    // Snapshots: objects durable, then the history record, before the index and summary.
    if let Some(start) = &start {
        snap.kind = crate::snapshot::kind_of_agent(l.agent.as_deref());
        if snap.store.is_some() {
            snap.outside = outside_before(ws, paths, opts, start);
        }
        let began = l.started_at.unwrap_or(start.captured_at);
        crate::snapshot::record_end(
            &dirs.ctask,
            &snap,
            &l.session_id,
            l.agent.as_deref().unwrap_or_default(),
            began,
            start,
            &capture.manifest,
            warnings,
        );
    }
    drop(start);
    // The summary borrows the capture's entries for the writes, and gives them back.
    let mut s = dead_summary(l, &changes, &mut capture.manifest);
    s.snapshots_complete = snap.stored_whole();
    crashpoint::hit("recovery.captured");
    let finalized = record::finalize(
        &dirs,
        &s,
        &changes,
        record::LeaseCheck::Judged(&judged),
        summary_max,
    );
    capture.manifest.entries = std::mem::take(&mut s.end_manifest);
    finalized?;
    crashpoint::hit("recovery.closed");
    warnings.push(format!(
        "session {} (pid {} on {}) ended without closing; its changes were recorded",
        l.session_id, l.pid, l.hostname
    ));
    Ok(report(
        l,
        RecoveryOutcome::OwnerDied,
        Some(s),
        Some(capture),
    ))
}

/// The changes made before the dead session while nobody was there, as its begin found
/// them: the baseline it began from (the last summary, still the previous session's, and
/// its index) against its start manifest. No baseline: none. Problems reading the baseline
/// were already warned about by that begin.
fn outside_before(
    ws: &Path,
    paths: &CtaskPaths,
    opts: &CaptureOptions,
    start: &Manifest,
) -> Vec<crate::snapshot::Change> {
    let mut ignored = Vec::new();
    match baseline::load(paths, ws, opts, &mut ignored) {
        Ok(baseline::Last {
            baseline: Some(b), ..
        }) => crate::snapshot::history::changes(&b.manifest, start),
        _ => Vec::new(),
    }
}

/// Reclaims an unparseable `session.json` (the caller holds `session.lock`).
pub fn reclaim_unreadable(
    ws: &Path,
    paths: &CtaskPaths,
    detail: &str,
    warnings: &mut Vec<String>,
) -> Result<Recovered> {
    crashpoint::hit("recovery.judged");
    let _guard = WriteLock::acquire(&paths.write_lock)?;
    if !lease::still(&paths.lease, &LeaseFile::Unreadable(detail.to_owned()))? {
        return Err(lease::changed_error(&paths.lease));
    }
    fsio::remove_if_exists(&paths.lease)?;
    log_removed(ws, "unknown", "unreadable")?;
    warnings.push(format!(
        "{} was unreadable ({detail}) and no session holds it; removed it",
        paths.lease.display()
    ));
    Ok(Recovered {
        session_id: "unknown".into(),
        outcome: RecoveryOutcome::Unreadable,
        summary: None,
    })
}

fn dead_summary(l: &Lease, changes: &Diff, end: &mut Manifest) -> Summary {
    let ended_at = l
        .heartbeat_at
        .or(l.started_at)
        .unwrap_or_else(timefmt::now_secs);
    let duration = l
        .started_at
        .map_or(0, |s| (ended_at - s).num_seconds().max(0));
    Summary {
        session_id: l.session_id.clone(),
        hostname: l.hostname.clone(),
        agent: l.agent.clone().unwrap_or_default(),
        mode: l.session_mode().as_str().to_owned(),
        started_at: l.started_at,
        ended_at: Some(ended_at),
        duration_seconds: duration,
        files_added: changes.added.clone(),
        files_modified: changes.modified.clone(),
        files_deleted: changes.deleted.clone(),
        notes_updated: summary::notes_updated(changes),
        end_reason: Some(EndReason::OwnerDied),
        detected_via: Some(DetectedVia::Recovery),
        session_ownership: None,
        adopted_from_orphan_at: l.adopted_from_orphan_at,
        exit_code: None,
        files_renamed: changes.renamed.clone(),
        outside_changes: None,
        ctask_version: Some(crate::VERSION.to_owned()),
        end_manifest_captured_at: Some(end.captured_at),
        snapshots_complete: None,
        end_manifest: std::mem::take(&mut end.entries),
        end_manifest_omitted: None,
    }
}

fn remove_lease_and_start(paths: &CtaskPaths) -> Result<()> {
    fsio::remove_if_exists(&paths.start_manifest)?;
    fsio::remove_if_exists(&paths.json_start_manifest)?;
    fsio::remove_if_exists(&paths.lease)?;
    Ok(())
}

fn log_removed(ws: &Path, id: &str, reason: &'static str) -> Result<()> {
    LogEvent::LeaseRemoved {
        id: id.to_owned(),
        reason,
    }
    .append(ws, timefmt::now_secs())
}

fn report(
    l: &Lease,
    outcome: RecoveryOutcome,
    s: Option<Summary>,
    capture: Option<Capture>,
) -> Recovery {
    Recovery {
        report: Recovered {
            session_id: l.session_id.clone(),
            outcome,
            summary: s.map(|s| s.brief()),
        },
        capture,
    }
}
