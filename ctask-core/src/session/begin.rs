//! begin, in exactly the order of docs/design.md §4.3: validate → `try_lock` → judge the
//! lease → recover a dead one → one capture → outside diff → lease → start manifest →
//! `start` line → heartbeat. A failure after the lock undoes what was written.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::heartbeat::{Beat, Heartbeat};
use super::lease::Mode;
use super::lease::{self, Lease, LeaseFile};
use super::liveness::{self, Judgement};
use super::lock::SessionLock;
use super::manifest::{self, Capture, Manifest};
use super::paths::CtaskPaths;
use super::prepare::{
    Assembly, Validated, assemble, before_begin, note_oversized, start_heartbeat, validate,
    wait_for_owner,
};
use super::record::LogEvent;
use super::tmux::{self};
use super::writelock::{self, WriteLock};
use super::{
    OnActive, Recovered, Role, Session, SessionDirs, SessionOptions, adopt, baseline, crashpoint,
    diff, log, provisional, recovery, timefmt,
};
use crate::error::{Error, Result};
use crate::fsio;

impl Session {
    /// Begins a session in workspace `dir` (docs/design.md §4.3).
    pub fn begin(dir: &Path, opts: SessionOptions) -> Result<Session> {
        let v = validate(dir, &opts)?;
        before_begin(&v, &opts)?;
        match SessionLock::try_acquire(&v.paths.session_lock)? {
            None => {
                let owner = wait_for_owner(&v.paths.lease);
                coexist_or_refuse(v, opts, owner)
            }
            Some(lock) => {
                crashpoint::hit("begin.locked");
                let judgement = liveness::judge_unlocked(
                    lease::read(&v.paths.lease)?,
                    opts.stale_after_seconds,
                );
                match judgement {
                    Judgement::Alive(owner) | Judgement::Unknown { lease: owner, .. } => {
                        lock.release();
                        coexist_or_refuse(v, opts, owner)
                    }
                    Judgement::Dead { lease, .. } if orphan_running(&v, &lease) => {
                        adopt::adopt_owned(v, opts, lock, Some(lease))
                    }
                    Judgement::Dead { lease, .. }
                        if v.tmux.is_none() && tmux::agent_runs_in_tmux(&lease) =>
                    {
                        lock.release();
                        Err(Error::Tmux {
                            detail: format!(
                                "session {} still runs in tmux session {} although its owner is gone; \
                                 adopt it in persistent mode, or end that tmux session first",
                                lease.session_id,
                                lease.tmux_session.as_deref().unwrap_or("?")
                            ),
                        })
                    }
                    other => begin_owned(v, opts, lock, other),
                }
            }
        }
    }
}

/// Step 3's exception: in persistent mode, a dead lease whose tmux session still runs is
/// adopted instead of recovered.
fn orphan_running(v: &Validated, dead: &Lease) -> bool {
    match (&v.tmux, &dead.tmux_session) {
        (Some((tmux, name)), Some(theirs)) => theirs == name && tmux.has_session(name),
        _ => false,
    }
}

/// Step 7: a live owner holds the workspace.
fn coexist_or_refuse(v: Validated, opts: SessionOptions, owner: Lease) -> Result<Session> {
    if opts.on_active == OnActive::Error && !opts.force {
        return Err(Error::ActiveSession {
            owner: Box::new(owner),
        });
    }
    let mut warnings = v.warnings;
    let last = baseline::load(&v.paths, &v.ws.dir, &opts.capture, &mut warnings)?;
    let capture = manifest::capture(&v.ws.dir, &opts.capture, cache_of(&last))?;
    note_skipped(&capture, &mut warnings);
    let outside = outside_diff(&last, &capture.manifest);
    let last = last.summary;
    let started_at = timefmt::now_secs();
    let id = v.id.clone();
    let dirs = SessionDirs::open(&v.ws.dir, &v.paths)?;
    Ok(assemble(
        v.ws,
        v.launch,
        &opts,
        Assembly {
            id,
            role: Role::Coexist,
            started_at,
            lock: None,
            beat: None,
            start: capture.manifest,
            outside,
            last,
            owner: Some(owner),
            recovered: None,
            warnings,
            tmux_session: None,
            adopted_at: None,
            heartbeat: None,
            provisional: None,
            dirs,
        },
    ))
}

