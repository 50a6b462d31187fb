//! `ctask watch`: live events of every workspace under the roots, or of the named ones.

use std::io::{self, Write};
use std::time::Duration;

use clap::Args;
use ctask_core::Error;
use ctask_core::session::log;
use ctask_core::timefmt;
use ctask_core::watch::{Body, Event, WatchOptions, Watcher};
use ctask_core::workspace::{ResolveOptions, resolve};

use crate::{Ctx, output, signals};

/// How long one wait lasts before a signal or a closed output is looked at again.
const TICK: Duration = Duration::from_millis(200);

/// Arguments of `ctask watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Workspaces to watch (directory name, slug, part of a slug, or a path); none: every
    /// workspace under the roots, including ones created later.
    pub query: Vec<String>,
    /// One JSON object per event and line (NDJSON).
    #[arg(long)]
    pub json: bool,
    /// Replay log lines dated at or after this RFC 3339 time first.
    #[arg(long, value_name = "TS")]
    pub since: Option<String>,
    /// Poll every half second instead of using inotify.
    #[arg(long)]
    pub poll: bool,
}

/// Runs `ctask watch` until INT/TERM or until its output is closed (exit 0 either way).
pub fn run(ctx: &Ctx, a: WatchArgs) -> ctask_core::Result<i32> {
    let since = match &a.since {
        Some(s) => Some(timefmt::parse(s).ok_or_else(|| {
            Error::invalid(format!(
                "--since {}: not an RFC 3339 time (e.g. 2026-11-24T10:00:00Z)",
                output::safe(s)
            ))
        })?),
        None => None,
    };
    let settings = ctx.settings()?;
    let mut opts = WatchOptions {
        since,
        poll: a.poll,
        ..WatchOptions::default()
    };
    if a.query.is_empty() {
        opts.roots = vec![
            settings.root.value.clone(),
            settings.project_root.value.clone(),
        ];
    }
    for q in &a.query {
        let all = ResolveOptions {
            include_archived: true,
        };
        opts.workspaces.push(resolve(&settings, q, all)?.dir);
    }
    signals::stop_on_termination();
    let mut w = Watcher::new(opts)?;
    if let Some(why) = w.fallback_reason() {
        output::warn(&format!("{}; polling instead", output::safe(why)));
    }
    output::message(&format!("watching {} workspace(s)", w.workspace_count()));
    let mut out = io::stdout();
    while !signals::stop_requested() && !output_closed() {
        let Some(e) = w.next_event(TICK)? else {
            continue;
        };
        let text = if a.json { e.to_json() } else { human(&e) };
        let r = writeln!(out, "{text}").and_then(|()| out.flush());
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(Error::io("standard output", e)),
        }
    }
    Ok(0)
}

/// One event for a person: time, slug, event, then the fields (or the path of a change),
/// control characters escaped.
fn human(e: &Event) -> String {
    let mut line = format!(
        "{} {} {}",
        e.time(),
        output::safe(&e.slug),
        output::safe(e.name())
    );
    match &e.body {
        Body::Log(l) => {
            for (k, v) in &l.fields {
                line.push(' ');
                line.push_str(&output::safe(k));
                line.push('=');
                line.push_str(&output::safe(&log::quote(v)));
            }
        }
        Body::Change { .. } => {
            line.push(' ');
            line.push_str(&output::safe_path(&e.workspace));
        }
    }
    line
}

/// Whether the reader of standard output went away (a pipe whose other end is closed).
fn output_closed() -> bool {
    let mut p = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n == 1 && p.revents & (libc::POLLERR | libc::POLLHUP) != 0
}
