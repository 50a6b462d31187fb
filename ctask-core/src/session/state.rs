//! The agent's own report of what it is doing (`working`, `waiting`, `idle`, `done`),
//! kept in the lease (`agent_state`, `agent_state_at`, `agent_message`) and logged as a
//! `state` line (docs/design.md §4.11).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dirfd::Dir;
use super::lease::{self, Lease, LeaseFile};
use super::liveness::{self, State};
use super::paths::{self, CtaskPaths};
use super::writelock::{self, WriteLock};
use super::{host, log, timefmt};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The most bytes an agent message may have.
pub const MESSAGE_MAX_BYTES: usize = 1024;

/// What the agent says it is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// Busy with the user's request.
    Working,
    /// Waiting for the user (a question, a permission prompt).
    Waiting,
    /// Finished its turn; the user may go on.
    Idle,
    /// Finished the task.
    Done,
}

impl AgentState {
    /// The name used in the lease, the log and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Working => "working",
            AgentState::Waiting => "waiting",
            AgentState::Idle => "idle",
            AgentState::Done => "done",
        }
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "working" => Ok(AgentState::Working),
            "waiting" => Ok(AgentState::Waiting),
            "idle" => Ok(AgentState::Idle),
            "done" => Ok(AgentState::Done),
            other => Err(Error::invalid_option(
                "state",
                format!("unknown agent state {other:?}; expected working, waiting, idle or done"),
            )),
        }
    }
}

/// The agent state a lease carries, as shown by `status`, `list` and `info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStatus {
    /// The state.
    pub state: AgentState,
    /// When it was set.
    #[serde(with = "timefmt::opt", skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// Seconds since it was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_s: Option<i64>,
    /// The agent's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl AgentStatus {
    /// The agent state in `lease`, if it carries a known one (a planted unknown value is
    /// ignored).
    pub fn of(lease: &Lease, now: DateTime<Utc>) -> Option<AgentStatus> {
        let state = lease.agent_state.as_deref()?.parse().ok()?;
        Some(AgentStatus {
            state,
            at: lease.agent_state_at,
            age_s: lease.agent_state_at.map(|t| (now - t).num_seconds().max(0)),
            message: lease.agent_message.clone(),
        })
    }
}

/// Checks an agent message: at most [`MESSAGE_MAX_BYTES`] bytes and no control characters
/// (no newlines, tabs or escape sequences: a message is one line of plain text).
pub fn validate_message(m: &str) -> Result<()> {
    if m.len() > MESSAGE_MAX_BYTES {
        return Err(Error::invalid_option(
            "message",
            format!(
                "the message has {} bytes; at most {MESSAGE_MAX_BYTES} are allowed",
                m.len()
            ),
        ));
    }
    if let Some(c) = m.chars().find(|c| c.is_control()) {
        return Err(Error::invalid_option(
            "message",
            format!(
                "the message contains the control character {:?}; it must be one line of plain text",
                c
            ),
        ));
    }
    Ok(())
}

/// Who asks to set the state.
#[derive(Debug, Clone, Default)]
pub struct Setter {
    /// The session the caller runs in (the CLI passes `CTASK_SESSION_ID`).
    pub session_id: Option<String>,
}

/// What [`set_state`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateChange {
    /// The session whose lease now carries the state.
    pub session_id: String,
    /// The state.
    pub state: AgentState,
    /// When it was set.
    #[serde(serialize_with = "serialize_at")]
    pub at: DateTime<Utc>,
    /// The message (absent when none was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn serialize_at<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&timefmt::format(t))
}

