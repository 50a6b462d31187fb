//! end, in exactly the order of docs/design.md §4.4: stop the heartbeat → capture and diff →
//! provisional cleanup → summary, `end` line, start manifest and lease removal under
//! `write.lock` → release `session.lock`. Idempotent; `Drop` ends as `abandoned`.

use chrono::{DateTime, Utc};

use super::diff::{self, Diff};
use super::lease::Lease;
use super::manifest::Manifest;
use super::paths;
use super::record::{LeaseCheck, LogEvent, finalize};
use super::summary::{self, DetectedVia, EndReason, Summary};
use super::writelock::{self, WriteLock};
use super::{
    Ending, Inner, Mode, Outcome, Role, Session, crashpoint, host, log, provisional, timefmt,
};
use crate::error::{Error, Result};

impl Session {
    /// Ends the session (docs/design.md §4.4) and returns its outcome. A second call returns the
    /// first outcome and writes nothing. An end that fails finishes the handle all the
    /// same: `session.lock` is released, the lease and start manifest stay for the next
    /// begin to recover, and every later call (and the drop) returns an error without
    /// writing. In a process other than the one that began the session (after `fork`) it
    /// refuses and touches nothing.
    pub fn end(&self, ending: Ending) -> Result<Outcome> {
        self.end_once(ending).map(|(outcome, _)| outcome)
    }

    /// Ends the session as [`Session::end`] does, and tells whether this very call ended it
    /// (`true`) or found it already ended (`false`, the first outcome, nothing written): the
    /// one "already ended" rule every face uses.
    pub fn end_once(&self, ending: Ending) -> Result<(Outcome, bool)> {
        let mut inner = self.lock();
        if let Some(o) = &inner.outcome {
            return Ok((o.clone(), false));
        }
        if let Some(why) = &inner.end_failure {
            return Err(Error::invalid(format!(
                "session {} already failed to end ({why}); the next begin in its workspace \
                 records it",
                inner.id
            )));
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
        match result {
            Ok(mut outcome) => {
                if inner.role == Role::Owner && !outcome.workspace_removed {
                    outcome.warnings.extend(after_end(&inner));
                }
                inner.outcome = Some(outcome.clone());
                Ok((outcome, true))
            }
            Err(e) => {
                // Never retried: a retry would run without session.lock, beside a begin
                // that may already have taken the workspace over.
                inner.end_failure = Some(e.to_string());
                Err(e)
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        if inner.outcome.is_some() || inner.end_failure.is_some() {
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

/// The `after_end` hook of a recorded session (run once `session.lock` is released), with
/// `CTASK_SUMMARY` naming the summary it wrote; its warning when it failed.
fn after_end(inner: &Inner) -> Option<String> {
    let argv = inner.hooks.set.after_end.as_ref()?;
    let mut env = inner.env.clone();
    let summary = inner.dirs.ctask.join(paths::SUMMARY);
    env.insert(
        "CTASK_SUMMARY".to_owned(),
        summary.to_string_lossy().into_owned(),
    );
    crate::hooks::run_reported(
        crate::hooks::HookName::AfterEnd,
        argv,
        &inner.ws_dir,
        &env,
        &inner.hooks,
        Some(&inner.id),
        Some(&inner.dirs.logs),
    )
}

fn end_inner(inner: &mut Inner, ending: Ending) -> Result<Outcome> {
    // 1. Stop the heartbeat.
    if let Some(mut hb) = inner.heartbeat.take() {
        hb.stop();
    }
    crashpoint::hit("end.before_capture");
    // 2. Capture the end manifest (cache: the start manifest) and diff.
    let cache = (!inner.start.is_foreign()).then_some(&inner.start);
    let capture = crate::snapshot::end_capture(&inner.ws_dir, &inner.snap, &inner.capture, cache)?;
    let changes = diff::diff(&inner.start, &capture.manifest);
    crashpoint::hit("end.captured");
    let ended_at = timefmt::now_secs();
    // The agent may have moved `.ctask/` or `logs/`, or put a symlink in their place:
    // everything below goes through the descriptors opened at begin.
    let mut warnings = inner.dirs.moved();
    super::prepare::note_oversized(&capture, &mut warnings);
    // 3. Provisional cleanup: only when nothing on disk — ignored, non-UTF-8, `.git/` or
    // unreadable included — differs from what the session began with.
    if inner.role == Role::Owner
        && inner.newly_created
        && inner.mode == Mode::Direct
        && ending.exit_code != Some(0)
        && changes.is_empty()
        && warnings.is_empty()
        && inner
            .provisional
            .as_ref()
            .is_some_and(|before| provisional::unchanged(&inner.ws_dir, before))
    {
        std::fs::remove_dir_all(&inner.ws_dir).map_err(|e| Error::io(&inner.ws_dir, e))?;
        let summary = build_summary(inner, &ending, ended_at, &changes, capture.manifest);
        return Ok(Outcome {
            summary: summary.brief(),
            workspace_removed: true,
            warnings,
        });
    }
    // Snapshots: objects durable, then the history record, before the summary.
    if inner.role == Role::Owner {
        crate::snapshot::record_end(
            &inner.dirs.ctask,
            &inner.snap,
            &inner.id,
            &inner.agent,
            inner.started_at,
            &inner.start,
            &capture.manifest,
            &mut warnings,
        );
    }
    // The start manifest has served (diff, record): not held while the rest is written.
    inner.start.entries = Vec::new();
    let summary = build_summary(inner, &ending, ended_at, &changes, capture.manifest);
    let brief = summary.brief();
    // 4. Under write.lock: summary, end line, start manifest, lease.
    match inner.role {
        Role::Owner => {
            // The store's retention first: once the summary is out, only the lease
            // removal and the unlock are left (a prober sees the end at once).
            crate::snapshot::finish_end(
                &inner.dirs.ctask,
                &inner.snap,
                &summary.end_manifest,
                &mut warnings,
            );
            finalize(
                &inner.dirs,
                &summary,
                &changes,
                LeaseCheck::Ours,
                inner.summary_manifest_max,
            )?;
        }
        Role::Coexist => {
            let _guard =
                WriteLock::acquire_in(&inner.dirs.ctask, paths::WRITE_LOCK, writelock::OUTLAST)?;
            let l = coexist_lease(inner);
            let start = LogEvent::start(&l, inner.mode.as_str(), Some("coexist"));
            let end = LogEvent::end(&summary, &changes, Some("coexist"));
            // Both lines in one write: a kill leaves the pair whole or absent.
            log::append_all_in(
                &inner.dirs.logs,
                &[
                    (inner.started_at, start.name(), &start.fields()),
                    (ended_at, end.name(), &end.fields()),
                ],
            )?;
        }
    }
    Ok(Outcome {
        summary: brief,
        workspace_removed: false,
        warnings,
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
        snapshots_complete: inner.snap.stored_whole(),
        end_manifest: end.entries,
        end_manifest_omitted: None,
    }
}
