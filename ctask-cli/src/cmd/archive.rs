//! `ctask archive` and `ctask restore`: set a workspace's status in `task.yaml`.

use clap::Args;
use ctask_core::workspace::manage::set_status;
use ctask_core::workspace::{ResolveOptions, Status, resolve};

use crate::{Ctx, output};

/// Arguments of `ctask archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Directory name, slug, part of a slug, or a path (archived ones are not matched).
    pub query: String,
}

/// Arguments of `ctask restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Directory name, slug, part of a slug, or a path (archived ones included).
    pub query: String,
}

/// Runs `ctask archive`.
pub fn archive(ctx: &Ctx, args: ArchiveArgs) -> ctask_core::Result<i32> {
    change(ctx, &args.query, Status::Archived, false)
}

/// Runs `ctask restore`.
pub fn restore(ctx: &Ctx, args: RestoreArgs) -> ctask_core::Result<i32> {
    change(ctx, &args.query, Status::Active, true)
}

fn change(
    ctx: &Ctx,
    query: &str,
    status: Status,
    include_archived: bool,
) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let mut ws = resolve(&settings, query, ResolveOptions { include_archived })?;
    let changed = set_status(&mut ws, status, settings.stale_after_seconds.value)?;
    let verb = match status {
        Status::Archived => "archived",
        Status::Active => "restored",
    };
    if changed && status == Status::Archived {
        output::message(&format!(
            "archived {}; `{} restore {}` brings it back",
            ws.dir_name, ctx.prog, ws.dir_name
        ));
    } else if changed {
        output::message(&format!("{verb} {}", ws.dir_name));
    } else {
        output::message(&format!("{} is already {}", ws.dir_name, status.as_str()));
    }
    Ok(0)
}
