//! `ctask archive` and `ctask restore`: set a workspace's status in `task.yaml`.

use clap::Args;
use ctask_core::Error;
use ctask_core::manage::set_status;
use ctask_core::session::liveness::State;
use ctask_core::session::status::status_of;
use ctask_core::workspace::{ResolveOptions, Status};

use crate::cmd::delete::{forcing, refuse_busy};
use crate::cmd::resolve_or_archived;
use crate::{Ctx, output};

/// Arguments of `ctask archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Directory name, slug, part of a slug, or a path (archived ones are not matched).
    pub query: String,
    /// Archive even though the workspace has a lease whose state is unknown (another
    /// host's, without a heartbeat). A live session is never overridden.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `ctask restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Directory name, slug, part of a slug, or a path (archived ones included).
    pub query: String,
    /// Restore even though the workspace has a lease whose state is unknown (another
    /// host's, without a heartbeat). A live session is never overridden.
    #[arg(long)]
    pub force: bool,
}

/// Runs `ctask archive`.
pub fn archive(ctx: &Ctx, args: ArchiveArgs) -> ctask_core::Result<i32> {
    change(ctx, &args.query, Status::Archived, false, args.force)
}

/// Runs `ctask restore`.
pub fn restore(ctx: &Ctx, args: RestoreArgs) -> ctask_core::Result<i32> {
    change(ctx, &args.query, Status::Active, true, args.force)
}

fn change(
    ctx: &Ctx,
    query: &str,
    status: Status,
    include_archived: bool,
    force: bool,
) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let opts = ResolveOptions { include_archived };
    let mut ws = resolve_or_archived(ctx, &settings, query, opts, None)?.into_result()?;
    let stale_after_s = settings.stale_after_seconds.value;
    let (verb, done) = match status {
        Status::Archived => ("archive", "archived"),
        Status::Active => ("restore", "restored"),
    };
    if force
        && ws.task.status != status
        && let Ok(st) = status_of(&ws.dir, stale_after_s)
        && st.state == State::Unknown
    {
        forcing(&st);
    }
    let changed = match set_status(&mut ws, status, stale_after_s, force) {
        Err(Error::ActiveSession { owner }) => {
            return Ok(refuse_busy(ctx, verb, &(&ws).into(), &owner, stale_after_s));
        }
        other => other?,
    };
    let name = output::safe(&ws.dir_name);
    if changed && status == Status::Archived {
        output::message(&format!(
            "archived {name}; `{} restore {name}` brings it back",
            ctx.prog
        ));
    } else if changed {
        output::message(&format!("{done} {name}"));
    } else {
        output::message(&format!("{name} is already {}", status.as_str()));
    }
    Ok(0)
}