/// Steps 3–6, holding `session.lock`.
fn begin_owned(
    v: Validated,
    opts: SessionOptions,
    lock: SessionLock,
    judgement: Judgement,
) -> Result<Session> {
    let mut warnings = v.warnings;
    // Step 3: close a dead owner's session before anything else.
    let mut reused: Option<Capture> = None;
    let mut recovered: Option<Recovered> = None;
    match judgement {
        Judgement::Dead { lease, .. } => {
            let r = recovery::recover_dead(
                &v.ws.dir,
                &v.paths,
                &lease,
                &opts.capture,
                opts.summary_manifest_max,
                &mut warnings,
            )?;
            reused = r.capture;
            recovered = Some(r.report);
        }
        Judgement::Unreadable(detail) => {
            recovered = Some(recovery::reclaim_unreadable(
                &v.ws.dir,
                &v.paths,
                &detail,
                &mut warnings,
            )?);
        }
        Judgement::NoLease | Judgement::Alive(_) | Judgement::Unknown { .. } => {}
    }
    crashpoint::hit("begin.recovered");
    // Step 4: one capture, diffed against the last end manifest.
    let last = baseline::load(&v.paths, &v.ws.dir, &opts.capture, &mut warnings)?;
    let stored_whole = last
        .summary
        .as_ref()
        .is_some_and(|s| s.snapshots_complete == Some(true));
    // With snapshots on, the capture also stores the contents it reads (docs/undo.md).
    let (capture, snap) = crate::snapshot::begin_capture(
        &v.ws.dir,
        &v.paths.dir,
        &opts.snapshots,
        opts.history_kind,
        &opts.capture,
        cache_of(&last),
        last.baseline.as_ref().map(|b| &b.manifest),
        stored_whole,
        reused,
        &mut warnings,
    )?;
    note_skipped(&capture, &mut warnings);
    let outside = outside_diff(&last, &capture.manifest);
    let last = last.summary;
    crashpoint::hit("begin.captured");
    // Step 5: lease, start manifest, start line — under write.lock, undone on failure.
    let started_at = timefmt::now_secs();
    let id = v.id.clone();
    let mut new_lease = Lease::new(id.clone(), &opts.agent, opts.mode, opts.heartbeat_seconds);
    new_lease.started_at = Some(started_at);
    new_lease.heartbeat_at = Some(started_at);
    new_lease.tmux_session = v.tmux.as_ref().map(|(_, n)| n.clone());
    // Step 6 (the heartbeat) is started inside, before the start line: nothing after
    // that line can fail without its end.
    let started = SessionDirs::open(&v.ws.dir, &v.paths).and_then(|dirs| {
        write_start(&v.paths, &dirs, new_lease, &capture.manifest, &opts).map(|s| (dirs, s))
    });
    let (dirs, (beat, hb)) = match started {
        Ok(v) => v,
        Err(e) => {
            // A failed begin leaves `.ctask/` as it found it: what it stored goes too.
            snap.discard(&v.paths.dir);
            return Err(e);
        }
    };
    let provisional = (opts.newly_created && opts.mode == Mode::Direct)
        .then(|| provisional::take(&v.ws.dir))
        .flatten();
    let tmux_session = v.tmux.as_ref().map(|(_, n)| n.clone());
    let session = assemble(
        v.ws,
        v.launch,
        &opts,
        Assembly {
            id,
            role: Role::Owner,
            started_at,
            lock: Some(lock),
            beat: Some(beat),
            start: capture.manifest,
            outside,
            last,
            owner: None,
            recovered,
            warnings,
            tmux_session,
            adopted_at: None,
            heartbeat: hb,
            provisional,
            dirs,
        },
    );
    session.lock().snap = snap;
    Ok(session)
}

