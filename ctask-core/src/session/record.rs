//! Recording a session, shared by begin, adopt, end and recovery: the fields of the `start`
//! and `end` log lines, and finalizing (summary, `end` line, removal of the lease and start
//! manifest under `write.lock`).

use chrono::{DateTime, Utc};

use super::diff::Diff;
use super::lease::Lease;
use super::paths;
use super::summary::{self, DetectedVia, EndReason, Summary};
use super::writelock::{self, WriteLock};
use super::{SessionDirs, crashpoint, lease, log, timefmt};
use crate::error::Result;

/// A line of `logs/sessions.log`, typed: each event's keys, their order and how a missing
/// value is written live here, once (docs/design.md §4.7).
#[derive(Debug, Clone)]
pub(super) enum LogEvent {
    /// A session began.
    Start {
        /// Session id.
        id: String,
        /// The agent label.
        agent: String,
        /// `direct` or `persistent`.
        mode: String,
        /// The owner's pid.
        pid: u32,
        /// The owner's host.
        host: String,
        /// The owner's user.
        user: String,
        /// `coexist` for a session that shared a live owner's workspace.
        role: Option<&'static str>,
    },
    /// A session ended.
    End {
        /// Session id.
        id: String,
        /// The agent label.
        agent: String,
        /// `direct` or `persistent`.
        mode: String,
        /// The agent's exit code (`-` when unknown).
        exit: Option<i32>,
        /// Seconds it lasted.
        duration: i64,
        /// Added, modified, deleted and renamed paths.
        counts: [usize; 4],
        /// Why it ended (`-` when unknown).
        reason: Option<EndReason>,
        /// How the end was noticed (`-` when unknown).
        detected_via: Option<DetectedVia>,
        /// `coexist` for a session that shared a live owner's workspace.
        role: Option<&'static str>,
    },
    /// An orphaned persistent session was adopted.
    Adopt {
        /// Session id (kept from the orphan).
        id: String,
        /// The new owner's pid.
        pid: u32,
        /// The dead owner's pid, when known.
        from_pid: Option<u32>,
    },
    /// A lease was removed by recovery.
    LeaseRemoved {
        /// Its session id.
        id: String,
        /// `finalized`, `incomplete` or `unreadable`.
        reason: &'static str,
    },
}

impl LogEvent {
    /// The `start` line of lease `l`.
    pub(super) fn start(l: &Lease, mode: &str, role: Option<&'static str>) -> LogEvent {
        LogEvent::Start {
            id: l.session_id.clone(),
            agent: l.agent.clone().unwrap_or_default(),
            mode: mode.to_owned(),
            pid: l.pid,
            host: l.hostname.clone(),
            user: l.user.clone().unwrap_or_default(),
            role,
        }
    }

    /// The `end` line of summary `s` whose changes are `d`.
    pub(super) fn end(s: &Summary, d: &Diff, role: Option<&'static str>) -> LogEvent {
        let counts = [
            d.added.len(),
            d.modified.len(),
            d.deleted.len(),
            d.renamed.len(),
        ];
        LogEvent::end_counts(s, counts, role)
    }

    /// The `end` line of a summary and its four counts.
    pub(super) fn end_counts<M: summary::ManifestField>(
        s: &summary::SummaryOf<M>,
        counts: [usize; 4],
        role: Option<&'static str>,
    ) -> LogEvent {
        LogEvent::End {
            id: s.session_id.clone(),
            agent: s.agent.clone(),
            mode: s.mode.clone(),
            exit: s.exit_code,
            duration: s.duration_seconds,
            counts,
            reason: s.end_reason,
            detected_via: s.detected_via,
            role,
        }
    }

    /// The `end` line that closes the `start` line of lease `l` whose begin failed after
    /// writing it: nothing ran, nothing changed.
    pub(super) fn end_of_failed_begin(l: &Lease, mode: &str) -> LogEvent {
        LogEvent::End {
            id: l.session_id.clone(),
            agent: l.agent.clone().unwrap_or_default(),
            mode: mode.to_owned(),
            exit: None,
            duration: 0,
            counts: [0; 4],
            reason: Some(EndReason::Exception),
            detected_via: None,
            role: None,
        }
    }

