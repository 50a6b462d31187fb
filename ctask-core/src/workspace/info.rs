//! The serialisable description of a workspace shared by every face (`--json`, C, Python).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::workspace::taskfile::{Kind, Status};

/// One workspace as reported by `list`, `info` and the other faces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    /// Absolute path of the workspace directory.
    pub path: PathBuf,
    /// Name of the workspace directory (`<YYYY-MM-DD>_<slug>`).
    pub dir_name: String,
    /// Slug (from `task.yaml`, or from the directory name when broken).
    pub slug: String,
    /// Title (empty when broken).
    pub title: String,
    /// Category.
    pub category: String,
    /// `task` or `project`.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// `active` or `archived`.
    pub status: Status,
    /// Creation time (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update of `task.yaml` (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Launch directory relative to the workspace, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_dir: Option<String>,
    /// The agent named in `task.yaml` (its type, or the command of a custom agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Present and `true` when `task.yaml` cannot be read.
    #[serde(default, skip_serializing_if = "is_false")]
    pub broken: bool,
    /// Why the workspace is broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The session in the workspace now, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionBrief>,
    /// The last ended session, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_session: Option<LastSessionBrief>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The current session of a workspace, in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionBrief {
    /// `active`, `stale` or `unknown`.
    pub state: String,
    /// `direct` or `persistent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Owner process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Owner host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Seconds since the last heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_age_s: Option<i64>,
    /// tmux session name (persistent mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmux_session: Option<String>,
    /// Whether a tmux client is attached (persistent mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached: Option<bool>,
    /// What the agent says it is doing (`working`, `waiting`, `idle`, `done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_state: Option<String>,
    /// Seconds since the agent state was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_state_age_s: Option<i64>,
    /// The agent's message with its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_message: Option<String>,
}

/// The last ended session of a workspace, in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastSessionBrief {
    /// When it ended (RFC 3339, UTC).
    pub ended_at: String,
    /// Why it ended.
    pub end_reason: String,
}
