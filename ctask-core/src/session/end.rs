//! end, in exactly the order of docs/design.md §4.4: stop the heartbeat → capture and diff →
//! provisional cleanup → summary, `end` line, start manifest and lease removal under
//! `write.lock` → release `session.lock`. Idempotent; `Drop` ends as `abandoned`.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::diff::{self, Diff};
use super::lease::Lease;
use super::manifest::{self, Manifest};
use super::paths::CtaskPaths;
use super::summary::{self, DetectedVia, EndReason, Summary};
use super::writelock::WriteLock;
use super::{
    Ending, Inner, Mode, Outcome, Role, Session, begin, crashpoint, host, lease, log, timefmt,
};
use crate::error::{Error, Result};
use crate::fsio;

impl Session {
    /// Ends the session (docs/design.md §4.4) and returns its outcome. A second call returns the
    /// first outcome and writes nothing. In a process other than the one that began the
    /// session (after `fork`) it refuses and touches nothing.
    pub fn end(&self, ending: Ending) -> Result<Outcome> {
        let mut inner = self.lock();
        if let Some(o) = &inner.outcome {
            return Ok(o.clone());
        }
        if std::process::id() != inner.owner_pid {
            return Err(Error::invalid(format!(
                "session {} belongs to process {}; it cannot be ended from process {}",
                inner.id,
                inner.owner_pid,
                std::process::id()
            )));
        }
        let result = end_inner(&mut inner, ending);
        // Whatever happened, this handle is finished: the lock goes, so a later begin
        // can recover anything left unrecorded.
        if let Some(mut hb) = inner.heartbeat.take() {
            hb.stop();
        }
        crashpoint::hit("end.before_unlock");
        if let Some(l) = inner.lock.take() {
            l.release();
        }
        let outcome = result?;
        inner.outcome = Some(outcome.clone());
        Ok(outcome)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        if inner.outcome.is_some() {
            return;
        }
        if std::process::id() != inner.owner_pid {
            // A forked copy: close descriptors only; never unlock, write or end. Dropping
            // the lock closes its descriptor without unlocking (it checks the pid); the
            // heartbeat thread does not exist in this process, so it must not be joined.
            drop(inner.lock.take());
            if let Some(hb) = inner.heartbeat.take() {
                std::mem::forget(hb);
            }
            return;
        }
        let _ = self.end(Ending {
            reason: EndReason::Abandoned,
            detected_via: DetectedVia::Drop,
            exit_code: None,
        });
    }
}

fn end_inner(inner: &mut Inner, ending: Ending) -> Result<Outcome> {
    // 1. Stop the heartbeat.
    if let Some(mut hb) = inner.heartbeat.take() {
        hb.stop();
    }
    crashpoint::hit("end.before_capture");
    // 2. Capture the end manifest (cache: the start manifest) and diff.
    let cache = (!inner.start.is_foreign()).then_some(&inner.start);
    let capture = manifest::capture(&inner.ws_dir, &inner.capture, cache)?;
    let changes = diff::diff(&inner.start, &capture.manifest);
    crashpoint::hit("end.captured");
    let ended_at = timefmt::now_secs();
    // 3. Provisional cleanup.
    if inner.role == Role::Owner
        && inner.newly_created
        && inner.mode == Mode::Direct
        && ending.exit_code != Some(0)
        && changes.is_empty()
    {
        std::fs::remove_dir_all(&inner.ws_dir).map_err(|e| Error::io(&inner.ws_dir, e))?;
        let summary = build_summary(inner, &ending, ended_at, &changes, capture.manifest);
        return Ok(Outcome {
            summary: summary.brief(),
            workspace_removed: true,
        });
    }
    let summary = build_summary(inner, &ending, ended_at, &changes, capture.manifest);
    let brief = summary.brief();
    // 4. Under write.lock: summary, end line, start manifest, lease.
    match inner.role {
        Role::Owner => finalize(&inner.ws_dir, &inner.paths, &summary, &changes)?,
        Role::Coexist => {
            let _guard = WriteLock::acquire(&inner.paths.write_lock)?;
            let l = coexist_lease(inner);
            // Both lines in one write: a kill leaves the pair whole or absent.
            log::append_all(
                &inner.ws_dir,
                &[
                    (
                        inner.started_at,
                        "start",
                        &begin::start_fields(&l, inner.mode.as_str(), Some("coexist")),
                    ),
                    (
                        ended_at,
                        "end",
                        &end_fields(&summary, &changes, Some("coexist")),
                    ),
                ],
            )?;
        }
    }
    Ok(Outcome {
        summary: brief,
        workspace_removed: false,
    })
}

