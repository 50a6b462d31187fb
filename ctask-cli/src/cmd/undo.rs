//! `ctask history`, `ctask undo` and `ctask show`: recorded sessions, giving one back, and
//! a stored content (docs/undo.md).

use std::io::Write;

use clap::{Args, ValueEnum};
use ctask_core::Error;
use ctask_core::session::{CaptureOptions, SessionOptions};
use ctask_core::snapshot::{self, At, ItemStatus, UndoAction, UndoOptions};
use ctask_core::workspace::{ResolveOptions, Settings, Workspace, resolve};

use crate::cmd::info::to_json;
use crate::{Ctx, output};

/// Arguments of `ctask history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Print one JSON object (see docs/json.md).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `ctask undo`.
#[derive(Debug, Args)]
pub struct UndoArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Only these workspace-relative paths (a directory means everything below it).
    pub paths: Vec<String>,
    /// The session to undo (default: the last one that ended; see `ctask history`).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Undo the changes made before that session, while nobody was there.
    #[arg(long)]
    pub outside: bool,
    /// Say what would be done; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite files changed since (their content is kept first); skip what cannot be
    /// restored.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object (see docs/json.md).
    #[arg(long)]
    pub json: bool,
}

/// Which side of a change `ctask show` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AtArg {
    /// As the session found it.
    Start,
    /// As the session left it.
    End,
}

/// Arguments of `ctask show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Workspace-relative path of the file.
    pub path: String,
    /// The session (default: the newest that changed the path).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// The content at the start or at the end of that session.
    #[arg(long, value_enum, default_value = "end")]
    pub at: AtArg,
}

fn workspace(ctx: &Ctx, query: &str) -> ctask_core::Result<(Settings, Workspace)> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        query,
        ResolveOptions {
            include_archived: false,
        },
    )?;
    Ok((settings, ws))
}

/// Runs `ctask history`.
pub fn history(ctx: &Ctx, a: HistoryArgs) -> ctask_core::Result<i32> {
    let (_, ws) = workspace(ctx, &a.query)?;
    let report = snapshot::history(&ws.dir)?;
    for w in &report.warnings {
        output::warn(&output::safe(w));
    }
    if a.json {
        output::data(&to_json(&report)?)?;
        return Ok(0);
    }
    if report.sessions.is_empty() {
        output::message("no recorded sessions with snapshots here yet");
        return Ok(0);
    }
    let mut lines = Vec::new();
    for s in &report.sessions {
        let when = s
            .ended_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into());
        let c = &s.changes;
        let o = &s.outside;
        let state = if s.restorable {
            "restorable".to_owned()
        } else {
            format!("not restorable ({} path(s))", s.not_restorable.len())
        };
        lines.push(format!(
            "{when}  {}  {}  {}  +{} ~{} -{}  outside +{} ~{} -{}  {state}",
            output::safe(&s.session_id),
            s.kind.as_str(),
            output::safe(&s.agent),
            c.added,
            c.modified,
            c.deleted,
            o.added,
            o.modified,
            o.deleted,
        ));
    }
    output::data(&lines.join("\n"))?;
    Ok(0)
}

/// Runs `ctask undo`.
pub fn undo(ctx: &Ctx, a: UndoArgs) -> ctask_core::Result<i32> {
    let (settings, ws) = workspace(ctx, &a.query)?;
    let sopts = SessionOptions {
        heartbeat_seconds: settings.heartbeat_seconds.value,
        stale_after_seconds: settings.stale_after_seconds.value,
        root: Some(settings.root.value.clone()),
        capture: CaptureOptions::default(),
        snapshots: snapshot::Settings::for_workspace(&settings, &ws),
        ..SessionOptions::default()
    };
    let opts = UndoOptions {
        session_id: a.session.clone(),
        outside: a.outside,
        paths: a.paths.clone(),
        dry_run: a.dry_run,
        force: a.force,
    };
    let report = match snapshot::undo(&ws.dir, &opts, sopts) {
        Err(Error::ActiveSession { owner }) => {
            let e = Error::ActiveSession { owner };
            output::error(&format!(
                "{}; undo waits until that session has ended",
                output::describe(&e)
            ));
            return Ok(output::exit_code(&e));
        }
        other => other?,
    };
    for w in &report.warnings {
        output::warn(&output::safe(w));
    }
    let blocked = !a.force && report.blocking().next().is_some();
    if a.json {
        output::data(&to_json(&report)?)?;
    } else {
        let mut lines = Vec::new();
        for i in &report.items {
            let verb = match i.action {
                UndoAction::Restore => "restore",
                UndoAction::Remove => "remove",
                UndoAction::Recreate => "recreate",
            };
            let state = match i.status {
                ItemStatus::Ok => String::new(),
                ItemStatus::Unchanged => "  (already as before)".into(),
                ItemStatus::Conflict => format!(
                    "  CONFLICT: {}{}",
                    i.reason.as_deref().unwrap_or_default(),
                    if i.overwritten_kept {
                        " (its content is kept)"
                    } else {
                        ""
                    }
                ),
                ItemStatus::NotRestorable => format!(
                    "  NOT RESTORABLE: {}",
                    i.reason.as_deref().unwrap_or_default()
                ),
            };
            lines.push(format!("{verb:8} {}{state}", output::safe(&i.path)));
        }
        if !lines.is_empty() {
            output::data(&lines.join("\n"))?;
        }
        let target = output::safe(&report.target);
        if a.dry_run {
            output::message(&format!("dry run: nothing written (session {target})"));
        } else if blocked {
            output::error(&format!(
                "nothing was changed: {} path(s) changed since session {target} or cannot be restored",
                report.blocking().count()
            ));
        } else if report.applied {
            output::message(&format!(
                "undid session {target}{}; `{} undo {}` again redoes it",
                if a.outside { " (outside changes)" } else { "" },
                ctx.prog,
                output::safe(&a.query)
            ));
        }
    }
    if blocked && !a.dry_run {
        output::hint_line(&format!(
            "name the other paths (`{} undo {} PATH…`), or use --force to overwrite (the current content is kept)",
            ctx.prog,
            output::safe(&a.query)
        ));
        return Ok(1);
    }
    Ok(0)
}

/// Runs `ctask show`.
pub fn show(ctx: &Ctx, a: ShowArgs) -> ctask_core::Result<i32> {
    let (_, ws) = workspace(ctx, &a.query)?;
    let at = match a.at {
        AtArg::Start => At::Start,
        AtArg::End => At::End,
    };
    let bytes = snapshot::show(&ws.dir, &a.path, a.session.as_deref(), at)?;
    let mut out = std::io::stdout().lock();
    match out.write_all(&bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::io("standard output", e)),
    }
}
