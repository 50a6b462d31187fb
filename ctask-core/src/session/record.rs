//! Recording a session, shared by begin, adopt, end and recovery: the fields of the `start`
//! and `end` log lines, and finalizing (summary, `end` line, removal of the lease and start
//! manifest under `write.lock`).

use super::diff::Diff;
use super::lease::Lease;
use super::paths;
use super::summary::{self, DetectedVia, EndReason, Summary};
use super::writelock::{self, WriteLock};
use super::{SessionDirs, crashpoint, lease, log, timefmt};
use crate::error::Result;

/// Fields of a `start` line.
pub(super) fn start_fields(
    l: &Lease,
    mode: &str,
    role: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("id", l.session_id.clone()),
        ("agent", l.agent.clone().unwrap_or_default()),
        ("mode", mode.to_owned()),
        ("pid", l.pid.to_string()),
        ("host", l.hostname.clone()),
        ("user", l.user.clone().unwrap_or_default()),
    ];
    if let Some(r) = role {
        f.push(("role", r.to_owned()));
    }
    f
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
    summary::write_in(ctask, s)?;
    crashpoint::hit("finalize.summary_written");
    log::append_in(
        &dirs.logs,
        s.ended_at.unwrap_or_else(timefmt::now_secs),
        "end",
        &end_fields(s, d, None),
    )?;
    crashpoint::hit("finalize.end_line");
    if ours {
        ctask.unlink(paths::START_MANIFEST)?;
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
