//! `ctask state`: the agent reports what it is doing (working, waiting, idle, done).

use std::path::Path;

use clap::Args;
use ctask_core::session::state::{AgentState, Setter, set_state};
use ctask_core::workspace::{ResolveOptions, Workspace, resolve};

use crate::cmd::info::to_json;
use crate::{Ctx, output};

/// Arguments of `ctask state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// working, waiting, idle or done.
    #[arg(value_parser = ["working", "waiting", "idle", "done"])]
    pub state: String,
    /// A short note shown with the state (one line of plain text, at most 1024 bytes).
    #[arg(long, short)]
    pub message: Option<String>,
    /// Workspace; without it: `$CTASK_WORKSPACE` (set inside a session).
    pub query: Option<String>,
    /// Print what was set as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctask state`.
pub fn run(ctx: &Ctx, a: StateArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let state: AgentState = a.state.parse()?;
    let ws = match &a.query {
        Some(q) => resolve(
            &settings,
            q,
            ResolveOptions {
                include_archived: true,
            },
        )?,
        None => match std::env::var_os("CTASK_WORKSPACE").filter(|w| !w.is_empty()) {
            Some(w) => Workspace::open(Path::new(&w))?,
            None => {
                return Err(ctask_core::Error::invalid(
                    "no workspace given and CTASK_WORKSPACE is not set (run it inside a \
                     session, or name the workspace)",
                ));
            }
        },
    };
    let setter = Setter {
        session_id: std::env::var("CTASK_SESSION_ID")
            .ok()
            .filter(|s| !s.is_empty()),
    };
    let change = set_state(
        &ws.dir,
        state,
        a.message.as_deref(),
        &setter,
        settings.stale_after_seconds.value,
    )?;
    if a.json {
        output::data(&to_json(&change)?)?;
    } else {
        output::message(&format!(
            "{}: agent state {}",
            output::safe_path(&ws.dir),
            change.state
        ));
    }
    Ok(0)
}
