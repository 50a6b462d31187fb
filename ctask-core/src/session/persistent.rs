//! Persistent sessions (docs/design.md §4.9): the agent runs in tmux and a supervisor process owns
//! the session — it begins (or adopts), starts the tmux session, reports to its caller over
//! a pipe only once the tmux session exists, then heartbeats, polls and ends the session.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::lease::{Lease, Mode};
use super::summary::{DetectedVia, EndReason};
use super::tmux::Tmux;
use super::{Ending, Session, SessionOptions};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// How long a dead pane's exit status may take to appear before it counts as unknown.
const STATUS_GRACE: Duration = Duration::from_secs(3);

/// How often a dead pane is polled for its exit status.
const STATUS_POLL: Duration = Duration::from_millis(100);

/// What a supervisor is asked to do (sent as one JSON document on its stdin).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuperviseRequest {
    /// The workspace.
    pub workspace: PathBuf,
    /// The agent's argv (ignored when adopting).
    #[serde(default)]
    pub argv: Vec<String>,
    /// Adopt the orphaned tmux session instead of creating one.
    #[serde(default)]
    pub adopt: bool,
    /// Label recorded as `agent`.
    pub agent: String,
    /// The agent's own environment variables.
    #[serde(default)]
    pub agent_env: BTreeMap<String, String>,
    /// Launch directory override (relative).
    #[serde(default)]
    pub launch_dir: Option<String>,
    /// Heartbeat interval.
    pub heartbeat_seconds: u64,
    /// Expiry of other hosts' leases.
    pub stale_after_seconds: u64,
    /// Root for `CTASK_ROOT`.
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// How to run ctask's hidden `__exec` helper (e.g. `["/usr/bin/ctask"]` or
    /// `["python3", "-m", "ctask"]`).
    pub exec_helper: Vec<String>,
    /// How often tmux is polled, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// The user's hooks (the supervisor begins and ends the session).
    #[serde(default)]
    pub hooks: crate::hooks::Hooks,
    /// The snapshot settings in force for the workspace.
    #[serde(default)]
    pub snapshots: crate::snapshot::Settings,
}

fn default_poll_ms() -> u64 {
    500
}

impl SuperviseRequest {
    /// A request to create a persistent session in `workspace` running `argv`, taking the
    /// label, agent environment, launch directory, intervals and root from `opts` (its
    /// policy, heartbeat and capture settings do not apply: a supervisor always owns the
    /// lease and heartbeats). `exec_helper` is how the tmux pane runs `__exec`.
    pub fn create(
        workspace: &Path,
        argv: Vec<String>,
        opts: &SessionOptions,
        exec_helper: Vec<String>,
    ) -> SuperviseRequest {
        SuperviseRequest {
            workspace: workspace.to_path_buf(),
            argv,
            adopt: false,
            agent: opts.agent.clone(),
            agent_env: opts.agent_env.clone(),
            launch_dir: opts.launch_dir.clone(),
            heartbeat_seconds: opts.heartbeat_seconds,
            stale_after_seconds: opts.stale_after_seconds,
            root: opts.root.clone(),
            exec_helper,
            poll_ms: default_poll_ms(),
            hooks: opts.hooks.clone(),
            snapshots: opts.snapshots.clone(),
        }
    }
}

/// How a persistent launch enters a workspace (docs/design.md §4.9).
#[derive(Debug, Clone)]
pub enum Entry {
    /// No tmux session: create one (a full begin in a supervisor).
    Create {
        /// The tmux session's name.
        tmux_session: String,
    },
    /// The tmux session runs and its owner is alive: attach only, write nothing.
    Reattach {
        /// The tmux session's name.
        tmux_session: String,
        /// The live owner's lease, when it parses.
        owner: Option<Box<Lease>>,
    },
    /// The tmux session runs but its owner is gone: a supervisor adopts it.
    Adopt {
        /// The tmux session's name.
        tmux_session: String,
    },
}

