//! The process that runs the CLI, and the command that re-enters it.
//!
//! The `ctask` binary owns its process; a Python interpreter that hosts the CLI
//! (`python -m ctask`, the wheel's `ctask` script) does not. Everything that starts ctask
//! again — the supervisor of a persistent session, the tmux pane's `__exec` helper — runs
//! the host's command, never a name looked up on PATH.

use std::sync::RwLock;

/// Where the CLI runs and how it is started again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The argv prefix that runs this CLI again (`__supervise`, `__exec` are appended):
    /// the `ctask` executable itself, or e.g. `[python, "-m", "ctask"]`.
    pub self_cmd: Vec<String>,
}

impl Host {
    /// The running executable (`std::env::current_exe()`): right for the `ctask` binary.
    /// When it cannot be found, the command is empty and starting a supervisor fails with
    /// a clear error.
    pub fn this_executable() -> Self {
        let self_cmd = std::env::current_exe()
            .map(|p| vec![p.to_string_lossy().into_owned()])
            .unwrap_or_default();
        Host { self_cmd }
    }

    /// A host that runs the CLI again with `self_cmd` (e.g. `[sys.executable, "-m", "ctask"]`).
    pub fn command(self_cmd: Vec<String>) -> Self {
        Host { self_cmd }
    }
}

static CURRENT: RwLock<Option<Host>> = RwLock::new(None);

/// Records the host of the command now running.
pub(crate) fn set(host: Host) {
    if let Ok(mut h) = CURRENT.write() {
        *h = Some(host);
    }
}

/// The command that re-enters ctask in this host; an error when there is none.
pub(crate) fn self_cmd() -> ctask_core::Result<Vec<String>> {
    let cmd = CURRENT
        .read()
        .ok()
        .and_then(|h| h.clone())
        .unwrap_or_else(Host::this_executable)
        .self_cmd;
    if cmd.first().is_none_or(|p| p.is_empty()) {
        return Err(ctask_core::Error::invalid(
            "cannot tell how to run ctask again in this process (no executable path)",
        ));
    }
    Ok(cmd)
}
