//! Hidden helpers of the `ctask` binary used by persistent mode: `__exec` (the tmux pane's
//! command: load the 0600 env file, delete it, exec the agent) and `__supervise` (the
//! detached owner of a persistent session).

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;

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

/// Runs `ctask __supervise`: reads the request from stdin, detaches (a second fork, so
/// the caller's child exits at once), reports on stdout, then owns the session.
pub fn supervise() -> ctask_core::Result<i32> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| Error::io("standard input", e))?;
    let req: SuperviseRequest = serde_json::from_slice(&body)
        .map_err(|e| Error::format("supervisor request", e.to_string()))?;
    // SAFETY: no other thread exists yet in this process; the child continues alone.
    match unsafe { libc::fork() } {
        -1 => return Err(Error::io("fork", std::io::Error::last_os_error())),
        0 => {}
        _ => return Ok(0),
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

fn redirect_stdout_to_null() {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: both descriptors are valid; dup2 replaces stdout.
        unsafe {
            libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
        }
    }
}
