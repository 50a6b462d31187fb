//! Hidden helpers of the `ctask` binary used by persistent mode: `__exec` (the tmux pane's
//! command: load the 0600 env file, delete it, exec the agent) and `__supervise` (the
//! detached owner of a persistent session, started in two stages).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;
use ctask_core::Error;
use ctask_core::session::persistent::{self, SuperviseRequest};

use crate::output;

/// Arguments of `ctask __exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The env file written by the supervisor.
    pub env_file: PathBuf,
    /// The agent's argv.
    #[arg(last = true, required = true)]
    pub argv: Vec<OsString>,
}

/// Runs `ctask __exec`: returns only when the exec failed.
pub fn exec(a: ExecArgs) -> ctask_core::Result<i32> {
    let argv: Vec<String> = a
        .argv
        .into_iter()
        .map(|s| {
            s.into_string()
                .map_err(|_| Error::invalid("argument is not valid UTF-8"))
        })
        .collect::<Result<_, _>>()?;
    Err(persistent::exec_with_env_file(&a.env_file, &argv))
}

/// Arguments of `ctask __supervise` (the request comes on stdin).
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// Be the owner itself (the second stage), rather than start it and return.
    #[arg(long)]
    pub owner: bool,
}

/// Runs `ctask __supervise`: reads the request from stdin. The first stage starts the
/// owner — the host's command run again with `--owner`, never a fork, so an interpreter
/// that hosts the CLI is never copied — hands it the request and the caller's pipe, and
/// exits at once; the owner reports on the pipe, then owns the session.
pub fn supervise(a: SuperviseArgs) -> ctask_core::Result<i32> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| Error::io("standard input", e))?;
    let req: SuperviseRequest = serde_json::from_slice(&body)
        .map_err(|e| Error::format("supervisor request", e.to_string()))?;
    if !a.owner {
        start_owner(&body)?;
        return Ok(0);
    }
    let mut out = std::io::stdout();
    let code = persistent::supervise(&req, &mut out);
    // Nothing more goes to the caller's pipe.
    redirect_stdout_to_null();
    match code {
        Ok(c) => Ok(c.unwrap_or(0)),
        Err(e) => {
            output::message(&format!("supervisor: {e}"));
            Ok(1)
        }
    }
}

/// Runs `<self> __supervise --owner` with `body` on its stdin and our stdout; does not wait.
fn start_owner(body: &[u8]) -> ctask_core::Result<()> {
    let cmd = crate::host::self_cmd()?;
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .args(["__supervise", "--owner"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(&cmd[0], e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body)
            .map_err(|e| Error::io("supervisor stdin", e))?;
    }
    Ok(())
}

fn redirect_stdout_to_null() {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: both descriptors are valid; dup2 replaces stdout.
        unsafe {
            libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
        }
    }
}