fn coexist_lease(inner: &Inner) -> Lease {
    let mut l = Lease::new(inner.id.clone(), &inner.agent, inner.mode, 0);
    l.started_at = Some(inner.started_at);
    l
}

fn build_summary(
    inner: &Inner,
    ending: &Ending,
    ended_at: DateTime<Utc>,
    changes: &Diff,
    end: Manifest,
) -> Summary {
    Summary {
        session_id: inner.id.clone(),
        hostname: host::hostname(),
        agent: inner.agent.clone(),
        mode: inner.mode.as_str().to_owned(),
        started_at: Some(inner.started_at),
        ended_at: Some(ended_at),
        duration_seconds: (ended_at - inner.started_at).num_seconds().max(0),
        files_added: changes.added.clone(),
        files_modified: changes.modified.clone(),
        files_deleted: changes.deleted.clone(),
        notes_updated: summary::notes_updated(changes),
        end_reason: Some(ending.reason),
        detected_via: Some(ending.detected_via),
        session_ownership: (inner.mode == Mode::Persistent).then(|| {
            if inner.adopted_at.is_some() {
                "adopted"
            } else {
                "created"
            }
            .to_owned()
        }),
        adopted_from_orphan_at: inner.adopted_at,
        exit_code: ending.exit_code,
        files_renamed: changes.renamed.clone(),
        outside_changes: inner.outside_changes.clone(),
        ctask_version: Some(crate::VERSION.to_owned()),
        end_manifest_captured_at: Some(end.captured_at),
        end_manifest: end.entries,
    }
}

/// Fields of an `end` line.
pub(super) fn end_fields(s: &Summary, d: &Diff, role: Option<&str>) -> Vec<(&'static str, String)> {
    let (added, modified, deleted, renamed) = (
        d.added.len(),
        d.modified.len(),
        d.deleted.len(),
        d.renamed.len(),
    );
    end_fields_counts(s, [added, modified, deleted, renamed], role)
}

/// Fields of an `end` line from a summary and its four counts.
pub(super) fn end_fields_counts<M: summary::ManifestField>(
    s: &summary::SummaryOf<M>,
    counts: [usize; 4],
    role: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("id", s.session_id.clone()),
        ("agent", s.agent.clone()),
        ("mode", s.mode.clone()),
        (
            "exit",
            s.exit_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
        ),
        ("duration", s.duration_seconds.to_string()),
        ("added", counts[0].to_string()),
        ("modified", counts[1].to_string()),
        ("deleted", counts[2].to_string()),
        ("renamed", counts[3].to_string()),
        (
            "reason",
            s.end_reason.map_or("-", EndReason::as_str).to_owned(),
        ),
        (
            "detected_via",
            s.detected_via.map_or("-", DetectedVia::as_str).to_owned(),
        ),
    ];
    if let Some(r) = role {
        f.push(("role", r.to_owned()));
    }
    f
}

/// Step 4 of end (also used by recovery): under `write.lock`, write the summary, append
/// the `end` line, remove the start manifest, and remove the lease if it is `s`'s.
pub(super) fn finalize(ws: &Path, paths: &CtaskPaths, s: &Summary, d: &Diff) -> Result<()> {
    let _guard = WriteLock::acquire(&paths.write_lock)?;
    crashpoint::hit("finalize.write_locked");
    summary::write(&paths.summary, s)?;
    crashpoint::hit("finalize.summary_written");
    log::append(
        ws,
        s.ended_at.unwrap_or_else(timefmt::now_secs),
        "end",
        &end_fields(s, d, None),
    )?;
    crashpoint::hit("finalize.end_line");
    fsio::remove_if_exists(&paths.start_manifest)?;
    crashpoint::hit("finalize.before_lease_removal");
    if let lease::LeaseFile::Present(l) = lease::read(&paths.lease)?
        && l.session_id == s.session_id
    {
        fsio::remove_if_exists(&paths.lease)?;
    }
    crashpoint::hit("finalize.lease_removed");
    Ok(())
}
