//! Persistent mode of the entry commands (`--persistent`, `--detach`, `ctask attach`): the
//! agent lives in tmux and a supervisor owns the session. Three entries: create, passive
//! reattach (a live owner: attach only, write nothing) and adopt (an orphaned tmux session).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use ctask_core::Error;
use ctask_core::session::SessionOptions;
use ctask_core::session::persistent::{self, Entry, Started};
use ctask_core::session::status::status_of;
use ctask_core::session::tmux::Tmux;
use ctask_core::workspace::{Settings, Workspace};

use crate::cmd::launch::{LaunchArgs, agent_argv};
use crate::output;

/// Runs `ws`'s agent in tmux; `detach` returns as soon as the tmux session runs.
pub fn launch(
    settings: &Settings,
    ws: &Workspace,
    agent: Option<&str>,
    l: &LaunchArgs,
    detach: bool,
) -> ctask_core::Result<i32> {
    let (tmux, entry) = persistent::entry(ws, settings.stale_after_seconds.value)?;
    let interactive = !detach && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let helper = crate::host::self_cmd()?;
    match entry {
        Entry::Reattach {
            tmux_session,
            owner,
        } => {
            let id = owner.map(|owner| {
                output::message(&format!(
                    "session {} (pid {} on {}) runs in tmux session {tmux_session}",
                    output::safe(&owner.session_id),
                    owner.pid,
                    output::safe(&owner.hostname)
                ));
                owner.session_id
            });
            attach_or_report(
                &tmux,
                settings,
                ws,
                &tmux_session,
                id.as_deref(),
                interactive,
            )
        }
        Entry::Adopt { .. } => {
            let opts = options(settings, ws, "adopted".into(), Default::default());
            let started = persistent::adopt_detached(&ws.dir, &opts, &helper)?;
            report(&started);
            attach_started(&tmux, settings, ws, &started, interactive)
        }
        Entry::Create { .. } => {
            let (argv, label, spec) = agent_argv(ws.agent(settings), agent, l)?;
            if let Some(program) = argv.first() {
                ctask_core::session::launch::find_program(program)?;
            }
            let opts = options(settings, ws, label, spec.env);
            let (_, started) = persistent::start(&ws.dir, argv, &opts, &helper)?;
            report(&started);
            attach_started(&tmux, settings, ws, &started, interactive)
        }
    }
}

/// Whether `ws`'s lease names a tmux session that still exists (see
/// [`ctask_core::session::tmux::agent_runs_in_tmux`]).
pub fn agent_in_tmux(settings: &Settings, ws: &Workspace) -> bool {
    status_of(&ws.dir, settings.stale_after_seconds.value)
        .ok()
        .and_then(|st| st.lease)
        .is_some_and(|l| ctask_core::session::tmux::agent_runs_in_tmux(&l))
}

/// The session options of a persistent launch: label, agent environment, the configured
/// intervals, root and the workspace's snapshot settings.
fn options(
    settings: &Settings,
    ws: &Workspace,
    agent: String,
    agent_env: std::collections::BTreeMap<String, String>,
) -> SessionOptions {
    SessionOptions {
        agent,
        agent_env,
        mode: ctask_core::session::Mode::Persistent,
        heartbeat_seconds: settings.heartbeat_seconds.value,
        stale_after_seconds: settings.stale_after_seconds.value,
        summary_manifest_max: settings.summary_manifest_max.value,
        root: Some(settings.root.value.clone()),
        hooks: settings.hooks.value.clone(),
        snapshots: ctask_core::snapshot::Settings::for_workspace(settings, ws),
        ..SessionOptions::default()
    }
}

fn report(s: &Started) {
    for w in &s.warnings {
        output::warn(w);
    }
    let how = if s.adopted { "adopted" } else { "started" };
    output::message(&format!(
        "{how} session {} in tmux session {} (supervisor pid {})",
        s.session_id, s.tmux_session, s.supervisor_pid
    ));
}

fn attach_started(
    tmux: &Tmux,
    settings: &Settings,
    ws: &Workspace,
    s: &Started,
    interactive: bool,
) -> ctask_core::Result<i32> {
    let id = Some(s.session_id.as_str());
    attach_or_report(tmux, settings, ws, &s.tmux_session, id, interactive)
}

/// Attaches the terminal to tmux session `name` (or, without one, says how to). A detach
/// returns 0 and leaves the session running; when the agent ends while attached, the
/// result is its exit code, read from the summary the owner writes.
fn attach_or_report(
    tmux: &Tmux,
    settings: &Settings,
    ws: &Workspace,
    name: &str,
    session_id: Option<&str>,
    interactive: bool,
) -> ctask_core::Result<i32> {
    if !interactive {
        output::message(&format!("attach with: tmux attach-session -t ={name}"));
        return Ok(0);
    }
    let status = tmux
        .attach_command(name)
        .status()
        .map_err(|e| Error::Tmux {
            detail: format!("cannot attach: {e}"),
        })?;
    if tmux.has_session(name) {
        // Detached (or the attach failed): the session goes on under its owner.
        return Ok(if status.success() { 0 } else { 1 });
    }
    let Some(id) = session_id else {
        return Ok(0);
    };
    match ended_code(settings, ws, id) {
        Some(code) => {
            output::message(&format!("session {} ended (exit {code})", output::safe(id)));
            Ok(code)
        }
        None => {
            output::message(&format!(
                "session {} ended; its summary is not written yet (see `status`)",
                output::safe(id)
            ));
            Ok(0)
        }
    }
}

/// The exit code of session `id` once its owner has written the summary (a code tmux could
/// not tell reads 0); `None` if that does not happen within a minute.
fn ended_code(settings: &Settings, ws: &Workspace, id: &str) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(st) = status_of(&ws.dir, settings.stale_after_seconds.value)
            && let Some(last) = st.last_summary.filter(|s| s.session_id == id)
        {
            return Some(last.exit_code.unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
