//! A workspace's description completed with its session state (for `list`, `info` and the
//! other faces' listings). Probes only: writes nothing.

use chrono::Utc;

use super::liveness::State;
use super::status::status_of;
use super::timefmt;
use crate::workspace::{
    Kind, LastSessionBrief, SessionBrief, Settings, Status, Workspace, WorkspaceInfo, discover,
};

/// `ws`'s description with its session state, as `ctask info` shows it (writes nothing).
pub fn describe(ws: &Workspace, stale_after_s: u64) -> WorkspaceInfo {
    let mut info = ws.info();
    annotate(&mut info, stale_after_s);
    info
}

/// Fills `info.session` (when a lease exists) and `info.last_session` from the workspace's
/// files. A workspace whose state cannot be read is left as it is.
pub fn annotate(info: &mut WorkspaceInfo, stale_after_s: u64) {
    if info.broken {
        return;
    }
    let Ok(st) = status_of(&info.path, stale_after_s) else {
        return;
    };
    if st.state != State::None {
        info.session = Some(SessionBrief {
            state: st.state.as_str().to_owned(),
            mode: st.mode.map(|m| m.as_str().to_owned()),
            pid: st.lease.as_ref().map(|l| l.pid),
            hostname: st.lease.as_ref().map(|l| l.hostname.clone()),
            heartbeat_age_s: st
                .lease
                .as_ref()
                .and_then(|l| l.heartbeat_age_s(Utc::now())),
            tmux_session: st.tmux_session.clone(),
            attached: st.attached,
            agent_state: st.agent_state.map(|a| a.as_str().to_owned()),
            agent_state_age_s: st.agent_state_age_s,
            agent_message: st.agent_message.clone(),
        });
    }
    if let Some(s) = st.last_summary {
        info.last_session = Some(LastSessionBrief {
            ended_at: s.ended_at.map(|t| timefmt::format(&t)).unwrap_or_default(),
            end_reason: s
                .end_reason
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
        });
    }
}

/// Which workspaces [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Include archived workspaces.
    pub include_archived: bool,
    /// Only this category.
    pub category: Option<String>,
    /// Only tasks or only projects (broken workspaces, whose type is unknown, stay).
    pub kind: Option<Kind>,
    /// At most this many (the most recently updated).
    pub limit: Option<usize>,
}

/// The workspaces under both roots, most recently updated first and broken ones last,
/// each annotated with its session state. Probes only: writes nothing.
pub fn list(settings: &Settings, filter: &ListFilter) -> Vec<WorkspaceInfo> {
    let mut rows: Vec<WorkspaceInfo> = discover(settings)
        .iter()
        .map(|f| f.info())
        .filter(|i| filter.include_archived || i.status != Status::Archived)
        .filter(|i| filter.category.as_ref().is_none_or(|c| &i.category == c))
        .filter(|i| i.broken || filter.kind.is_none_or(|k| i.kind == k))
        .collect();
    rows.sort_by(|a, b| {
        let ka = a.updated_at.as_ref().or(a.created_at.as_ref());
        let kb = b.updated_at.as_ref().or(b.created_at.as_ref());
        kb.cmp(&ka).then_with(|| a.path.cmp(&b.path))
    });
    if let Some(n) = filter.limit {
        rows.truncate(n);
    }
    for r in &mut rows {
        annotate(r, settings.stale_after_seconds.value);
    }
    rows
}
