//! A workspace's description completed with its session state (for `list`, `info` and the
//! other faces' listings). Probes only: writes nothing.

use chrono::Utc;

use super::liveness::State;
use super::status::status_of;
use super::timefmt;
use crate::workspace::{LastSessionBrief, SessionBrief, WorkspaceInfo};

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