/// Which entry a persistent launch in `ws` takes; needs a usable tmux.
pub fn entry(ws: &Workspace, stale_after_seconds: u64) -> Result<(Tmux, Entry)> {
    let tmux = Tmux::find()?;
    let tmux_session = super::tmux::session_name(&ws.task.category, &ws.task.slug, &ws.dir);
    if !tmux.has_session(&tmux_session) {
        return Ok((tmux, Entry::Create { tmux_session }));
    }
    let st = super::status::status_of(&ws.dir, stale_after_seconds)?;
    let entry = if st.state == super::liveness::State::Active {
        Entry::Reattach {
            tmux_session,
            owner: st.lease.map(Box::new),
        }
    } else {
        Entry::Adopt { tmux_session }
    };
    Ok((tmux, entry))
}

/// Starts a detached persistent session running `argv` in the workspace at `dir`, owned by
/// a supervisor run as `helper __supervise` (`helper` also runs the pane's `__exec`):
/// checks the options, opens the workspace, and returns its directory and the session once
/// the tmux session runs.
pub fn start(
    dir: &Path,
    argv: Vec<String>,
    opts: &SessionOptions,
    helper: &[String],
) -> Result<(PathBuf, Started)> {
    opts.validate_persistent()?;
    if argv.first().is_none_or(|p| p.is_empty()) {
        return Err(Error::invalid_option(
            "argv",
            "`argv` must name a command (the agent to run in tmux)",
        ));
    }
    let ws = Workspace::open(dir)?;
    let req = SuperviseRequest::create(&ws.dir, argv, opts, helper.to_vec());
    start_detached(helper, &req).map(|s| (ws.dir, s))
}

/// Adopts the orphaned tmux session of the workspace at `dir` in a detached supervisor
/// (`helper` as for [`start`]); the session keeps its id and start manifest.
pub fn adopt_detached(dir: &Path, opts: &SessionOptions, helper: &[String]) -> Result<Started> {
    opts.validate()?;
    let mut req = SuperviseRequest::create(dir, Vec::new(), opts, helper.to_vec());
    req.adopt = true;
    start_detached(helper, &req)
}

/// A running persistent session, as reported by its supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    /// Session id.
    pub session_id: String,
    /// tmux session name.
    pub tmux_session: String,
    /// The supervisor's pid.
    pub supervisor_pid: u32,
    /// Whether an orphan was adopted (else a tmux session was created).
    pub adopted: bool,
    /// Warnings from begin.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// An error carried over the supervisor pipe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WireError {
    NotFound {
        query: String,
    },
    Ambiguous {
        query: String,
        candidates: Vec<PathBuf>,
    },
    ActiveSession {
        owner: Box<Lease>,
    },
    LockTimeout {
        path: PathBuf,
    },
    PathSecurity {
        path: PathBuf,
        detail: String,
    },
    AgentNotFound {
        command: String,
    },
    BadFormat {
        path: PathBuf,
        detail: String,
    },
    Tmux {
        detail: String,
    },
    Hook {
        name: String,
        program: String,
        exit: String,
        detail: String,
    },
    InvalidArgument {
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        option: Option<String>,
    },
    Io {
        path: PathBuf,
        detail: String,
    },
}

impl From<Error> for WireError {
    fn from(e: Error) -> WireError {
        match e {
            Error::NotFound { query } => WireError::NotFound { query },
            Error::Ambiguous { query, candidates } => WireError::Ambiguous { query, candidates },
            Error::ActiveSession { owner } => WireError::ActiveSession { owner },
            Error::LockTimeout { path } => WireError::LockTimeout { path },
            Error::PathSecurity { path, detail } => WireError::PathSecurity { path, detail },
            Error::AgentNotFound { command } => WireError::AgentNotFound { command },
            Error::BadFormat { path, detail } => WireError::BadFormat { path, detail },
            Error::Tmux { detail } => WireError::Tmux { detail },
            Error::Hook {
                name,
                program,
                exit,
                detail,
            } => WireError::Hook {
                name,
                program,
                exit,
                detail,
            },
            Error::InvalidArgument { detail, option } => {
                WireError::InvalidArgument { detail, option }
            }
            Error::Io { path, source } => WireError::Io {
                path,
                detail: source.to_string(),
            },
        }
    }
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Error {
        match e {
            WireError::NotFound { query } => Error::NotFound { query },
            WireError::Ambiguous { query, candidates } => Error::Ambiguous { query, candidates },
            WireError::ActiveSession { owner } => Error::ActiveSession { owner },
            WireError::LockTimeout { path } => Error::LockTimeout { path },
            WireError::PathSecurity { path, detail } => Error::PathSecurity { path, detail },
            WireError::AgentNotFound { command } => Error::AgentNotFound { command },
            WireError::BadFormat { path, detail } => Error::BadFormat { path, detail },
            WireError::Tmux { detail } => Error::Tmux { detail },
            WireError::Hook {
                name,
                program,
                exit,
                detail,
            } => Error::Hook {
                name,
                program,
                exit,
                detail,
            },
            WireError::InvalidArgument { detail, option } => {
                Error::InvalidArgument { detail, option }
            }
            WireError::Io { path, detail } => Error::Io {
                path,
                source: std::io::Error::other(detail),
            },
        }
    }
}

