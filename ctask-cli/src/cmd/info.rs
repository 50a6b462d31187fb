//! `ctask info`: describe one workspace.

use clap::Args;
use ctask_core::session::overview::describe;
use ctask_core::workspace::{ResolveOptions, WorkspaceInfo, resolve};

use crate::{Ctx, output};

/// Arguments of `ctask info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Print one JSON object (see docs/json.md).
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctask info`.
pub fn run(ctx: &Ctx, args: InfoArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        &args.query,
        ResolveOptions {
            include_archived: true,
        },
    )?;
    let info = describe(&ws, settings.stale_after_seconds.value);
    if args.json {
        output::data(&to_json(&info)?)?;
    } else {
        output::data(&human(&info))?;
    }
    Ok(0)
}

/// JSON text of a serialisable result.
pub fn to_json<T: serde::Serialize>(v: &T) -> ctask_core::Result<String> {
    serde_json::to_string_pretty(v)
        .map_err(|e| ctask_core::Error::invalid(format!("cannot serialise JSON: {e}")))
}

/// The `key: value` lines shown by `ctask info`.
pub fn human(info: &WorkspaceInfo) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("title", info.title.clone()),
        ("slug", info.slug.clone()),
        ("path", output::safe_path(&info.path)),
        ("category", info.category.clone()),
        ("type", info.kind.to_string()),
        ("status", info.status.to_string()),
    ];
    let optional = [
        ("created", &info.created_at),
        ("updated", &info.updated_at),
        ("launch dir", &info.launch_dir),
        ("agent", &info.agent),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            rows.push((k, v.clone()));
        }
    }
    if let Some(s) = &info.session {
        let who = match (s.pid, &s.hostname) {
            (Some(pid), Some(h)) => format!(" (pid {pid} on {h})"),
            _ => String::new(),
        };
        rows.push(("session", format!("{}{who}", s.state)));
        if let Some(a) = &s.agent_state {
            let age = s
                .agent_state_age_s
                .map_or_else(String::new, |t| format!(" for {t} s"));
            let msg = s
                .agent_message
                .as_deref()
                .map_or_else(String::new, |m| format!(": {m}"));
            rows.push(("agent state", format!("{a}{age}{msg}")));
        }
    }
    if let Some(l) = &info.last_session {
        rows.push((
            "last session",
            format!("ended {} ({})", l.ended_at, l.end_reason),
        ));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(k, v)| format!("{:<width$} {}", format!("{k}:"), output::safe(v)))
        .collect::<Vec<_>>()
        .join("\n")
}
