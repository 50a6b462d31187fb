//! Read-only views of a workspace's sessions: its status (lease state, owner, last summary)
//! and the changes since the last session ended. Probers never write anything.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::diff::{self, Diff};
use super::lease::{Lease, Mode};
use super::liveness::{self, State};
use super::manifest::{self, CaptureOptions};
use super::paths::CtaskPaths;
use super::state::{AgentState, AgentStatus};
use super::summary::{self, Omitted, SummaryBrief, SummaryFile};
use super::timefmt;
use super::tmux::Tmux;
use crate::error::{Error, Result};
use crate::workspace::{Found, ResolveOptions, Settings, Status, Workspace, discover};

/// A workspace's session status.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// `none`, `active`, `stale` or `unknown`.
    pub state: State,
    /// Mode of the live or stale session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The lease, when one parses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Seconds since the owner's last heartbeat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_age_s: Option<i64>,
    /// tmux session of a persistent session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmux_session: Option<String>,
    /// Whether a client is attached to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attached: Option<bool>,
    /// What the agent says it is doing (`working`, `waiting`, `idle`, `done`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_state: Option<AgentState>,
    /// When the agent state was set.
    #[serde(skip_serializing_if = "Option::is_none", with = "timefmt::opt")]
    pub agent_state_at: Option<DateTime<Utc>>,
    /// Seconds since the agent state was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_state_age_s: Option<i64>,
    /// The agent's message with its state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_message: Option<String>,
    /// Why the state is stale or unknown, or why the last summary could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
    /// The last ended session's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_summary: Option<SummaryBrief>,
}

/// The status of workspace `dir` (shared-lock probe; writes nothing).
pub fn status(dir: &Path, stale_after_s: u64) -> Result<StatusReport> {
    let ws = Workspace::open(dir)?;
    status_of(&ws.dir, stale_after_s)
}

/// [`status`] for an already opened workspace directory.
pub fn status_of(ws_dir: &Path, stale_after_s: u64) -> Result<StatusReport> {
    let paths = CtaskPaths::new(ws_dir);
    let probe = liveness::probe(&paths.dir, stale_after_s)?;
    let mut diagnostic = probe.diagnostic;
    let last_summary = match summary::read::<Omitted>(&paths.summary)? {
        SummaryFile::Present(s) => Some(*s),
        SummaryFile::Absent => None,
        SummaryFile::Unreadable(d) => {
            diagnostic
                .get_or_insert_with(|| format!("{} is unreadable ({d})", paths.summary.display()));
            None
        }
    };
    // The lease was read before the summary: a summary naming the lease's session means
    // that session ended in between (its summary is written before its lease goes).
    let ended = probe.lease.as_ref().is_some_and(|l| {
        last_summary
            .as_ref()
            .is_some_and(|s| s.session_id == l.session_id)
    });
    let state = if ended { State::None } else { probe.state };
    let live = state != State::None;
    let lease = probe.lease.filter(|_| live);
    let agent = lease.as_ref().and_then(|l| AgentStatus::of(l, Utc::now()));
    Ok(StatusReport {
        agent_state: agent.as_ref().map(|a| a.state),
        agent_state_at: agent.as_ref().and_then(|a| a.at),
        agent_state_age_s: agent.as_ref().and_then(|a| a.age_s),
        agent_message: agent.and_then(|a| a.message),
        state,
        mode: lease.as_ref().map(Lease::session_mode),
        heartbeat_age_s: lease.as_ref().and_then(|l| l.heartbeat_age_s(Utc::now())),
        tmux_session: lease.as_ref().and_then(|l| l.tmux_session.clone()),
        attached: lease
            .as_ref()
            .and_then(|l| l.tmux_session.as_deref())
            .filter(|_| state == State::Active)
            .and_then(|name| Tmux::find().ok()?.attached(name)),
        lease,
        diagnostic,
        last_summary,
    })
}

/// Changes since the last session ended.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// `last_session` or `none`.
    pub baseline: &'static str,
    /// The session whose end manifest is the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_session_id: Option<String>,
    /// When that session ended.
    #[serde(skip_serializing_if = "Option::is_none", with = "timefmt::opt")]
    pub since: Option<DateTime<Utc>>,
    /// The changes.
    #[serde(flatten)]
    pub diff: Diff,
    /// Problems met on the way (e.g. an unreadable summary), for the caller to show.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Captures workspace `dir` and diffs it against the last ended session's end manifest
/// (during a live session too; it never repeats an old summary's lists). Writes nothing.
pub fn diff_since_last(dir: &Path, opts: &CaptureOptions) -> Result<DiffReport> {
    let ws = Workspace::open(dir)?;
    let paths = CtaskPaths::new(&ws.dir);
    let mut warnings = Vec::new();
    let last = super::baseline::load(&paths, &ws.dir, opts, &mut warnings)?;
    let (Some(summary), Some(base)) = (last.summary, last.baseline) else {
        return Ok(DiffReport {
            baseline: "none",
            baseline_session_id: None,
            since: None,
            diff: Diff::default(),
            warnings,
        });
    };
    let capture = manifest::capture(&ws.dir, opts, base.cache.then_some(&base.manifest))?;
    Ok(DiffReport {
        baseline: "last_session",
        baseline_session_id: Some(summary.session_id),
        since: summary.ended_at,
        diff: diff::diff(&base.manifest, &capture.manifest),
        warnings,
    })
}

/// A status together with the workspace it belongs to (for listings).
#[derive(Debug, Clone, Serialize)]
pub struct NamedStatus {
    /// Workspace directory.
    pub path: std::path::PathBuf,
    /// Its directory name.
    pub dir_name: String,
    /// Its status.
    #[serde(flatten)]
    pub status: StatusReport,
}

/// The workspace `last` means (docs/design.md §3): the one whose last session ended most recently;
/// a workspace without an ended session counts by its `updated_at` (else `created_at`).
/// Archived workspaces only with `include_archived`; broken ones never. Reads only.
pub fn last_worked(settings: &Settings, opts: ResolveOptions) -> Result<Workspace> {
    discover(settings)
        .into_iter()
        .filter_map(|f| match f {
            Found::Ok(w) if opts.include_archived || w.task.status != Status::Archived => Some(*w),
            _ => None,
        })
        .map(|w| {
            let ended = match summary::read::<Omitted>(&CtaskPaths::new(&w.dir).summary) {
                Ok(SummaryFile::Present(s)) => s.ended_at,
                _ => None,
            };
            let when = ended.or(w.task.updated_at).or(w.task.created_at);
            (when, w)
        })
        .max_by_key(|(when, _)| *when)
        .map(|(_, w)| w)
        .ok_or_else(|| Error::NotFound {
            query: "last".into(),
        })
}
