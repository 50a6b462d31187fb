//! The entry commands — `resume`, `last`, `open` and `new` without `--no-launch` — which
//! start a session in a workspace, launch its agent (or a shell) and end the session when
//! it exits.

use std::io::IsTerminal;

use clap::Args;
use ctask_core::Error;
use ctask_core::session::launch::inherited;
use ctask_core::session::liveness::State;
use ctask_core::session::run::{RunHooks, run_with};
use ctask_core::session::status::{last_worked, status_of};
use ctask_core::session::{Diff, Mode, OnActive, Session, SessionOptions, SummaryBrief};
use ctask_core::workspace::{
    ResolveOptions, SessionMode, Settings, Source, Status, Workspace, resolve,
};

use crate::cmd::launch::{LaunchArgs, agent_argv};
use crate::cmd::resolve_or_archived;
use crate::{Ctx, output, signals};

/// Arguments of `ctask resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Agent command for this launch only.
    #[arg(short, long, value_name = "CMD")]
    pub agent: Option<String>,
    /// Launch options.
    #[command(flatten)]
    pub launch: LaunchArgs,
}

/// Arguments of `ctask last`.
#[derive(Debug, Args)]
pub struct LastArgs {
    /// Agent command for this launch only.
    #[arg(short, long, value_name = "CMD")]
    pub agent: Option<String>,
    /// Launch options.
    #[command(flatten)]
    pub launch: LaunchArgs,
}

/// Arguments of `ctask open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Match archived workspaces too (`-a` as in the reference tool).
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Share a busy workspace without asking, and skip the outside-changes warning.
    #[arg(long)]
    pub force: bool,
    /// Run the shell as a child of ctask (the default unless configured otherwise).
    #[arg(long)]
    pub direct: bool,
    /// Run the shell in tmux, so it survives a closed terminal.
    #[arg(long, conflicts_with = "direct")]
    pub persistent: bool,
    /// Run the shell in tmux and return at once without attaching.
    #[arg(long, conflicts_with = "direct")]
    pub detach: bool,
}

/// Arguments of `ctask attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Directory name, slug, part of a slug, or a path.
    pub query: String,
    /// Agent command, when a new persistent session has to be started.
    #[arg(short, long, value_name = "CMD")]
    pub agent: Option<String>,
    /// Start or adopt without attaching.
    #[arg(long)]
    pub detach: bool,
}

/// Runs `ctask attach`: persistent mode, whatever is configured. Attaching needs a
/// terminal: without one (and without `--detach`) nothing is started and the error says how
/// to go on.
pub fn attach(ctx: &Ctx, a: AttachArgs) -> ctask_core::Result<i32> {
    ctask_core::session::tmux::Tmux::find()?;
    if !(a.detach || std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(Error::invalid(format!(
            "`{prog} attach` needs a terminal (standard input and output); to start or adopt \
             the session without attaching, run `{prog} attach {q} --detach`, then attach from a \
             terminal",
            prog = ctx.prog,
            q = output::safe(&a.query),
        )));
    }
    let settings = ctx.settings()?;
    let opts = ResolveOptions {
        include_archived: false,
    };
    let ws = resolve_or_archived(ctx, &settings, &a.query, opts, None)?.into_result()?;
    let l = LaunchArgs {
        persistent: true,
        detach: a.detach,
        ..LaunchArgs::default()
    };
    crate::cmd::persistent::launch(&settings, &ws, a.agent.as_deref(), &l, a.detach)
}

/// Runs `ctask resume`.
pub fn resume(ctx: &Ctx, a: ResumeArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        &a.query,
        ResolveOptions {
            include_archived: true,
        },
    )?;
    refuse_archived(ctx, &ws)?;
    launch(&settings, &ws, a.agent.as_deref(), &a.launch, false)
}

