//! A session handle's description, one serde type for every face (the C ABI's
//! `ctask_session_info_json`, Python's properties, docs/json.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{Diff, Lease, Mode, RecoveryOutcome, Role, Session, SummaryBrief, timefmt};

/// What a begun session is.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    /// Session id.
    pub session_id: String,
    /// The workspace.
    pub workspace: PathBuf,
    /// Where the agent runs.
    pub launch_dir: PathBuf,
    /// Owner of the lease, or sharing a live owner's workspace.
    pub role: Role,
    /// Direct or persistent.
    pub mode: Mode,
    /// When it began (RFC 3339, UTC).
    pub started_at: String,
    /// Whether it has ended.
    pub ended: bool,
    /// The agent's environment (`CTASK_*` and the agent's own).
    pub env: BTreeMap<String, String>,
    /// What changed while nobody was there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_changes: Option<Diff>,
    /// The previous session's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_summary: Option<SummaryBrief>,
    /// The live owner's lease, when coexisting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Lease>,
    /// A dead owner's session this begin closed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<RecoveredInfo>,
    /// Warnings of begin.
    pub warnings: Vec<String>,
}

/// A dead owner's session closed by begin.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveredInfo {
    /// Its id.
    pub session_id: String,
    /// What became of it.
    pub outcome: RecoveryOutcome,
    /// Its closing summary, when one was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<SummaryBrief>,
}

impl Session {
    /// This session's description.
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            session_id: self.id(),
            workspace: self.workspace(),
            launch_dir: self.launch_dir(),
            role: self.role(),
            mode: self.mode(),
            started_at: timefmt::format(&self.started_at()),
            ended: self.outcome().is_some(),
            env: self.env(),
            outside_changes: self.outside_changes(),
            last_summary: self.last_summary(),
            owner: self.owner(),
            recovered: self.recovered().map(|r| RecoveredInfo {
                session_id: r.session_id,
                outcome: r.outcome,
                summary: r.summary,
            }),
            warnings: self.warnings(),
        }
    }
}