/// Sets the agent state of workspace `dir`'s session: allowed when the lease's
/// `session_id` is `setter.session_id` or its owner is alive, never on a lease whose owner
/// is dead (the next begin recovers it as it was judged); otherwise an error and nothing
/// is written. Writes the lease under `write.lock` through a descriptor of
/// `.ctask/` (a symlink is refused), then appends a `state` line. An empty message is no
/// message.
pub fn set_state(
    dir: &Path,
    state: AgentState,
    message: Option<&str>,
    setter: &Setter,
    stale_after_s: u64,
) -> Result<StateChange> {
    let message = message.filter(|m| !m.is_empty());
    if let Some(m) = message {
        validate_message(m)?;
    }
    let ws = Workspace::open(dir)?;
    let paths = CtaskPaths::new(&ws.dir);
    let ctask = Dir::open(&paths.dir)?;
    let probe = liveness::probe(&paths.dir, stale_after_s)?;
    let judged = match (&probe.lease, probe.state) {
        (Some(l), State::Active | State::Stale | State::Unknown) => l.clone(),
        _ => {
            return Err(Error::invalid(format!(
                "no session is running in {}; the agent state is set only inside a session",
                ws.dir.display()
            )));
        }
    };
    let same_id = setter.session_id.as_deref() == Some(judged.session_id.as_str());
    if probe.state == State::Stale || (!same_id && probe.state != State::Active) {
        let why = if probe.state == State::Stale {
            "its owner is gone (the next session records it)"
        } else {
            "its owner cannot be shown to be running and it is not the caller's session"
        };
        return Err(Error::invalid(format!(
            "cannot set the agent state of session {} in {}: {why}{}; nothing was set",
            judged.session_id,
            ws.dir.display(),
            setter
                .session_id
                .as_deref()
                .map(|s| format!(" (the caller's session is {s})"))
                .unwrap_or_default()
        )));
    }
    let logs = log::open_dir(&ws.dir, true)?.ok_or_else(|| {
        Error::io(
            ws.dir.join(log::LOG_DIR),
            std::io::ErrorKind::NotFound.into(),
        )
    })?;
    let at = timefmt::now_secs();
    {
        let _guard = WriteLock::acquire_in(&ctask, paths::WRITE_LOCK, writelock::WAIT)?;
        let mut on_disk = match lease::read_in(&ctask)? {
            LeaseFile::Present(l) if l.session_id == judged.session_id => *l,
            _ => return Err(lease::changed_error(&paths.lease)),
        };
        on_disk.agent_state = Some(state.as_str().to_owned());
        on_disk.agent_state_at = Some(at);
        on_disk.agent_message = message.map(str::to_owned);
        lease::write_in(&ctask, &on_disk)?;
    }
    let mut fields = vec![
        ("id", judged.session_id.clone()),
        ("state", state.as_str().to_owned()),
        ("pid", host::current_pid().to_string()),
    ];
    if let Some(m) = message {
        fields.push(("message", m.to_owned()));
    }
    log::append_in(&logs, at, "state", &fields)?;
    Ok(StateChange {
        session_id: judged.session_id,
        state,
        at,
        message: message.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::{NewOptions, Settings};

    fn workspace() -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let s = Settings::with_root(d.path()).unwrap();
        let opts = NewOptions {
            title: "state".into(),
            category: None,
            project: false,
            agent: None,
        };
        let ws = Workspace::create(&s, &opts).unwrap();
        (d, ws.dir)
    }

    /// A reference-tool lease (no `session.lock` marker) from another host.
    fn plant(ws: &Path, heartbeat: Option<&str>) -> Vec<u8> {
        let mut l = serde_json::json!({
            "session_id": "far-9-20260101T000000Z", "pid": 9, "hostname": "far.example",
        });
        if let Some(h) = heartbeat {
            l["heartbeat_at"] = h.into();
        }
        let p = ws.join(".ctask/session.json");
        std::fs::write(&p, l.to_string()).unwrap();
        std::fs::read(&p).unwrap()
    }

    #[test]
    fn an_unknown_owner_needs_the_session_id() {
        let (_d, ws) = workspace();
        let before = plant(&ws, None);
        let anyone = Setter::default();
        let e = set_state(&ws, AgentState::Idle, None, &anyone, 60).unwrap_err();
        assert!(
            e.to_string().contains("cannot be shown to be running"),
            "{e}"
        );
        assert_eq!(
            std::fs::read(ws.join(".ctask/session.json")).unwrap(),
            before
        );
        let its_own = Setter {
            session_id: Some("far-9-20260101T000000Z".into()),
        };
        let c = set_state(&ws, AgentState::Waiting, Some("hi"), &its_own, 60).unwrap();
        assert_eq!(c.session_id, "far-9-20260101T000000Z");
        let LeaseFile::Present(l) = lease::read(&ws.join(".ctask/session.json")).unwrap() else {
            panic!("lease")
        };
        assert_eq!(l.agent_state.as_deref(), Some("waiting"));
        assert_eq!(l.agent_message.as_deref(), Some("hi"));
        assert_eq!(l.hostname, "far.example", "the other keys are kept");
    }

    #[test]
    fn a_live_owner_takes_any_setter_and_a_dead_one_none() {
        let (_d, ws) = workspace();
        let fresh = timefmt::format(&timefmt::now_secs());
        plant(&ws, Some(&fresh));
        set_state(&ws, AgentState::Working, None, &Setter::default(), 60).unwrap();
        let before = plant(&ws, Some("2000-01-01T00:00:00Z"));
        let its_own = Setter {
            session_id: Some("far-9-20260101T000000Z".into()),
        };
        let e = set_state(&ws, AgentState::Done, None, &its_own, 60).unwrap_err();
        assert!(e.to_string().contains("owner is gone"), "{e}");
        assert_eq!(
            std::fs::read(ws.join(".ctask/session.json")).unwrap(),
            before
        );
    }

    #[test]
    fn messages_are_one_bounded_line() {
        assert!(validate_message(&"é".repeat(512)).is_ok());
        assert!(validate_message(&"x".repeat(1025)).is_err());
        for bad in ["a\nb", "tab\there", "\u{1b}[2J", "\u{9b}1m", "\u{7f}"] {
            assert!(validate_message(bad).is_err(), "{bad:?}");
        }
    }
}