/// One report line from supervisor to caller.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Report {
    Started(Started),
    Failed(WireError),
}

/// Starts a supervisor (`supervisor` + `__supervise`, request on stdin) in its own session
/// and returns once it reports that the tmux session runs (or why it could not).
pub fn start_detached(supervisor: &[String], req: &SuperviseRequest) -> Result<Started> {
    let program = supervisor
        .first()
        .ok_or_else(|| Error::invalid("empty supervisor command"))?;
    let mut cmd = Command::new(program);
    cmd.args(&supervisor[1..])
        .arg("__supervise")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; it detaches the supervisor from our terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| Error::io(program, e))?;
    let body = serde_json::to_vec(req).map_err(|e| Error::invalid(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&body)
            .map_err(|e| Error::io("supervisor stdin", e))?;
    }
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| Error::io("supervisor report", e))?;
    }
    // The supervisor forks once more at start: the process we spawned exits at once.
    let _ = child.wait();
    match serde_json::from_str::<Report>(&line) {
        Ok(Report::Started(s)) => Ok(s),
        Ok(Report::Failed(e)) => Err(e.into()),
        Err(_) => Err(Error::Tmux {
            detail: format!("the supervisor ({program}) exited without reporting a session"),
        }),
    }
}

/// Runs a supervisor: begins or adopts, starts tmux, writes one report line to `report`,
/// then polls until the agent exits and ends the session. Returns the agent's exit code.
pub fn supervise(req: &SuperviseRequest, report: &mut dyn Write) -> Result<Option<i32>> {
    let started = start_owned(req);
    let (session, tmux, name) = match started {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(report, "{}", wire(&Report::Failed(e.into())));
            let _ = report.flush();
            return Ok(None);
        }
    };
    let info = Started {
        session_id: session.id(),
        tmux_session: name.clone(),
        supervisor_pid: std::process::id(),
        adopted: session.adopted(),
        warnings: session.warnings(),
    };
    let _ = writeln!(report, "{}", wire(&Report::Started(info)));
    let _ = report.flush();
    let poll = Duration::from_millis(req.poll_ms.max(50));
    let mut unknown_since: Option<Instant> = None;
    let code = loop {
        std::thread::sleep(if unknown_since.is_some() {
            poll.min(STATUS_POLL)
        } else {
            poll
        });
        match tmux.pane_exit(&name) {
            Ok(None) => continue,
            Ok(Some(Some(code))) => break Some(code),
            // tmux marks a pane dead when its terminal closes, which can be before it has
            // reaped the process and knows the exit status: give the status time to appear
            // (a tmux that does not report signals never shows one).
            Ok(Some(None)) => {
                let since = *unknown_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= STATUS_GRACE {
                    break None;
                }
            }
            Err(_) if !tmux.has_session(&name) => break None,
            Err(_) => continue,
        }
    };
    let _ = tmux.kill_session(&name);
    session.end(Ending {
        reason: EndReason::TmuxSessionEnded,
        detected_via: DetectedVia::Polling,
        exit_code: code,
    })?;
    Ok(code)
}

fn wire(r: &Report) -> String {
    serde_json::to_string(r).unwrap_or_else(|_| "{}".into())
}

