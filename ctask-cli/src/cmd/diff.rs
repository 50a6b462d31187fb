//! `ctask diff`: what changed since the last session ended.

use clap::Args;
use ctask_core::session::{CaptureOptions, diff_since_last};
use ctask_core::workspace::{ResolveOptions, resolve};

use crate::cmd::entry::list_changes;
use crate::cmd::info::to_json;
use crate::{Ctx, output};

/// Arguments of `ctask diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Include files ignored by `.gitignore` / `.ctaskignore`.
    #[arg(long)]
    pub no_ignore: bool,
    /// Print one JSON object (see docs/json.md).
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctask diff`.
pub fn run(ctx: &Ctx, a: DiffArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        &a.query,
        ResolveOptions {
            include_archived: true,
        },
    )?;
    let opts = CaptureOptions {
        respect_ignore: !a.no_ignore,
    };
    let report = diff_since_last(&ws.dir, &opts)?;
    for w in &report.warnings {
        output::warn(w);
    }
    if a.json {
        output::data(&to_json(&report)?)?;
        return Ok(0);
    }
    match (&report.baseline_session_id, report.diff.is_empty()) {
        (None, _) => output::message("no session has ended here yet: nothing to compare with"),
        (Some(id), true) => output::message(&format!(
            "no changes since session {} ended",
            output::safe(id)
        )),
        (Some(id), false) => {
            output::message(&format!(
                "changes since session {} ended:",
                output::safe(id)
            ));
            output::data(&list_changes(&report.diff))?;
        }
    }
    Ok(0)
}
