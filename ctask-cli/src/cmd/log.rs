//! `ctask log`: a workspace's session log.

use clap::Args;
use ctask_core::session::log;
use ctask_core::workspace::{ResolveOptions, resolve};

use crate::cmd::info::to_json;
use crate::{Ctx, output};

/// Arguments of `ctask log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Print a JSON array of `{ts, event, fields}`.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctask log`.
pub fn run(ctx: &Ctx, a: LogArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        &a.query,
        ResolveOptions {
            include_archived: true,
        },
    )?;
    if a.json {
        output::data(&to_json(&log::read(&ws.dir)?)?)?;
        return Ok(0);
    }
    let text = log::read_text(&ws.dir)?;
    if text.is_empty() {
        output::message("no sessions yet");
    } else {
        let lines: Vec<_> = text.trim_end().lines().map(output::safe).collect();
        output::data(&lines.join("\n"))?;
    }
    Ok(0)
}