fn start_owned(req: &SuperviseRequest) -> Result<(Session, Tmux, String)> {
    let tmux = Tmux::find()?;
    let opts = SessionOptions {
        agent: req.agent.clone(),
        launch: (!req.adopt).then(|| req.argv.clone()),
        agent_env: req.agent_env.clone(),
        mode: Mode::Persistent,
        launch_dir: req.launch_dir.clone(),
        heartbeat: true,
        heartbeat_seconds: req.heartbeat_seconds,
        stale_after_seconds: req.stale_after_seconds,
        root: req.root.clone(),
        hooks: req.hooks.clone(),
        snapshots: req.snapshots.clone(),
        ..SessionOptions::default()
    };
    let session = if req.adopt {
        Session::adopt(&req.workspace, opts, &tmux)?
    } else {
        Session::begin(&req.workspace, opts)?
    };
    let name = session
        .tmux_session()
        .ok_or_else(|| Error::invalid("persistent session without a tmux session name"))?;
    if !session.adopted()
        && let Err(e) = create_tmux(&tmux, &session, &name, req)
    {
        let _ = session.end(Ending {
            reason: EndReason::TmuxSessionEnded,
            detected_via: DetectedVia::Polling,
            exit_code: None,
        });
        return Err(e);
    }
    Ok((session, tmux, name))
}

fn create_tmux(tmux: &Tmux, session: &Session, name: &str, req: &SuperviseRequest) -> Result<()> {
    if tmux.has_session(name) {
        return Err(Error::Tmux {
            detail: format!("tmux session {name} already exists"),
        });
    }
    let env_file = write_env_file(&session.env())?;
    let mut pane: Vec<String> = req.exec_helper.clone();
    pane.push("__exec".into());
    pane.push(env_file.to_string_lossy().into_owned());
    pane.push("--".into());
    pane.extend(req.argv.iter().cloned());
    let r = tmux.new_session(name, &session.launch_dir(), &pane);
    if r.is_err() {
        let _ = std::fs::remove_file(&env_file);
    }
    r
}

/// Writes the child's environment to a new 0600 file for `__exec` (so values such as
/// secrets in `agent.env` never appear on a command line).
pub fn write_env_file(env: &BTreeMap<String, String>) -> Result<PathBuf> {
    let dir = std::env::temp_dir();
    let body = serde_json::to_vec(env).map_err(|e| Error::invalid(e.to_string()))?;
    // tempfile creates it with O_EXCL (never through a symlink), mode 0600, a random name.
    let mut f = tempfile::Builder::new()
        .prefix(&format!("ctask-env-{}-", std::process::id()))
        .suffix(".json")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    f.write_all(&body).map_err(|e| Error::io(f.path(), e))?;
    let (_, path) = f.keep().map_err(|e| Error::io(&dir, e.error))?;
    Ok(path)
}

/// The `__exec` helper: reads and deletes the env file, applies it, then replaces this
/// process with `argv` (looked up on PATH). Returns only on failure.
pub fn exec_with_env_file(env_file: &Path, argv: &[String]) -> Error {
    let env = match std::fs::read(env_file) {
        Ok(b) => b,
        Err(e) => return Error::io(env_file, e),
    };
    let _ = std::fs::remove_file(env_file);
    let vars: BTreeMap<String, String> = match serde_json::from_slice(&env) {
        Ok(v) => v,
        Err(e) => return Error::format(env_file, e.to_string()),
    };
    let Some(program) = argv.first() else {
        return Error::invalid("nothing to execute");
    };
    let err = Command::new(program).args(&argv[1..]).envs(vars).exec();
    match err.kind() {
        std::io::ErrorKind::NotFound => Error::AgentNotFound {
            command: program.clone(),
        },
        _ => Error::io(program, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_survive_the_pipe() {
        let e = Error::AgentNotFound {
            command: "x".into(),
        };
        let text = wire(&Report::Failed(e.into()));
        let back: Report = serde_json::from_str(&text).unwrap();
        match back {
            Report::Failed(w) => assert!(
                matches!(Error::from(w), Error::AgentNotFound { command } if command == "x")
            ),
            Report::Started(_) => panic!(),
        }
    }

    #[test]
    fn env_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mut env = BTreeMap::new();
        env.insert("SECRET".to_string(), "s3cr3t".to_string());
        let p = write_env_file(&env).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::remove_file(p).unwrap();
    }
}
