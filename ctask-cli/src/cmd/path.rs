//! `ctask path`: print the absolute path of a workspace.

use clap::Args;
use ctask_core::workspace::{ResolveOptions, resolve};

use crate::{Ctx, output};

/// Arguments of `ctask path`.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
}

/// Runs `ctask path`.
pub fn run(ctx: &Ctx, args: PathArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        &args.query,
        ResolveOptions {
            include_archived: true,
        },
    )?;
    output::data(&ws.dir.display().to_string())?;
    Ok(0)
}