/// Under `write.lock`: writes the lease and the start manifest, starts the heartbeat, and
/// appends the `start` line last. A failure before the line removes what was written; a
/// line that may have landed although its append failed (its `fsync`) gets its `end` at
/// once (`reason=exception`), so no `start` is ever left without an `end`; only when that
/// fails too are the lease and start manifest left for recovery to close.
fn write_start(
    paths: &CtaskPaths,
    dirs: &SessionDirs,
    l: Lease,
    start: &Manifest,
    opts: &SessionOptions,
) -> Result<(Arc<Mutex<Beat>>, Option<Heartbeat>)> {
    let ctask = &dirs.ctask;
    let _guard = WriteLock::acquire_in(ctask, super::paths::WRITE_LOCK, writelock::WAIT)?;
    crashpoint::hit("begin.write_locked");
    // The lease was judged (and a dead one removed) before a capture that can take
    // minutes: a lease written since, by a tool that takes no session.lock, is never
    // overwritten.
    if lease::read_in(ctask)? != LeaseFile::Absent {
        return Err(lease::changed_error(&paths.lease));
    }
    // Temp files of writers killed mid-write (never one still being written).
    fsio::sweep_temp_files(&paths.dir);
    let written = (|| {
        lease::write_first_in(ctask, &l)?;
        crashpoint::hit("begin.lease_written");
        manifest::write_start_in(ctask, &l.session_id, start)?;
        crashpoint::hit("begin.start_manifest_written");
        start_heartbeat(dirs, l.clone(), opts)
    })();
    let (beat, mut hb) = match written {
        Ok(v) => v,
        Err(e) => {
            undo_start_in(ctask);
            return Err(e);
        }
    };
    let ts = l.started_at.unwrap_or_else(timefmt::now_secs);
    let mode = opts.mode.as_str();
    let start = LogEvent::start(&l, mode, None);
    match log::append_checked_in(&dirs.logs, ts, start.name(), &start.fields()) {
        Ok(()) => {
            crashpoint::hit("begin.start_line");
            Ok((beat, hb))
        }
        Err(failed) => {
            if let Some(h) = hb.as_mut() {
                h.stop();
            }
            let closed = !failed.maybe_written
                || LogEvent::end_of_failed_begin(&l, mode)
                    .append_in(&dirs.logs, timefmt::now_secs())
                    .is_ok();
            if closed {
                undo_start_in(ctask);
            }
            Err(failed.error)
        }
    }
}

/// Removes what a failed begin wrote (start manifest first, then the lease).
fn undo_start_in(ctask: &super::dirfd::Dir) {
    let _ = ctask.unlink(super::paths::START_MANIFEST);
    let _ = ctask.unlink(super::paths::JSON_START_MANIFEST);
    let _ = ctask.unlink(super::paths::LEASE);
}

/// The baseline as a hash cache, unless written by another tool.
fn cache_of(last: &baseline::Last) -> Option<&Manifest> {
    last.baseline
        .as_ref()
        .filter(|b| b.cache)
        .map(|b| &b.manifest)
}

/// Step 4's outside changes: the capture against the baseline (`None`: no baseline).
fn outside_diff(last: &baseline::Last, now: &Manifest) -> Option<diff::Diff> {
    last.baseline.as_ref().map(|b| diff::diff(&b.manifest, now))
}

fn note_skipped(c: &Capture, warnings: &mut Vec<String>) {
    note_oversized(c, warnings);
    if c.skipped_non_utf8 > 0 {
        warnings.push(format!(
            "{} file name(s) are not valid UTF-8 and were left out of the manifest",
            c.skipped_non_utf8
        ));
    }
}
