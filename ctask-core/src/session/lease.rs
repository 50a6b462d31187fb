//! The lease (`.ctask/session.json`): who owns a workspace now.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{host, timefmt};
use crate::error::{Error, Result};
use crate::fsio;

/// The value of `lock` in our leases: liveness is proven by holding `session.lock`.
pub const LOCK_MARKER: &str = "session.lock";

/// Contents of `session.json`. Unknown keys are ignored on read; absent values are omitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// `<hostname>-<pid>-<YYYYMMDDTHHMMSSZ>-<4 hex>`.
    pub session_id: String,
    /// Owner process id.
    pub pid: u32,
    /// Start time of the owner process (ticks since boot), to detect pid reuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
    /// Boot id of the owner's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Host the owner runs on.
    pub hostname: String,
    /// User running the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The launched command, `shell`, or a library caller's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// `direct` or `persistent` (anything else reads as direct: see [`Lease::session_mode`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Always `local` for now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_mode: Option<String>,
    /// When the session began.
    #[serde(
        default,
        with = "timefmt::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<DateTime<Utc>>,
    /// The owner's last sign of life.
    #[serde(
        default,
        with = "timefmt::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// How often the owner writes `heartbeat_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<u64>,
    /// Version of the ctask that wrote the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctask_version: Option<String>,
    /// tmux session of a persistent session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmux_session: Option<String>,
    /// When an orphaned persistent session was adopted.
    #[serde(
        default,
        with = "timefmt::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub adopted_from_orphan_at: Option<DateTime<Utc>>,
    /// `session.lock` in leases of this ctask; absent in the reference tool's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// What the agent says it is doing (`working`, `waiting`, `idle`, `done`); kept as
    /// written, judged by [`super::state::AgentStatus::of`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_state: Option<String>,
    /// When the agent state was set.
    #[serde(
        default,
        with = "timefmt::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_state_at: Option<DateTime<Utc>>,
    /// The agent's message with its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_message: Option<String>,
}

/// Who owns a busy workspace (carried by [`crate::Error::ActiveSession`]).
pub type Owner = Lease;

/// How a session runs its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The agent is a child of the ctask process.
    #[default]
    Direct,
    /// The agent lives in tmux.
    Persistent,
}

impl Mode {
    /// `direct` or `persistent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Direct => "direct",
            Mode::Persistent => "persistent",
        }
    }
}

impl Lease {
    /// A new lease for this process.
    pub fn new(session_id: String, agent: &str, mode: Mode, heartbeat_seconds: u64) -> Lease {
        let pid = host::current_pid();
        let now = timefmt::now_secs();
        Lease {
            session_id,
            pid,
            process_start: host::process_start(pid),
            boot_id: host::boot_id(),
            hostname: host::hostname(),
            user: Some(host::username()),
            agent: Some(agent.to_owned()),
            mode: Some(mode.as_str().to_owned()),
            workspace_mode: Some("local".to_owned()),
            started_at: Some(now),
            heartbeat_at: Some(now),
            heartbeat_seconds: Some(heartbeat_seconds),
            ctask_version: Some(crate::VERSION.to_owned()),
            tmux_session: None,
            adopted_from_orphan_at: None,
            lock: Some(LOCK_MARKER.to_owned()),
            agent_state: None,
            agent_state_at: None,
            agent_message: None,
        }
    }

    /// The session mode; the reference tool's `local` and anything unknown read as direct.
    pub fn session_mode(&self) -> Mode {
        match self.mode.as_deref() {
            Some("persistent") => Mode::Persistent,
            _ => Mode::Direct,
        }
    }

    /// Whether this lease was written by this ctask (liveness proven by `session.lock`).
    pub fn has_lock_marker(&self) -> bool {
        self.lock.as_deref() == Some(LOCK_MARKER)
    }

    /// Whether the owner claims to run on this host.
    pub fn is_this_host(&self) -> bool {
        self.hostname == host::hostname()
    }

    /// Takes over the agent state fields of `other` (the heartbeat keeps what `ctask state`
    /// wrote).
    pub fn keep_agent_state(&mut self, other: &Lease) {
        self.agent_state.clone_from(&other.agent_state);
        self.agent_state_at = other.agent_state_at;
        self.agent_message.clone_from(&other.agent_message);
    }

    /// Seconds since the last heartbeat (None without a parseable one).
    pub fn heartbeat_age_s(&self, now: DateTime<Utc>) -> Option<i64> {
        self.heartbeat_at.map(|t| (now - t).num_seconds())
    }
}

/// What `session.json` holds.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseFile {
    /// No lease.
    Absent,
    /// A parseable lease.
    Present(Box<Lease>),
    /// The file exists but does not parse (detail says why).
    Unreadable(String),
}

/// Reads `session.json` at `path`.
pub fn read(path: &Path) -> Result<LeaseFile> {
    from_read(fsio::read_optional_capped(path, MAX_BYTES))
}

