//! begin, in exactly the order of docs/design.md §4.3: validate → `try_lock` → judge the
//! lease → recover a dead one → one capture → outside diff → lease → start manifest →
//! `start` line → heartbeat. A failure after the lock undoes what was written.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::heartbeat::{Beat, Heartbeat};
use super::launch::{self, LaunchDir};
use super::lease::Mode;
use super::lease::{self, Lease, LeaseFile};
use super::liveness::{self, Judgement};
use super::lock::SessionLock;
use super::manifest::{self, Capture, Manifest};
use super::paths::CtaskPaths;
use super::summary::{self, Summary, SummaryFile};
use super::tmux::{self, Tmux};
use super::writelock::{self, WriteLock};
use super::{
    Inner, OnActive, Recovered, Role, Session, SessionDirs, SessionOptions, adopt, crashpoint,
    diff, host, log, provisional, recovery, timefmt,
};
use crate::error::{Error, Result};
use crate::fsio;
use crate::workspace::{Kind, Workspace};

/// Everything step 1 establishes before anything is written.
pub(super) struct Validated {
    pub(super) ws: Workspace,
    pub(super) paths: CtaskPaths,
    pub(super) launch: LaunchDir,
    pub(super) warnings: Vec<String>,
    /// The tmux session of a persistent session (tmux checked to be usable).
    pub(super) tmux: Option<(Tmux, String)>,
}

impl Session {
    /// Begins a session in workspace `dir` (docs/design.md §4.3).
    pub fn begin(dir: &Path, opts: SessionOptions) -> Result<Session> {
        let v = validate(dir, &opts)?;
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

/// Step 1: validation and resolution; nothing is written except a missing `.ctask/`.
pub(super) fn validate(dir: &Path, opts: &SessionOptions) -> Result<Validated> {
    opts.validate()?;
    let ws = Workspace::open(dir)?;
    let tmux = match opts.mode {
        Mode::Persistent => {
            let name = tmux::session_name(&ws.task.category, &ws.task.slug, &ws.dir);
            Some((Tmux::find()?, name))
        }
        Mode::Direct => None,
    };
    let paths = CtaskPaths::new(&ws.dir);
    fsio::ensure_real_dir(&paths.dir, true)?;
    let logs = ws.dir.join(log::LOG_DIR);
    if std::fs::symlink_metadata(&logs).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::security(
            &logs,
            "is a symbolic link; refusing to use it",
        ));
    }
    if let Some(argv) = &opts.launch {
        let program = argv
            .first()
            .ok_or_else(|| Error::invalid("empty command to launch"))?;
        launch::find_program(program)?;
    }
    let rel = opts
        .launch_dir
        .clone()
        .or_else(|| launch::inherited("CTASK_LAUNCH_DIR", &ws.dir))
        .or_else(|| ws.task.launch_dir.clone());
    let launch = launch::resolve_launch_dir(&ws.dir, rel.as_deref())?;
    let warnings = launch.warning.iter().cloned().collect();
    Ok(Validated {
        ws,
        paths,
        launch,
        warnings,
        tmux,
    })
}

