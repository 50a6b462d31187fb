//! `ctask delete`: remove a workspace and everything in it, after confirmation.

use std::io::IsTerminal;
use std::path::Path;

use clap::Args;
use ctask_core::Error;
use ctask_core::session::liveness::State;
use ctask_core::workspace::manage::{check_removable, delete, refuse_if_active};
use ctask_core::workspace::{ResolveOptions, resolve};

use crate::{Ctx, output};

/// Arguments of `ctask delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Delete without asking (required when there is no terminal to ask on).
    #[arg(short, long)]
    pub yes: bool,
    /// Match archived workspaces too.
    #[arg(short, long)]
    pub all: bool,
}

/// Runs `ctask delete`.
pub fn run(ctx: &Ctx, args: DeleteArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        &args.query,
        ResolveOptions {
            include_archived: args.all,
        },
    )?;
    check_removable(&ws.dir, &settings)?;
    if let Some(current) = std::env::var_os("CTASK_WORKSPACE").filter(|w| !w.is_empty())
        && Path::new(&current).canonicalize().ok().as_deref() == Some(ws.dir.as_path())
    {
        return Err(Error::invalid(format!(
            "refusing to delete {}: it is the workspace of the current session ($CTASK_WORKSPACE)",
            ws.dir.display()
        )));
    }
    let st = refuse_if_active(&ws.dir, settings.stale_after_seconds.value)?;
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::invalid(format!(
                "refusing to delete {} without confirmation: no terminal to ask on; pass --yes",
                ws.dir.display()
            )));
        }
        let note = match st.state {
            State::Stale | State::Unknown => format!(" (it has a {} lease)", st.state.as_str()),
            _ => String::new(),
        };
        let question = format!(
            "delete {}{note} and everything in it?",
            output::paint_err(output::Style::Bold, &ws.dir.display().to_string())
        );
        if !output::confirm(&question) {
            output::message("nothing deleted");
            return Ok(0);
        }
    }
    delete(&ws.dir, &settings)?;
    output::message(&format!("deleted {}", ws.dir.display()));
    Ok(0)
}