/// Runs `ctask last`.
pub fn last_cmd(ctx: &Ctx, a: LastArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = last_worked(&settings, ResolveOptions::default())?;
    output::message(&format!(
        "last worked in: {} ({})",
        output::safe(&ws.dir_name),
        output::safe(&ws.task.title)
    ));
    launch(&settings, &ws, a.agent.as_deref(), &a.launch, false)
}

/// Runs `ctask open`.
pub fn open(ctx: &Ctx, a: OpenArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let opts = ResolveOptions {
        include_archived: a.all,
    };
    let ws = resolve_or_archived(ctx, &settings, &a.query, opts, Some("open -a"))?.into_result()?;
    let launch_args = LaunchArgs {
        force: a.force,
        shell: true,
        direct: a.direct,
        persistent: a.persistent,
        detach: a.detach,
        args: Vec::new(),
    };
    launch(&settings, &ws, None, &launch_args, false)
}

/// Direct or persistent: the flags, else an inherited `CTASK_SESSION_MODE` (honoured only
/// when `CTASK_WORKSPACE` is unset or names this workspace), else the configured mode.
fn session_mode(settings: &Settings, ws: &Workspace, l: &LaunchArgs) -> Mode {
    if l.persistent || l.detach {
        return Mode::Persistent;
    }
    if l.direct {
        return Mode::Direct;
    }
    let configured = match settings.session_mode.value {
        SessionMode::Persistent => Mode::Persistent,
        SessionMode::Direct => Mode::Direct,
    };
    if settings.session_mode.source == Source::Env
        && inherited("CTASK_SESSION_MODE", &ws.dir).is_none()
    {
        // Another workspace's session mode, carried in by an agent: not ours.
        return Mode::Direct;
    }
    configured
}

fn refuse_archived(ctx: &Ctx, ws: &Workspace) -> ctask_core::Result<()> {
    if ws.task.status == Status::Archived {
        return Err(Error::invalid(format!(
            "workspace {} is archived; run `{} restore {}` first",
            output::safe(&ws.dir_name),
            ctx.prog,
            output::safe(&ws.dir_name)
        )));
    }
    Ok(())
}

/// Starts a session in `ws` running its agent; returns the agent's exit code.
pub fn launch(
    settings: &Settings,
    ws: &Workspace,
    agent: Option<&str>,
    l: &LaunchArgs,
    newly_created: bool,
) -> ctask_core::Result<i32> {
    if session_mode(settings, ws, l) == Mode::Persistent
        || (!l.direct && crate::cmd::persistent::agent_in_tmux(settings, ws))
    {
        return crate::cmd::persistent::launch(settings, ws, agent, l, l.detach);
    }
    let (argv, label, spec) = agent_argv(ws.agent(settings), agent, l)?;
    let opts = SessionOptions {
        agent: label,
        agent_env: spec.env.clone(),
        force: l.force,
        heartbeat_seconds: settings.heartbeat_seconds.value,
        stale_after_seconds: settings.stale_after_seconds.value,
        summary_manifest_max: settings.summary_manifest_max.value,
        newly_created,
        root: Some(settings.root.value.clone()),
        ..SessionOptions::default()
    };
    signals::forward_termination();
    let mut hooks = CliHooks { force: l.force };
    let result = match run_with(&ws.dir, &argv, opts.clone(), &mut hooks) {
        Err(Error::ActiveSession { owner }) => {
            let interactive = std::io::stdin().is_terminal();
            describe_owner(ws, &owner, settings.stale_after_seconds.value, interactive);
            if !interactive {
                return Ok(output::exit_code(&Error::ActiveSession { owner }));
            }
            if !output::confirm("Join it without a lease (your changes are still recorded)?") {
                output::message("not joining");
                return Ok(0);
            }
            run_with(
                &ws.dir,
                &argv,
                SessionOptions {
                    on_active: OnActive::Coexist,
                    ..opts
                },
                &mut hooks,
            )
        }
        other => other,
    }?;
    for w in &result.warnings {
        output::warn(w);
    }
    if result.workspace_removed {
        output::message(&format!(
            "removed {}: it was new, nothing changed and the agent exited with {}",
            output::safe_path(&ws.dir),
            result.exit_code
        ));
    } else {
        output::message(&format!("session ended: {}", one_line(&result.summary)));
    }
    if let Some(sig) = signals::pending() {
        return Ok(128 + sig);
    }
    Ok(result.exit_code)
}

