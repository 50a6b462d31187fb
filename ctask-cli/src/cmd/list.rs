//! `ctask list`: the workspaces under both roots.

use clap::Args;
use ctask_core::session::overview::{self, ListFilter};
use ctask_core::workspace::{Kind, WorkspaceInfo};

use crate::Ctx;
use crate::cmd::info::to_json;
use crate::output::{self, Style};

/// Arguments of `ctask list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Include archived workspaces.
    #[arg(short, long)]
    pub all: bool,
    /// Only this category.
    #[arg(short, long, value_name = "CAT")]
    pub category: Option<String>,
    /// At most N workspaces (the most recently updated).
    #[arg(short = 'n', long = "limit", value_name = "N")]
    pub limit: Option<usize>,
    /// Only projects.
    #[arg(long, conflicts_with = "tasks")]
    pub projects: bool,
    /// Only tasks.
    #[arg(long, visible_alias = "task")]
    pub tasks: bool,
    /// Print only directory names, one per line.
    #[arg(long, conflicts_with = "json")]
    pub names: bool,
    /// Print one JSON array (see docs/json.md).
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctask list`.
pub fn run(ctx: &Ctx, args: ListArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let kind = match (args.projects, args.tasks) {
        (true, _) => Some(Kind::Project),
        (_, true) => Some(Kind::Task),
        _ => None,
    };
    let rows = overview::list(
        &settings,
        &ListFilter {
            include_archived: args.all,
            category: args.category.clone(),
            kind,
            limit: args.limit,
        },
    );
    for r in rows.iter().filter(|r| r.broken) {
        if let Some(e) = &r.error {
            output::warn(&format!("broken workspace: {}", output::safe(e)));
        }
    }

    if args.json {
        output::data(&to_json(&rows)?)?;
    } else if args.names {
        for r in &rows {
            output::data(&output::safe(&r.dir_name))?;
        }
    } else if rows.is_empty() {
        output::message(&format!(
            "no workspaces under {}; create one with `{} new TITLE`",
            output::safe_path(&settings.root.value),
            ctx.prog
        ));
    } else {
        output::data(&table(&rows))?;
    }
    Ok(0)
}

fn table(rows: &[WorkspaceInfo]) -> String {
    let header = [
        "NAME", "TYPE", "CATEGORY", "STATUS", "SESSION", "AGENT", "LAST", "UPDATED", "TITLE",
    ]
    .map(String::from);
    let now = chrono::Utc::now();
    let mut lines: Vec<[String; 9]> = vec![header];
    for r in rows {
        let updated = r
            .updated_at
            .as_ref()
            .or(r.created_at.as_ref())
            .map(|t| local_time(t))
            .unwrap_or_else(|| "-".to_string());
        let status = if r.broken {
            "broken".to_string()
        } else {
            r.status.to_string()
        };
        lines.push([
            output::safe(&r.dir_name).into_owned(),
            r.kind.to_string(),
            output::safe(&r.category).into_owned(),
            status,
            session_marker(r),
            agent_marker(r),
            last_age(r, now),
            output::safe(&updated).into_owned(),
            output::safe(&r.title).into_owned(),
        ]);
    }
    let mut widths = [0usize; 9];
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    lines
        .iter()
        .enumerate()
        .map(|(row, l)| {
            let mut s = String::new();
            for (i, c) in l.iter().enumerate() {
                let cell = if i + 1 == l.len() {
                    c.clone()
                } else {
                    format!("{c:<w$}  ", w = widths[i])
                };
                // Colour is applied after padding, so escape sequences never skew columns.
                let style = match (row, i, c.as_str()) {
                    (0, _, _) => Some(Style::Bold),
                    (_, 4, "* active") => Some(Style::Green),
                    (_, 4, "stale" | "unknown") | (_, 3, "broken") => Some(Style::Yellow),
                    (_, 5, c) if c.starts_with("waiting") => Some(Style::Yellow),
                    (_, 3, "archived") => Some(Style::Dim),
                    _ => None,
                };
                match style {
                    Some(st) => {
                        let trimmed = cell.trim_end();
                        let pad = &cell[trimmed.len()..];
                        s.push_str(&output::paint_out(st, trimmed));
                        s.push_str(pad);
                    }
                    None => s.push_str(&cell),
                }
            }
            s.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `* active` for a live session, the state name for a stale or unknown lease, `-` otherwise.
fn session_marker(r: &WorkspaceInfo) -> String {
    match &r.session {
        Some(s) if s.state == "active" => "* active".to_string(),
        Some(s) => s.state.clone(),
        None => "-".to_string(),
    }
}

/// The agent's state and how long it has held it (`waiting 3m`), `-` when none is set.
fn agent_marker(r: &WorkspaceInfo) -> String {
    match r
        .session
        .as_ref()
        .and_then(|s| Some((s.agent_state.as_ref()?, s)))
    {
        Some((a, s)) => match s.agent_state_age_s {
            Some(age) => format!("{} {}", output::safe(a), short_age(age)),
            None => output::safe(a).into_owned(),
        },
        None => "-".to_string(),
    }
}

/// Seconds as `12s`, `3m`, `2h` or `4d`.
fn short_age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// How long ago the last session ended (`3m ago`), `-` when none has.
fn last_age(r: &WorkspaceInfo, now: chrono::DateTime<chrono::Utc>) -> String {
    let Some(t) = r
        .last_session
        .as_ref()
        .and_then(|l| chrono::DateTime::parse_from_rfc3339(&l.ended_at).ok())
    else {
        return "-".to_string();
    };
    let secs = (now - t.with_timezone(&chrono::Utc)).num_seconds();
    format!("{} ago", short_age(secs))
}

/// An RFC 3339 time shown as local `YYYY-MM-DD HH:MM`.
fn local_time(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => t.to_string(),
    }
}
