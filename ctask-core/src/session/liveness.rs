//! Three-state liveness of a lease (alive, dead, unknown), always judged while trying to
//! hold `session.lock` — never by reading first and locking after.

use std::path::Path;

use chrono::Utc;
use serde::Serialize;

use super::host;
use super::lease::{self, Lease, LeaseFile};
use super::lock;
use crate::error::Result;

/// A lease's state as judged by someone that holds `session.lock` (or found it free).
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// No lease at all.
    NoLease,
    /// The owner lives (a reference-tool lease whose process exists or whose heartbeat is fresh).
    Alive(Lease),
    /// The owner is gone; `why` says how we know.
    Dead {
        /// The dead owner's lease.
        lease: Lease,
        /// How death was established.
        why: String,
    },
    /// `session.json` does not parse.
    Unreadable(String),
    /// A lease from another host with no parseable heartbeat: never reclaimed.
    Unknown {
        /// The lease.
        lease: Lease,
        /// What the user can do about it.
        why: String,
    },
}

/// Judges `file` given that `session.lock` is not held by anyone else.
pub fn judge_unlocked(file: LeaseFile, stale_after_s: u64) -> Judgement {
    let lease = match file {
        LeaseFile::Absent => return Judgement::NoLease,
        LeaseFile::Unreadable(d) => return Judgement::Unreadable(d),
        LeaseFile::Present(l) => *l,
    };
    let this_host = lease.is_this_host();
    if lease.has_lock_marker() && this_host {
        return Judgement::Dead {
            lease,
            why: "its owner no longer holds session.lock".into(),
        };
    }
    if this_host {
        return if host::same_process_running(
            lease.pid,
            lease.process_start,
            lease.boot_id.as_deref(),
        ) {
            Judgement::Alive(lease)
        } else {
            let why = format!("process {} on this host is gone", lease.pid);
            Judgement::Dead { lease, why }
        };
    }
    match lease.heartbeat_age_s(Utc::now()) {
        Some(age) if age > stale_after_s as i64 => {
            let why = format!("heartbeat expired {age} s ago (host {})", lease.hostname);
            Judgement::Dead { lease, why }
        }
        Some(_) => Judgement::Alive(lease),
        None => {
            let why = format!(
                "lease of host {} has no readable heartbeat; if no session runs there, remove .ctask/session.json",
                lease.hostname
            );
            Judgement::Unknown { lease, why }
        }
    }
}

/// State names shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// No session.
    None,
    /// A live session owns the workspace.
    Active,
    /// A lease whose owner is dead, expired or unreadable.
    Stale,
    /// Cannot be told.
    Unknown,
}

impl State {
    /// The user-facing name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::None => "none",
            State::Active => "active",
            State::Stale => "stale",
            State::Unknown => "unknown",
        }
    }
}

/// What a prober sees: state, the lease when readable, and a diagnostic for stale/unknown.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The state.
    pub state: State,
    /// The lease, when one parses.
    pub lease: Option<Lease>,
    /// Why the state is stale or unknown.
    pub diagnostic: Option<String>,
}

/// Probes a workspace's `.ctask/` without writing anything (shared lock, released at once).
pub fn probe(ctask_dir: &Path, stale_after_s: u64) -> Result<Probe> {
    let lease_path = ctask_dir.join("session.json");
    if lock::is_held(&ctask_dir.join("session.lock"))? {
        let lease = match lease::read(&lease_path)? {
            LeaseFile::Present(l) => Some(*l),
            _ => None,
        };
        return Ok(Probe {
            state: State::Active,
            lease,
            diagnostic: None,
        });
    }
    Ok(
        match judge_unlocked(lease::read(&lease_path)?, stale_after_s) {
            Judgement::NoLease => Probe {
                state: State::None,
                lease: None,
                diagnostic: None,
            },
            Judgement::Alive(l) => Probe {
                state: State::Active,
                lease: Some(l),
                diagnostic: None,
            },
            Judgement::Dead { lease, why } => Probe {
                state: State::Stale,
                lease: Some(lease),
                diagnostic: Some(format!(
                    "{why}; the next session will record it and take over"
                )),
            },
            Judgement::Unreadable(d) => Probe {
                state: State::Stale,
                lease: None,
                diagnostic: Some(format!(
                    "{} is unreadable ({d}); the next session will reclaim it",
                    lease_path.display()
                )),
            },
            Judgement::Unknown { lease, why } => Probe {
                state: State::Unknown,
                lease: Some(lease),
                diagnostic: Some(why),
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::lease::Mode;

    fn lease() -> Lease {
        Lease::new("id".into(), "x", Mode::Direct, 30)
    }

    #[test]
    fn our_lease_without_lock_holder_is_dead_at_once() {
        assert!(matches!(
            judge_unlocked(LeaseFile::Present(Box::new(lease())), 60),
            Judgement::Dead { .. }
        ));
    }

    #[test]
    fn reference_lease_of_a_live_process_is_alive() {
        let mut l = lease();
        l.lock = None;
        assert!(matches!(
            judge_unlocked(LeaseFile::Present(Box::new(l.clone())), 60),
            Judgement::Alive(_)
        ));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        l.pid = child.id();
        l.process_start = None;
        child.wait().unwrap();
        assert!(matches!(
            judge_unlocked(LeaseFile::Present(Box::new(l)), 60),
            Judgement::Dead { .. }
        ));
    }

    #[test]
    fn other_host_is_judged_by_heartbeat_age() {
        let mut l = lease();
        l.hostname = "elsewhere.invalid".into();
        assert!(matches!(
            judge_unlocked(LeaseFile::Present(Box::new(l.clone())), 60),
            Judgement::Alive(_)
        ));
        l.heartbeat_at = Some(Utc::now() - chrono::Duration::seconds(120));
        assert!(matches!(
            judge_unlocked(LeaseFile::Present(Box::new(l.clone())), 60),
            Judgement::Dead { .. }
        ));
        l.heartbeat_at = None;
        assert!(matches!(
            judge_unlocked(LeaseFile::Present(Box::new(l)), 60),
            Judgement::Unknown { .. }
        ));
    }
}