/// A lease too large to be one, or a special file, is unreadable (reclaimed like one that
/// does not parse, docs/design.md §4.2), never an error that would lock the workspace.
fn from_read(r: Result<Option<Vec<u8>>>) -> Result<LeaseFile> {
    match r {
        Ok(None) => Ok(LeaseFile::Absent),
        Ok(Some(bytes)) => parse(&bytes),
        Err(crate::Error::BadFormat { detail, .. }) => Ok(LeaseFile::Unreadable(detail)),
        Err(e) => Err(e),
    }
}

/// The most of `session.json` that is read: a lease is a few hundred bytes; a larger file
/// is an error naming it.
pub const MAX_BYTES: u64 = 64 * 1024;

/// Reads `session.json` through the `.ctask/` directory descriptor `dir`.
pub fn read_in(dir: &super::dirfd::Dir) -> Result<LeaseFile> {
    from_read(dir.read_capped(super::paths::LEASE, MAX_BYTES))
}

/// Writes `session.json` atomically through the `.ctask/` directory descriptor `dir`.
pub fn write_in(dir: &super::dirfd::Dir, lease: &Lease) -> Result<()> {
    dir.write_json_atomic(super::paths::LEASE, lease)
}

/// [`write_in`] without the directory's fsync, for begin: the start manifest written next
/// in the same directory makes both renames durable before the `start` line is logged.
pub fn write_first_in(dir: &super::dirfd::Dir, lease: &Lease) -> Result<()> {
    dir.replace_json(super::paths::LEASE, lease)
}

fn parse(bytes: &[u8]) -> Result<LeaseFile> {
    match serde_json::from_slice::<Lease>(bytes) {
        Ok(l) => Ok(LeaseFile::Present(Box::new(l))),
        Err(e) => Ok(LeaseFile::Unreadable(e.to_string())),
    }
}

/// Whether `session.json` still holds what was judged as `judged` (re-read now; call it
/// holding `write.lock`). A lease or start manifest is removed or overwritten only when
/// this holds (docs/design.md §6): the reference tool takes no `session.lock`, so it may have
/// written a lease of its own since.
pub fn still(path: &Path, judged: &LeaseFile) -> Result<bool> {
    Ok(read(path)? == *judged)
}

/// The error of a begin that found `session.json` changed since it was judged: another
/// owner (one that takes no `session.lock`) began meanwhile.
pub fn changed_error(path: &Path) -> crate::Error {
    match read(path) {
        Ok(LeaseFile::Present(owner)) => crate::Error::ActiveSession { owner },
        _ => crate::Error::format(
            path,
            "changed while ctask was acting on it (another tool is using this workspace); \
             nothing was done, try again",
        ),
    }
}

/// Writes `session.json` atomically.
pub fn write(path: &Path, lease: &Lease) -> Result<()> {
    fsio::write_json_atomic(path, lease)
}

/// A fresh session id: `<hostname>-<pid>-<YYYYMMDDTHHMMSSZ>-<4 hex>`, never repeated
/// within one process.
pub fn new_session_id(started_at: DateTime<Utc>) -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    static BASE: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = *BASE.get_or_init(|| {
        let mut b = [0u8; 2];
        if getrandom::fill(&mut b).is_err() {
            let nanos = Utc::now().timestamp_subsec_nanos();
            b = [(nanos & 0xff) as u8, ((nanos >> 8) & 0xff) as u8];
        }
        u32::from(u16::from_le_bytes(b))
    });
    let n = (base + COUNTER.fetch_add(1, Ordering::Relaxed)) & 0xffff;
    format!(
        "{}-{}-{}-{:04x}",
        host::hostname(),
        host::current_pid(),
        started_at.format("%Y%m%dT%H%M%SZ"),
        n
    )
}

/// Rejects a lease whose `session_id` is unusable in log lines and file names.
pub fn validate(lease: &Lease, path: &Path) -> Result<()> {
    if lease.session_id.is_empty() {
        return Err(Error::format(path, "session_id is empty"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_within_one_process_and_second() {
        let t = timefmt::now_secs();
        let ids: std::collections::BTreeSet<_> = (0..1000).map(|_| new_session_id(t)).collect();
        assert_eq!(ids.len(), 1000);
        let id = ids.iter().next().unwrap();
        assert!(id.starts_with(&format!("{}-{}-", host::hostname(), host::current_pid())));
    }

    #[test]
    fn reference_lease_parses_and_maps_local_to_direct() {
        let json = r#"{"session_id":"h-1-20260101T000000Z","pid":1,"hostname":"h","agent":"claude",
            "mode":"local","started_at":"2026-01-01T00:00:00+01:00","heartbeat_at":"bad","extra":1}"#;
        let l: Lease = serde_json::from_str(json).unwrap();
        assert_eq!(l.session_mode(), Mode::Direct);
        assert!(!l.has_lock_marker());
        assert_eq!(
            timefmt::format(&l.started_at.unwrap()),
            "2025-12-31T23:00:00Z"
        );
        assert!(l.heartbeat_at.is_none());
    }

    #[test]
    fn absent_values_are_omitted() {
        let l = Lease {
            session_id: "x".into(),
            pid: 1,
            hostname: "h".into(),
            ..Lease::default()
        };
        let s = serde_json::to_string(&l).unwrap();
        assert!(!s.contains("null"), "{s}");
    }
}
