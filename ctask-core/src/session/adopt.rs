//! Adopting an orphaned persistent session (docs/design.md §4.9): its tmux session still runs but
//! its owner is gone. Holding `session.lock`, the adopter takes over the lease keeping the
//! session id and `manifest-start.json`, so nothing done while it was orphaned is lost.

use std::path::Path;

use super::SessionDirs;
use super::lease::{self, Lease, Mode};
use super::liveness::{self, Judgement};
use super::lock::SessionLock;
use super::manifest::{self, Manifest};
use super::prepare::{self, Assembly, Validated};
use super::record::LogEvent;
use super::tmux::Tmux;
use super::writelock::WriteLock;
use super::{Role, Session, SessionOptions, host, log, recovery, timefmt};
use crate::error::{Error, Result};

impl Session {
    /// Adopts the orphaned tmux session of workspace `dir`: its lease must be dead, stale,
    /// unreadable or missing, and its tmux session must exist. Never resolves the agent.
    pub fn adopt(dir: &Path, mut opts: SessionOptions, tmux: &Tmux) -> Result<Session> {
        opts.mode = Mode::Persistent;
        opts.launch = None;
        let v = prepare::validate(dir, &opts)?;
        let name = v.tmux.as_ref().map(|(_, n)| n.clone()).unwrap_or_default();
        if !tmux.has_session(&name) {
            return Err(Error::Tmux {
                detail: format!("there is no tmux session {name} to adopt"),
            });
        }
        let Some(lock) = SessionLock::try_acquire(&v.paths.session_lock)? else {
            return Err(Error::ActiveSession {
                owner: Box::new(prepare::wait_for_owner(&v.paths.lease)),
            });
        };
        let file = lease::read(&v.paths.lease)?;
        match liveness::judge_unlocked(file, opts.stale_after_seconds) {
            Judgement::Alive(owner) | Judgement::Unknown { lease: owner, .. } => {
                lock.release();
                Err(Error::ActiveSession {
                    owner: Box::new(owner),
                })
            }
            Judgement::Dead { lease, .. } if lease.tmux_session.as_deref() == Some(&name) => {
                adopt_owned(v, opts, lock, Some(lease))
            }
            Judgement::Dead { lease, .. } => {
                let mut warnings = Vec::new();
                recovery::recover_dead(
                    &v.ws.dir,
                    &v.paths,
                    &lease,
                    &opts.snapshots,
                    &opts.capture,
                    opts.summary_manifest_max,
                    &mut warnings,
                )?;
                adopt_owned(Validated { warnings, ..v }, opts, lock, None)
            }
            Judgement::Unreadable(detail) => {
                let mut warnings = Vec::new();
                recovery::reclaim_unreadable(&v.ws.dir, &v.paths, &detail, &mut warnings)?;
                adopt_owned(Validated { warnings, ..v }, opts, lock, None)
            }
            Judgement::NoLease => adopt_owned(v, opts, lock, None),
        }
    }
}

/// Takes over `orphan` (or, without one, starts a fresh record for the running tmux
/// session), holding `lock`.
pub(super) fn adopt_owned(
    v: Validated,
    opts: SessionOptions,
    lock: SessionLock,
    orphan: Option<Lease>,
) -> Result<Session> {
    let mut warnings = v.warnings;
    let name = v.tmux.as_ref().map(|(_, n)| n.clone());
    let now = timefmt::now_secs();
    let from_pid = orphan.as_ref().map(|l| l.pid);
    let kept_start = match orphan.as_ref() {
        Some(_) => manifest::read_start(&v.paths.dir).unwrap_or_else(|e| {
            warnings.push(format!("{e}; changes are counted from the adoption on"));
            None
        }),
        None => None,
    };
    let (start, write_start): (Manifest, bool) = match kept_start {
        Some(m) => (m, false),
        None => (
            manifest::capture(&v.ws.dir, &opts.capture, None)?.manifest,
            true,
        ),
    };
    let mut l = match orphan {
        Some(old) => Lease {
            pid: host::current_pid(),
            process_start: host::process_start(host::current_pid()),
            boot_id: host::boot_id(),
            hostname: host::hostname(),
            user: Some(host::username()),
            heartbeat_seconds: Some(opts.heartbeat_seconds),
            ctask_version: Some(crate::VERSION.to_owned()),
            lock: Some(lease::LOCK_MARKER.to_owned()),
            mode: Some(Mode::Persistent.as_str().to_owned()),
            started_at: old.started_at.or(Some(now)),
            ..old
        },
        None => {
            let mut l = Lease::new(
                lease::new_session_id(now),
                &opts.agent,
                Mode::Persistent,
                opts.heartbeat_seconds,
            );
            l.started_at = Some(now);
            l
        }
    };
    l.heartbeat_at = Some(now);
    l.adopted_from_orphan_at = Some(now);
    l.tmux_session = name.clone();
    {
        let _guard = WriteLock::acquire(&v.paths.write_lock)?;
        lease::write(&v.paths.lease, &l)?;
        if write_start {
            manifest::write_start(&v.paths.start_manifest, &l.session_id, &start)?;
        }
        let (started, _) = log::lines_of(&v.ws.dir, &l.session_id, l.started_at)?;
        if !started {
            let ts = l.started_at.unwrap_or(now);
            LogEvent::start(&l, Mode::Persistent.as_str(), None).append(&v.ws.dir, ts)?;
        }
        LogEvent::Adopt {
            id: l.session_id.clone(),
            pid: l.pid,
            from_pid,
        }
        .append(&v.ws.dir, now)?;
    }
    let last = prepare::read_last_summary(&v.paths, &mut warnings)?;
    let id = l.session_id.clone();
    let started_at = l.started_at.unwrap_or(now);
    let opts = SessionOptions {
        agent: l.agent.clone().unwrap_or_else(|| opts.agent.clone()),
        ..opts
    };
    let dirs = SessionDirs::open(&v.ws.dir, &v.paths)?;
    let (beat, hb) = prepare::start_heartbeat(&dirs, l, &opts)?;
    Ok(prepare::assemble(
        v.ws,
        v.launch,
        &opts,
        Assembly {
            id,
            role: Role::Owner,
            started_at,
            lock: Some(lock),
            beat: Some(beat),
            start,
            outside: None,
            last,
            owner: None,
            recovered: None,
            warnings,
            tmux_session: name,
            adopted_at: Some(now),
            heartbeat: hb,
            provisional: None,
            dirs,
        },
    ))
}