/// The live owner's lease, re-read for a moment in case it is still being written.
pub(super) fn wait_for_owner(lease_path: &Path) -> Lease {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = None;
    loop {
        if let Ok(LeaseFile::Present(l)) = lease::read(lease_path) {
            let plausible = !l.is_this_host()
                || host::same_process_running(l.pid, l.process_start, l.boot_id.as_deref());
            if plausible {
                return *l;
            }
            last = Some(*l);
        }
        if Instant::now() >= deadline {
            return last.unwrap_or_else(|| Lease {
                session_id: "unknown (starting)".into(),
                hostname: "unknown".into(),
                ..Lease::default()
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the last summary; an unreadable one is a warning and no baseline (docs/design.md §6).
pub(super) fn read_last_summary(
    paths: &CtaskPaths,
    warnings: &mut Vec<String>,
) -> Result<Option<Summary>> {
    match summary::read::<Vec<manifest::Entry>>(&paths.summary)? {
        SummaryFile::Absent => Ok(None),
        SummaryFile::Present(s) => Ok(Some(*s)),
        SummaryFile::Unreadable(detail) => {
            warnings.push(format!(
                "{} is unreadable ({detail}); proceeding without a baseline",
                paths.summary.display()
            ));
            Ok(None)
        }
    }
}

/// The outside-change baseline a last summary provides, moved out of it (the summary keeps
/// its other keys), and whether it can serve as a hash cache.
fn baseline(
    last: Option<&mut Summary>,
    ws: &Path,
    opts: &SessionOptions,
) -> Option<(Manifest, bool)> {
    let last = last?;
    let native = last.end_manifest_captured_at.is_some();
    let mut m = last.take_end_manifest();
    let foreign = !native || m.is_foreign();
    if foreign {
        m.retain_included(ws, &opts.capture);
    }
    Some((m, !foreign))
}

fn cache_of(base: &Option<(Manifest, bool)>) -> Option<&Manifest> {
    base.as_ref().filter(|(_, cache)| *cache).map(|(m, _)| m)
}

fn outside_diff(base: &Option<(Manifest, bool)>, now: &Manifest) -> Option<diff::Diff> {
    base.as_ref().map(|(b, _)| diff::diff(b, now))
}

/// Step 7: a live owner holds the workspace.
fn coexist_or_refuse(v: Validated, opts: SessionOptions, owner: Lease) -> Result<Session> {
    if opts.on_active == OnActive::Error && !opts.force {
        return Err(Error::ActiveSession {
            owner: Box::new(owner),
        });
    }
    let mut warnings = v.warnings;
    let mut last = read_last_summary(&v.paths, &mut warnings)?;
    let base = baseline(last.as_mut(), &v.ws.dir, &opts);
    let capture = manifest::capture(&v.ws.dir, &opts.capture, cache_of(&base))?;
    note_skipped(&capture, &mut warnings);
    let outside = outside_diff(&base, &capture.manifest);
    drop(base);
    let started_at = timefmt::now_secs();
    let id = lease::new_session_id(started_at);
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
            last: last.map(|s| s.brief()),
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
            let r =
                recovery::recover_dead(&v.ws.dir, &v.paths, &lease, &opts.capture, &mut warnings)?;
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
    let mut last = read_last_summary(&v.paths, &mut warnings)?;
    let base = baseline(last.as_mut(), &v.ws.dir, &opts);
    let capture = match reused {
        Some(c) => c,
        None => manifest::capture(&v.ws.dir, &opts.capture, cache_of(&base))?,
    };
    note_skipped(&capture, &mut warnings);
    let outside = outside_diff(&base, &capture.manifest);
    drop(base);
    crashpoint::hit("begin.captured");
    // Step 5: lease, start manifest, start line — under write.lock, undone on failure.
    let started_at = timefmt::now_secs();
    let id = lease::new_session_id(started_at);
    let mut new_lease = Lease::new(id.clone(), &opts.agent, opts.mode, opts.heartbeat_seconds);
    new_lease.started_at = Some(started_at);
    new_lease.heartbeat_at = Some(started_at);
    new_lease.tmux_session = v.tmux.as_ref().map(|(_, n)| n.clone());
    // Step 6 (the heartbeat) is started inside, before the start line: nothing after
    // that line can fail without its end.
    let dirs = SessionDirs::open(&v.ws.dir, &v.paths)?;
    let (beat, hb) = write_start(&v.paths, &dirs, new_lease, &capture.manifest, &opts)?;
    let provisional = (opts.newly_created && opts.mode == Mode::Direct)
        .then(|| provisional::take(&v.ws.dir))
        .flatten();
    let tmux_session = v.tmux.as_ref().map(|(_, n)| n.clone());
    Ok(assemble(
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
            last: last.map(|s| s.brief()),
            owner: None,
            recovered,
            warnings,
            tmux_session,
            adopted_at: None,
            heartbeat: hb,
            provisional,
            dirs,
        },
    ))
}

/// Starts the heartbeat of `lease` (when the options ask for one).
pub(super) fn start_heartbeat(
    dirs: &SessionDirs,
    lease: Lease,
    opts: &SessionOptions,
) -> Result<(Arc<Mutex<Beat>>, Option<Heartbeat>)> {
    let beat = Arc::new(Mutex::new(Beat {
        dir: dirs.ctask.try_clone()?,
        lease,
    }));
    let hb = if opts.heartbeat {
        if crashpoint::fail("begin.heartbeat") {
            return Err(Error::io(
                dirs.ctask.join(super::paths::LEASE),
                std::io::Error::other("injected: the heartbeat thread cannot start"),
            ));
        }
        let every = Duration::from_secs(opts.heartbeat_seconds.max(1));
        Some(Heartbeat::start(Arc::clone(&beat), every)?)
    } else {
        None
    };
    Ok((beat, hb))
}

/// Warns of ignore files too large to be used.
pub(super) fn note_oversized(c: &Capture, warnings: &mut Vec<String>) {
    for f in &c.oversized_ignore_files {
        warnings.push(format!(
            "{f} is larger than {} bytes and was not used: the files it names are recorded",
            manifest::MAX_IGNORE_FILE
        ));
    }
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
        lease::write_in(ctask, &l)?;
        crashpoint::hit("begin.lease_written");
        manifest::write_manifest_in(ctask, start)?;
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
    match log::append_checked_in(&dirs.logs, ts, "start", &start_fields(&l, mode, None)) {
        Ok(()) => {
            crashpoint::hit("begin.start_line");
            Ok((beat, hb))
        }
        Err(failed) => {
            if let Some(h) = hb.as_mut() {
                h.stop();
            }
            let closed = !failed.maybe_written
                || log::append_in(
                    &dirs.logs,
                    timefmt::now_secs(),
                    "end",
                    &orphan_end_fields(&l, mode),
                )
                .is_ok();
            if closed {
                undo_start_in(ctask);
            }
            Err(failed.error)
        }
    }
}

/// Fields of the `end` line that closes a `start` line whose begin failed after writing it.
fn orphan_end_fields(l: &Lease, mode: &str) -> Vec<(&'static str, String)> {
    let zero = || "0".to_owned();
    vec![
        ("id", l.session_id.clone()),
        ("agent", l.agent.clone().unwrap_or_default()),
        ("mode", mode.to_owned()),
        ("exit", "-".to_owned()),
        ("duration", zero()),
        ("added", zero()),
        ("modified", zero()),
        ("deleted", zero()),
        ("renamed", zero()),
        ("reason", "exception".to_owned()),
        ("detected_via", "-".to_owned()),
    ]
}

/// Removes what a failed begin wrote (start manifest first, then the lease).
fn undo_start_in(ctask: &super::dirfd::Dir) {
    let _ = ctask.unlink(super::paths::START_MANIFEST);
    let _ = ctask.unlink(super::paths::LEASE);
}

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

/// The parts of a begun session that differ between begin, coexist and adopt.
pub(super) struct Assembly {
    pub(super) id: String,
    pub(super) role: Role,
    pub(super) started_at: chrono::DateTime<chrono::Utc>,
    pub(super) lock: Option<SessionLock>,
    pub(super) beat: Option<Arc<Mutex<Beat>>>,
    pub(super) start: Manifest,
    pub(super) outside: Option<diff::Diff>,
    pub(super) last: Option<summary::SummaryBrief>,
    pub(super) owner: Option<Lease>,
    pub(super) recovered: Option<Recovered>,
    pub(super) warnings: Vec<String>,
    pub(super) tmux_session: Option<String>,
    pub(super) adopted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) heartbeat: Option<Heartbeat>,
    pub(super) provisional: Option<provisional::Inventory>,
    pub(super) dirs: SessionDirs,
}

pub(super) fn assemble(
    ws: Workspace,
    launch: LaunchDir,
    opts: &SessionOptions,
    a: Assembly,
) -> Session {
    let flat_project = ws.task.kind == Kind::Project
        && ws.dir.parent().is_some_and(|p| {
            p.file_name()
                .is_none_or(|n| n.to_string_lossy() != ws.task.category)
        });
    let root = super::agent_root(opts.root.as_deref(), &ws.dir, flat_project);
    let env = launch::child_env(&launch::EnvFacts {
        slug: &ws.task.slug,
        workspace: &ws.dir,
        root: &root,
        category: &ws.task.category,
        kind: ws.task.kind.as_str(),
        launch_rel: &launch.rel,
        session_id: &a.id,
        session_mode: opts.mode.as_str(),
        agent_env: &opts.agent_env,
    });
    Session {
        inner: Mutex::new(Inner {
            ws_dir: ws.dir,
            dirs: a.dirs,
            id: a.id,
            agent: opts.agent.clone(),
            mode: opts.mode,
            role: a.role,
            started_at: a.started_at,
            lock: a.lock,
            beat: a.beat,
            heartbeat: a.heartbeat,
            start: a.start,
            capture: opts.capture.clone(),
            launch,
            env,
            outside_changes: a.outside,
            last_summary: a.last,
            owner_lease: a.owner,
            recovered: a.recovered,
            warnings: a.warnings,
            newly_created: opts.newly_created,
            provisional: a.provisional,
            owner_pid: std::process::id(),
            outcome: None,
            end_failure: None,
            tmux_session: a.tmux_session,
            adopted_at: a.adopted_at,
        }),
    }
}