/// Says who holds the workspace — once, as the error when there is no terminal to ask on,
/// then with how to share it anyway (`--force`). A lease whose liveness cannot be told
/// (another host's, without a readable heartbeat) is never reclaimed: the user is told how
/// to clear it.
fn describe_owner(
    ws: &Workspace,
    owner: &ctask_core::session::Lease,
    stale_after_s: u64,
    interactive: bool,
) {
    let agent = output::safe(owner.agent.as_deref().unwrap_or("?"));
    let unknown = status_of(&ws.dir, stale_after_s)
        .ok()
        .filter(|st| st.state == State::Unknown);
    let state = if unknown.is_some() {
        "may still be running (its state is unknown)"
    } else {
        "is active"
    };
    let text = format!(
        "workspace is busy: session {} (pid {} on {}, agent {agent}) {state}",
        output::safe(&owner.session_id),
        owner.pid,
        output::safe(&owner.hostname)
    );
    if interactive {
        output::message(&text);
    } else {
        output::error(&text);
    }
    if let Some(why) = unknown.and_then(|st| st.diagnostic) {
        output::hint_line(&output::safe(&why));
    }
    if !interactive {
        output::hint_line("--force joins it without a lease (your changes are still recorded)");
    }
}

struct CliHooks {
    force: bool,
}

impl RunHooks for CliHooks {
    fn begun(&mut self, s: &Session) {
        for w in s.warnings() {
            output::warn(&w);
        }
        if let Some(owner) = s.owner() {
            output::message(&format!(
                "sharing the workspace with session {} (pid {} on {}); no lease taken",
                output::safe(&owner.session_id),
                owner.pid,
                output::safe(&owner.hostname)
            ));
        }
        if let Some(last) = s.last_summary() {
            output::message(&format!("last time: {}", one_line(&last)));
        }
        if !self.force
            && let Some(d) = s.outside_changes().filter(|d| !d.is_empty())
        {
            output::warn(&format!(
                "files changed outside a ctask session:\n{}",
                list_changes(&d)
            ));
        }
        signals::shield_interrupts();
    }

    fn spawned(&mut self, pid: u32) {
        signals::child_started(pid);
    }

    fn exited(&mut self) {
        signals::child_finished();
    }
}

/// A summary in one line: when, how it ended, and the change counts.
pub fn one_line(s: &SummaryBrief) -> String {
    let ended = s
        .ended_at
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "?".into());
    let reason = s.end_reason.map_or("?", |r| r.as_str());
    let exit = s
        .exit_code
        .map_or_else(String::new, |c| format!(", exit {c}"));
    format!(
        "{} ended {ended} ({reason}{exit}, {} s): {} added, {} modified, {} deleted, {} renamed",
        output::safe(&s.agent),
        s.duration_seconds,
        s.files_added.len(),
        s.files_modified.len(),
        s.files_deleted.len(),
        s.files_renamed.len()
    )
}

/// A diff as indented lines (`+ added`, `~ modified`, `- deleted`, `> from -> to`), every
/// name made safe for a terminal.
pub fn list_changes(d: &Diff) -> String {
    use output::safe;
    let mut lines = Vec::new();
    lines.extend(d.added.iter().map(|p| format!("  + {}", safe(p))));
    lines.extend(d.modified.iter().map(|p| format!("  ~ {}", safe(p))));
    lines.extend(d.deleted.iter().map(|p| format!("  - {}", safe(p))));
    lines.extend(
        d.renamed
            .iter()
            .map(|r| format!("  > {} -> {}", safe(&r.from), safe(&r.to))),
    );
    lines.join("\n")
}