    /// The event's name in the log.
    pub(super) fn name(&self) -> &'static str {
        match self {
            LogEvent::Start { .. } => "start",
            LogEvent::End { .. } => "end",
            LogEvent::Adopt { .. } => "adopt",
            LogEvent::LeaseRemoved { .. } => "lease-removed",
        }
    }

    /// Its `key=value` fields, in the event's fixed order.
    pub(super) fn fields(&self) -> Vec<(&'static str, String)> {
        let dash = || "-".to_owned();
        let mut f = match self {
            LogEvent::Start {
                id,
                agent,
                mode,
                pid,
                host,
                user,
                ..
            } => vec![
                ("id", id.clone()),
                ("agent", agent.clone()),
                ("mode", mode.clone()),
                ("pid", pid.to_string()),
                ("host", host.clone()),
                ("user", user.clone()),
            ],
            LogEvent::End {
                id,
                agent,
                mode,
                exit,
                duration,
                counts,
                reason,
                detected_via,
                ..
            } => vec![
                ("id", id.clone()),
                ("agent", agent.clone()),
                ("mode", mode.clone()),
                ("exit", exit.map_or_else(dash, |c| c.to_string())),
                ("duration", duration.to_string()),
                ("added", counts[0].to_string()),
                ("modified", counts[1].to_string()),
                ("deleted", counts[2].to_string()),
                ("renamed", counts[3].to_string()),
                ("reason", reason.map_or("-", EndReason::as_str).to_owned()),
                (
                    "detected_via",
                    detected_via.map_or("-", DetectedVia::as_str).to_owned(),
                ),
            ],
            LogEvent::Adopt { id, pid, from_pid } => vec![
                ("id", id.clone()),
                ("pid", pid.to_string()),
                ("from_pid", from_pid.map_or_else(dash, |p| p.to_string())),
            ],
            LogEvent::LeaseRemoved { id, reason } => {
                vec![("id", id.clone()), ("reason", (*reason).to_owned())]
            }
        };
        if let LogEvent::Start { role: Some(r), .. } | LogEvent::End { role: Some(r), .. } = self {
            f.push(("role", (*r).to_owned()));
        }
        f
    }

    /// Appends it to the log of workspace `ws` (one `write(2)`).
    pub(super) fn append(&self, ws: &std::path::Path, ts: DateTime<Utc>) -> Result<()> {
        log::append(ws, ts, self.name(), &self.fields())
    }

    /// Appends it to the log in `logs` (the descriptor opened at begin).
    pub(super) fn append_in(&self, logs: &super::dirfd::Dir, ts: DateTime<Utc>) -> Result<()> {
        log::append_in(logs, ts, self.name(), &self.fields())
    }
}

/// Which lease a [`finalize`] may remove.
pub(super) enum LeaseCheck<'a> {
    /// An end: the lease is removed when it names this session; the start manifest when
    /// the lease names this session or is gone.
    Ours,
    /// A recovery: nothing is written unless `session.json` is still exactly the lease
    /// that was judged dead (re-read under `write.lock`).
    Judged(&'a lease::LeaseFile),
}

/// Step 4 of end (also used by recovery): under `write.lock`, write the summary, append
/// the `end` line, remove the start manifest, and remove the lease if it is `s`'s. Waits
/// for `write.lock` until any lock found has become breakable ([`writelock::OUTLAST`]).
pub(super) fn finalize(
    dirs: &SessionDirs,
    s: &Summary,
    d: &Diff,
    check: LeaseCheck<'_>,
    summary_max: usize,
) -> Result<()> {
    let ctask = &dirs.ctask;
    let _guard = WriteLock::acquire_in(ctask, paths::WRITE_LOCK, writelock::OUTLAST)?;
    crashpoint::hit("finalize.write_locked");
    let on_disk = lease::read_in(ctask)?;
    let ours = match (&check, &on_disk) {
        (LeaseCheck::Judged(judged), now) => {
            if now != *judged {
                return Err(lease::changed_error(&ctask.join(paths::LEASE)));
            }
            true
        }
        (LeaseCheck::Ours, lease::LeaseFile::Present(l)) => l.session_id == s.session_id,
        (LeaseCheck::Ours, lease::LeaseFile::Absent) => true,
        (LeaseCheck::Ours, lease::LeaseFile::Unreadable(_)) => false,
    };
    // The index first: a kill before the summary leaves an index naming a session the
    // summary does not, which readers ignore (docs/design.md §4.5).
    if let Some(at) = &s.end_manifest_captured_at {
        super::index::write_in(ctask, &s.session_id, at, &s.end_manifest)?;
        crashpoint::hit("finalize.index_written");
    }
    summary::write_in(ctask, s, summary_max)?;
    crashpoint::hit("finalize.summary_written");
    LogEvent::end(s, d, None)
        .append_in(&dirs.logs, s.ended_at.unwrap_or_else(timefmt::now_secs))?;
    crashpoint::hit("finalize.end_line");
    if ours {
        ctask.unlink(paths::START_MANIFEST)?;
        ctask.unlink(paths::JSON_START_MANIFEST)?;
    }
    crashpoint::hit("finalize.before_lease_removal");
    if ours
        && let lease::LeaseFile::Present(l) = on_disk
        && l.session_id == s.session_id
    {
        ctask.unlink(paths::LEASE)?;
    }
    crashpoint::hit("finalize.lease_removed");
    Ok(())
}
