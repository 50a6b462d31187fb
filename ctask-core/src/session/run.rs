//! run (docs/design.md §4.8): begin, spawn the agent (an argv, never a shell string) in the launch
//! directory with the session's environment, wait, and end with its exit status.
//! The library installs no signal handlers; the CLI wraps this with its own.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus};

use serde::Serialize;

use super::{Ending, Outcome, Session, SessionOptions, launch};
use crate::error::{Error, Result};

/// The result of [`run`].
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The session's id.
    pub session_id: String,
    /// The agent's exit code (signal n → 128+n).
    pub exit_code: i32,
    /// The session's summary (without its end manifest).
    pub summary: super::SummaryBrief,
    /// The workspace was provisional and has been removed.
    pub workspace_removed: bool,
    /// Warnings of the end (see [`super::Outcome::warnings`]).
    pub warnings: Vec<String>,
}

/// Hooks a face can use around [`run_with`].
pub trait RunHooks {
    /// Called after begin, before the agent is spawned (banners, outside changes).
    fn begun(&mut self, _session: &Session) {}
    /// Called with the agent's pid right after it was spawned.
    fn spawned(&mut self, _pid: u32) {}
    /// Called after the agent was reaped, before end.
    fn exited(&mut self) {}
}

/// Hooks that do nothing.
pub struct NoHooks;
impl RunHooks for NoHooks {}

/// Begins a session in `dir`, runs `argv`, ends the session and returns the exit code.
pub fn run(dir: &Path, argv: &[String], opts: SessionOptions) -> Result<RunResult> {
    run_with(dir, argv, opts, &mut NoHooks)
}

/// [`run`] with hooks.
pub fn run_with(
    dir: &Path,
    argv: &[String],
    mut opts: SessionOptions,
    hooks: &mut dyn RunHooks,
) -> Result<RunResult> {
    let program = argv
        .first()
        .ok_or_else(|| Error::invalid("empty command to run"))?;
    opts.launch = Some(argv.to_vec());
    let session = Session::begin(dir, opts)?;
    hooks.begun(&session);
    let status = spawn_and_wait(&session, program, &argv[1..], hooks);
    hooks.exited();
    let (code, spawn_error) = match status {
        Ok(st) => (exit_code(st), None),
        Err(e) => (spawn_failure_code(&e), Some(e)),
    };
    let outcome: Outcome = session.end(Ending::child_exit(code))?;
    if let Some(e) = spawn_error {
        return Err(e);
    }
    Ok(RunResult {
        session_id: session.id(),
        exit_code: code,
        summary: outcome.summary,
        workspace_removed: outcome.workspace_removed,
        warnings: outcome.warnings,
    })
}

fn spawn_and_wait(
    session: &Session,
    program: &str,
    args: &[String],
    hooks: &mut dyn RunHooks,
) -> Result<ExitStatus> {
    let resolved = launch::find_program(program)?;
    let mut cmd = Command::new(&resolved);
    cmd.arg0(program)
        .args(args)
        .current_dir(session.launch_dir())
        .envs(session.env());
    // SAFETY: between fork and exec only async-signal-safe calls run (sigemptyset,
    // sigaction, sigprocmask), on values that live on this stack; nothing allocates.
    unsafe {
        cmd.pre_exec(|| {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut dfl.sa_mask);
            for sig in [
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGTERM,
                libc::SIGHUP,
                libc::SIGPIPE,
                libc::SIGXFSZ,
            ] {
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::AgentNotFound {
            command: program.to_owned(),
        },
        _ => Error::io(&resolved, e),
    })?;
    hooks.spawned(child.id());
    loop {
        match child.wait() {
            Ok(st) => return Ok(st),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(&resolved, e)),
        }
    }
}

/// The shell convention: the exit code, or 128 + the signal that killed the process.
pub fn exit_code(st: ExitStatus) -> i32 {
    st.code()
        .or_else(|| st.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

fn spawn_failure_code(e: &Error) -> i32 {
    match e {
        Error::AgentNotFound { .. } => 127,
        _ => 126,
    }
}
