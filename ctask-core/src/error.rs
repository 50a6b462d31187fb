//! The one error type of the core; every face maps its variants.

use std::path::{Path, PathBuf};

/// Everything a ctask operation can fail with; one variant per thing a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No workspace matches the query (or the path holds no `task.yaml`).
    #[error("no workspace matches {query:?}")]
    NotFound {
        /// The query or path as given.
        query: String,
    },
    /// The query matches several workspaces.
    #[error("{query:?} is ambiguous; it matches:\n{}", list_paths(candidates))]
    Ambiguous {
        /// The query as given.
        query: String,
        /// Every matching workspace directory.
        candidates: Vec<PathBuf>,
    },
    /// A live session owns the workspace and the caller's policy is `error`.
    #[error("workspace is busy: session {} (pid {} on {}) is active", owner.session_id, owner.pid, owner.hostname)]
    ActiveSession {
        /// Who owns the workspace.
        owner: Box<crate::session::lease::Owner>,
    },
    /// `write.lock` could not be taken in time.
    #[error("timed out waiting for {}", path.display())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
    },
    /// A path escapes the workspace, goes through a symlink, or is otherwise unsafe.
    #[error("refusing unsafe path {}: {detail}", path.display())]
    PathSecurity {
        /// The offending path.
        path: PathBuf,
        /// Why it is refused.
        detail: String,
    },
    /// The agent's command is not on PATH.
    #[error("agent command {command:?} not found on PATH")]
    AgentNotFound {
        /// The command that was looked up.
        command: String,
    },
    /// A file (or value) does not have the expected format.
    #[error("{}: {detail}", path.display())]
    BadFormat {
        /// The file that is malformed (or the name of the value).
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// tmux is missing, too old or failed.
    #[error("tmux: {detail}")]
    Tmux {
        /// What went wrong.
        detail: String,
    },
    /// A `before_begin` hook failed: the session was not begun.
    #[error("hook {name} ({program}) failed: {detail}; the session was not begun")]
    Hook {
        /// The hook's name (`before_begin`).
        name: String,
        /// Its program (the argv's first element).
        program: String,
        /// Its exit code, `timeout`, `signal:N` or `spawn_error`.
        exit: String,
        /// How it failed, in words.
        detail: String,
    },
    /// An argument given by the caller is invalid.
    #[error("{detail}")]
    InvalidArgument {
        /// What is wrong with it.
        detail: String,
        /// The option it concerns (`heartbeat_seconds`, `on_active`, …), when one is to blame.
        option: Option<String>,
    },
    /// An I/O operation on a path failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("  {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Result alias of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A format error in `path`.
    pub fn format(path: impl AsRef<Path>, detail: impl Into<String>) -> Self {
        Error::BadFormat {
            path: path.as_ref().to_path_buf(),
            detail: detail.into(),
        }
    }

    /// A path-security error for `path`.
    pub fn security(path: impl AsRef<Path>, detail: impl Into<String>) -> Self {
        Error::PathSecurity {
            path: path.as_ref().to_path_buf(),
            detail: detail.into(),
        }
    }

    /// An invalid-argument error.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Error::InvalidArgument {
            detail: detail.into(),
            option: None,
        }
    }

    /// An [`Error::InvalidArgument`] about the option named `option`.
    pub fn invalid_option(option: &str, detail: impl Into<String>) -> Self {
        Error::InvalidArgument {
            detail: detail.into(),
            option: Some(option.to_owned()),
        }
    }
}

/// Attaches a path to `std::io::Result`s.
pub trait IoContext<T> {
    /// Maps an I/O error to [`Error::Io`] naming `path`.
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
