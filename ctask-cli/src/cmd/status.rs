//! `ctask status`: who is in a workspace now, and its last session.

use std::path::{Path, PathBuf};

use clap::Args;
use ctask_core::session::liveness::State;
use ctask_core::session::status::{NamedStatus, StatusReport, status_of};
use ctask_core::workspace::{ResolveOptions, Settings, TASK_FILE, Workspace, discover, resolve};

use crate::cmd::entry::one_line;
use crate::cmd::info::to_json;
use crate::{Ctx, output};

/// Arguments of `ctask status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Workspace; without it: the one containing the current directory, else
    /// `$CTASK_WORKSPACE`, else every workspace that has a lease.
    pub query: Option<String>,
    /// Print JSON (one object for one workspace, an array otherwise).
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctask status`.
pub fn run(ctx: &Ctx, a: StatusArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let stale = settings.stale_after_seconds.value;
    let one = match &a.query {
        Some(q) => Some(resolve(
            &settings,
            q,
            ResolveOptions {
                include_archived: true,
            },
        )?),
        None => implicit_workspace()?,
    };
    if let Some(ws) = one {
        let st = status_of(&ws.dir, stale)?;
        if a.json {
            output::data(&to_json(&st)?)?;
        } else {
            output::data(&human(&ws.dir, &st))?;
        }
        return Ok(0);
    }
    let all = leased(&settings, stale);
    if a.json {
        output::data(&to_json(&all)?)?;
    } else if all.is_empty() {
        output::message("no workspace has a session");
    } else {
        let text: Vec<String> = all.iter().map(|n| human(&n.path, &n.status)).collect();
        output::data(&text.join("\n\n"))?;
    }
    Ok(0)
}

/// The workspace containing the current directory, else the one `$CTASK_WORKSPACE` names.
fn implicit_workspace() -> ctask_core::Result<Option<Workspace>> {
    if let Ok(cwd) = std::env::current_dir()
        && let Some(dir) = cwd.ancestors().find(|d| d.join(TASK_FILE).is_file())
    {
        return Workspace::open(dir).map(Some);
    }
    match std::env::var_os("CTASK_WORKSPACE").filter(|w| !w.is_empty()) {
        Some(w) => Workspace::open(Path::new(&w)).map(Some),
        None => Ok(None),
    }
}

/// Every discovered workspace whose lease state is not `none`.
fn leased(settings: &Settings, stale: u64) -> Vec<NamedStatus> {
    discover(settings)
        .into_iter()
        .filter(|f| !f.is_broken())
        .filter_map(|f| {
            let path: PathBuf = f.dir().to_path_buf();
            let st = status_of(&path, stale).ok()?;
            (st.state.as_str() != "none").then(|| NamedStatus {
                path,
                dir_name: f.dir_name().to_owned(),
                status: st,
            })
        })
        .collect()
}

/// The human form of a status.
pub fn human(dir: &Path, st: &StatusReport) -> String {
    use output::safe;
    let state = match st.state {
        State::None => "no session",
        other => other.as_str(),
    };
    let mut lines = vec![format!("{}: {state}", output::safe_path(dir))];
    if let Some(l) = &st.lease {
        let age = st.heartbeat_age_s.map_or_else(
            || "no heartbeat".to_owned(),
            |a| format!("heartbeat {a} s ago"),
        );
        lines.push(format!(
            "  session {} — pid {} on {}, agent {}, {} mode, {age}",
            safe(&l.session_id),
            l.pid,
            safe(&l.hostname),
            safe(l.agent.as_deref().unwrap_or("?")),
            l.session_mode().as_str()
        ));
    }
    if let Some(a) = st.agent_state {
        let age = st
            .agent_state_age_s
            .map_or_else(String::new, |s| format!(" for {s} s"));
        let msg = st
            .agent_message
            .as_deref()
            .map_or_else(String::new, |m| format!(": {}", safe(m)));
        lines.push(format!("  agent {a}{age}{msg}"));
    }
    if let Some(name) = &st.tmux_session {
        let name = safe(name);
        lines.push(match st.attached {
            Some(true) => format!("  tmux session {name} (attached)"),
            Some(false) => format!("  tmux session {name} (not attached)"),
            None => format!("  tmux session {name}"),
        });
    }
    if let Some(d) = &st.diagnostic {
        lines.push(format!("  note: {}", safe(d)));
    }
    if let Some(s) = &st.last_summary {
        lines.push(format!("  last session: {}", one_line(s)));
    }
    lines.join("\n")
}
