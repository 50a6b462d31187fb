//! `ctask delete`: remove a workspace and everything in it, after confirmation.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use ctask_core::Error;
use ctask_core::manage::{check_removable, delete, refuse_if_active};
use ctask_core::session::Lease;
use ctask_core::session::liveness::State;
use ctask_core::session::status::{StatusReport, status_of};
use ctask_core::workspace::{Found, ResolveOptions, Workspace};

use crate::cmd::resolve_or_archived;
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
    /// Delete even though the workspace has a lease whose state is unknown (another
    /// host's, without a heartbeat). A live session is never overridden.
    #[arg(long)]
    pub force: bool,
}

/// Runs `ctask delete`.
pub fn run(ctx: &Ctx, args: DeleteArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let found = resolve_or_archived(
        ctx,
        &settings,
        &args.query,
        ResolveOptions {
            include_archived: args.all,
        },
        Some("delete --all"),
    )?;
    // A broken workspace (task.yaml unreadable) can be deleted too: only its directory
    // and its lease matter here.
    let ws = Target {
        dir: found.dir().to_path_buf(),
        dir_name: found.dir_name().to_owned(),
    };
    if let Found::Broken { error, .. } = &found {
        output::warn(&format!(
            "the workspace is broken: {}",
            output::describe(error)
        ));
    }
    check_removable(&ws.dir, &settings)?;
    if let Some(current) = std::env::var_os("CTASK_WORKSPACE").filter(|w| !w.is_empty())
        && Path::new(&current).canonicalize().ok().as_deref() == Some(ws.dir.as_path())
    {
        return Err(Error::invalid(format!(
            "refusing to delete {}: it is the workspace of the current session ($CTASK_WORKSPACE)",
            output::safe_path(&ws.dir)
        )));
    }
    let stale_after_s = settings.stale_after_seconds.value;
    let st = match refuse_if_active(&ws.dir, stale_after_s, args.force) {
        Err(Error::ActiveSession { owner }) => {
            return Ok(refuse_busy(ctx, "delete", &ws, &owner, stale_after_s));
        }
        other => other?,
    };
    if st.state == State::Unknown {
        forcing(&st);
    }
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::invalid(format!(
                "refusing to delete {} without confirmation: no terminal to ask on; pass --yes",
                output::safe_path(&ws.dir)
            )));
        }
        let note = match st.state {
            State::Stale | State::Unknown => format!(" (it has a {} lease)", st.state.as_str()),
            _ => String::new(),
        };
        let question = format!(
            "delete {}{note} and everything in it?",
            output::paint_err(output::Style::Bold, &output::safe_path(&ws.dir))
        );
        if !output::confirm(&question) {
            output::message("nothing deleted");
            return Ok(0);
        }
    }
    match delete(&ws.dir, &settings, args.force) {
        Err(Error::ActiveSession { owner }) => {
            return Ok(refuse_busy(ctx, "delete", &ws, &owner, stale_after_s));
        }
        other => other?,
    }
    output::message(&format!("deleted {}", output::safe_path(&ws.dir)));
    Ok(0)
}

/// The workspace a whole-workspace command acts on (it may be broken).
pub struct Target {
    /// Its directory.
    pub dir: PathBuf,
    /// The directory's name.
    pub dir_name: String,
}

impl From<&Workspace> for Target {
    fn from(ws: &Workspace) -> Target {
        Target {
            dir: ws.dir.clone(),
            dir_name: ws.dir_name.clone(),
        }
    }
}

/// Says why `verb` (delete, archive, restore) is refused: a live session, or a lease whose
/// state is unknown (then how to go ahead anyway); returns the busy exit code.
pub fn refuse_busy(ctx: &Ctx, verb: &str, ws: &Target, owner: &Lease, stale_after_s: u64) -> i32 {
    let who = format!(
        "session {} (pid {} on {})",
        output::safe(&owner.session_id),
        owner.pid,
        output::safe(&owner.hostname)
    );
    let unknown = status_of(&ws.dir, stale_after_s)
        .ok()
        .filter(|st| st.state == State::Unknown);
    let name = output::safe(&ws.dir_name);
    match unknown {
        Some(st) => {
            output::error(&format!(
                "refusing to {verb} {name}: it may be busy, {who} may still be running (its state is unknown)"
            ));
            if let Some(why) = st.diagnostic {
                output::hint_line(&output::safe(&why));
            }
            output::hint_line(&format!(
                "if that session is gone, `{} {verb} {name} --force` goes ahead anyway",
                ctx.prog
            ));
        }
        None => {
            output::error(&format!(
                "refusing to {verb} {name}: it is busy, {who} is active"
            ));
            output::hint_line("end that session first");
        }
    }
    output::exit_code(&Error::ActiveSession {
        owner: Box::new(owner.clone()),
    })
}

/// Says, with `--force`, whose lease of unknown state is being overridden.
pub fn forcing(st: &StatusReport) {
    if let Some(l) = &st.lease {
        output::warn(&format!(
            "--force: going ahead despite session {} (pid {} on {}), whose state is unknown",
            output::safe(&l.session_id),
            l.pid,
            output::safe(&l.hostname)
        ));
    }
}
