//! Persistent mode of the entry commands (`--persistent`, `--detach`, `ctask attach`): the
//! agent lives in tmux and a supervisor owns the session. Three entries: create, passive
//! reattach (a live owner: attach only, write nothing) and adopt (an orphaned tmux session).

use std::io::IsTerminal;

use ctask_core::Error;
use ctask_core::session::liveness::State;
use ctask_core::session::persistent::{self, Started, SuperviseRequest};
use ctask_core::session::status::status_of;
use ctask_core::session::tmux::{Tmux, session_name};
use ctask_core::workspace::{Settings, Workspace};

use crate::cmd::entry::{LaunchArgs, agent_argv};
use crate::output;

/// Runs `ws`'s agent in tmux; `detach` returns as soon as the tmux session runs.
pub fn launch(
    settings: &Settings,
    ws: &Workspace,
    agent: Option<&str>,
    l: &LaunchArgs,
    detach: bool,
) -> ctask_core::Result<i32> {
    let tmux = Tmux::find()?;
    let name = session_name(&ws.task.category, &ws.task.slug, &ws.dir);
    let interactive = !detach && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if tmux.has_session(&name) {
        let st = status_of(&ws.dir, settings.stale_after_seconds.value)?;
        if st.state == State::Active {
            if let Some(owner) = &st.lease {
                output::message(&format!(
                    "session {} (pid {} on {}) runs in tmux session {name}",
                    owner.session_id, owner.pid, owner.hostname
                ));
            }
            return attach_or_report(&tmux, &name, interactive);
        }
        let req = request(
            settings,
            ws,
            Vec::new(),
            "adopted".into(),
            Default::default(),
            true,
        )?;
        let started = persistent::start_detached(&supervisor()?, &req)?;
        report(&started);
        return attach_or_report(&tmux, &name, interactive);
    }
    let (argv, label, spec) = agent_argv(ws.agent(settings), agent, l)?;
    if let Some(program) = argv.first() {
        ctask_core::session::launch::find_program(program)?;
    }
    let req = request(settings, ws, argv, label, spec.env, false)?;
    let started = persistent::start_detached(&supervisor()?, &req)?;
    report(&started);
    attach_or_report(&tmux, &name, interactive)
}

fn request(
    settings: &Settings,
    ws: &Workspace,
    argv: Vec<String>,
    agent: String,
    agent_env: std::collections::BTreeMap<String, String>,
    adopt: bool,
) -> ctask_core::Result<SuperviseRequest> {
    Ok(SuperviseRequest {
        workspace: ws.dir.clone(),
        argv,
        adopt,
        agent,
        agent_env,
        launch_dir: None,
        heartbeat_seconds: settings.heartbeat_seconds.value,
        stale_after_seconds: settings.stale_after_seconds.value,
        root: Some(settings.root.value.clone()),
        exec_helper: supervisor()?,
        poll_ms: 500,
    })
}

/// This very executable (never a PATH lookup).
fn supervisor() -> ctask_core::Result<Vec<String>> {
    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    Ok(vec![exe.to_string_lossy().into_owned()])
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

fn attach_or_report(tmux: &Tmux, name: &str, interactive: bool) -> ctask_core::Result<i32> {
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
    Ok(if status.success() { 0 } else { 1 })
}
