//! Sessions: lease, liveness, locks, heartbeat, manifest, diff, summary, log, begin/end, run.
//!
//! A [`Session`] is begun with [`Session::begin`] (docs/design.md §4.3) and ended with
//! [`Session::end`] (§4.4); a begin that finds a dead owner first closes its session
//! ([`recovery`], §4.6).

mod adopt;
pub mod baseline;
mod begin;
pub mod crashpoint;
pub mod diff;
pub mod dirfd;
mod end;
pub mod heartbeat;
pub mod index;
mod info;
pub mod launch;
pub mod lease;
pub mod liveness;
pub mod lock;
pub mod log;
pub mod manifest;
mod options;
pub mod overview;
pub mod paths;
pub mod persistent;
mod prepare;
mod provisional;
mod record;
pub mod recovery;
pub mod run;
pub mod state;
pub mod status;
pub mod summary;
pub mod tmux;
pub mod writelock;

pub use crate::{host, timefmt};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

pub use diff::{Diff, Rename};
pub use info::{RecoveredInfo, SessionInfo};
pub use lease::{Lease, Mode};
pub use manifest::{CaptureOptions, Manifest};
pub use run::{RunResult, run};
pub use state::{AgentState, AgentStatus, set_state};
pub use status::{DiffReport, StatusReport, diff_since_last, status};
pub use summary::{DetectedVia, EndReason, Summary, SummaryBrief};

use heartbeat::{Beat, Heartbeat};
use launch::LaunchDir;
use lock::SessionLock;
use paths::CtaskPaths;

/// What a begin does when a live session already owns the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnActive {
    /// Fail with [`crate::Error::ActiveSession`].
    #[default]
    Error,
    /// Share the workspace without a lease (docs/design.md §4.3 step 7).
    Coexist,
}

/// How a session is begun.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Label recorded as `agent` (the command, `shell`, or a library caller's name).
    pub agent: String,
    /// The argv this begin will launch; resolved on PATH before anything is written.
    pub launch: Option<Vec<String>>,
    /// Extra variables for the child (`agent.env`), applied over the `CTASK_*` ones.
    pub agent_env: BTreeMap<String, String>,
    /// Policy toward a live owner.
    pub on_active: OnActive,
    /// Never prompt or block: alive → coexist, dead → recover.
    pub force: bool,
    /// Direct or persistent.
    pub mode: Mode,
    /// Launch directory relative to the workspace; `None` → inherited `CTASK_LAUNCH_DIR`,
    /// else `launch_dir` of `task.yaml`.
    pub launch_dir: Option<String>,
    /// Run the heartbeat thread.
    pub heartbeat: bool,
    /// Heartbeat interval in seconds.
    pub heartbeat_seconds: u64,
    /// Age after which another host's lease is expired.
    pub stale_after_seconds: u64,
    /// Manifest options (ignore files).
    pub capture: CaptureOptions,
    /// The workspace was created by this very invocation (provisional cleanup applies).
    pub newly_created: bool,
    /// The task root the caller configured (a `--root` flag, a C `root` option), for the
    /// agent's `CTASK_ROOT`; `None` → resolved from the environment and config file.
    pub root: Option<PathBuf>,
    /// The most end-manifest entries a summary carries (above: `end_manifest_omitted`).
    pub summary_manifest_max: usize,
    /// The user's hooks (`before_begin`, `after_end`; from the config file, passed in by
    /// the face); none by default.
    pub hooks: crate::hooks::Hooks,
    /// Snapshot settings (docs/undo.md).
    pub snapshots: crate::snapshot::Settings,
    /// What the session's history record will say made it (`undo` for an undo).
    pub history_kind: crate::snapshot::RecordKind,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            agent: "library".into(),
            launch: None,
            agent_env: BTreeMap::new(),
            on_active: OnActive::Error,
            force: false,
            mode: Mode::Direct,
            launch_dir: None,
            heartbeat: true,
            heartbeat_seconds: 30,
            stale_after_seconds: 60,
            capture: CaptureOptions::default(),
            newly_created: false,
            root: None,
            summary_manifest_max: crate::workspace::config::DEFAULT_SUMMARY_MANIFEST_MAX,
            hooks: crate::hooks::Hooks::default(),
            snapshots: crate::snapshot::Settings::default(),
            history_kind: crate::snapshot::RecordKind::Session,
        }
    }
}

/// Whether this handle owns the lease or shares a live owner's workspace (JSON `owner` or
/// `coexist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Holds `session.lock` and the lease.
    Owner,
    /// Shares a live owner's workspace; writes only its own log lines at end.
    Coexist,
}

/// What a begin did about a dead owner's lease before starting.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// The dead session's id (`unknown` for an unreadable lease).
    pub session_id: String,
    /// What became of it.
    pub outcome: RecoveryOutcome,
    /// Its closing summary, when one was written now.
    pub summary: Option<SummaryBrief>,
}

/// What a begin did with a dead owner's lease (docs/design.md §4.6); JSON `owner_died`,
/// `finalized`, `incomplete` or `unreadable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryOutcome {
    /// Its session was closed now: summary and `end` line written from a fresh capture.
    OwnerDied,
    /// It had finalized; only its lease was left (and perhaps its `end` line missing).
    Finalized,
    /// It died inside begin, before its `start` line: removed, nothing recorded.
    Incomplete,
    /// `session.json` did not parse: reclaimed with a warning.
    Unreadable,
}

impl RecoveryOutcome {
    /// The name used in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryOutcome::OwnerDied => "owner_died",
            RecoveryOutcome::Finalized => "finalized",
            RecoveryOutcome::Incomplete => "incomplete",
            RecoveryOutcome::Unreadable => "unreadable",
        }
    }
}

/// How an end came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ending {
    /// Why.
    pub reason: EndReason,
    /// How it was noticed.
    pub detected_via: DetectedVia,
    /// The agent's exit code, when known.
    pub exit_code: Option<i32>,
}

impl Ending {
    /// The agent exited with `code`.
    pub fn child_exit(code: i32) -> Ending {
        Ending {
            reason: EndReason::ChildExited,
            detected_via: DetectedVia::ChildExit,
            exit_code: Some(code),
        }
    }
}

/// The result of ending a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The session's summary (without its end manifest).
    pub summary: SummaryBrief,
    /// The workspace was provisional and has been removed.
    pub workspace_removed: bool,
    /// What the caller should be told (a `.ctask/` or `logs/` moved or replaced during the
    /// session, …).
    pub warnings: Vec<String>,
}

/// `.ctask/` and `logs/` of a session, opened at begin with `O_DIRECTORY|O_NOFOLLOW`:
/// after begin every file in them is reached through these descriptors (docs/design.md §6).
#[derive(Debug)]
pub(crate) struct SessionDirs {
    ctask: dirfd::Dir,
    logs: dirfd::Dir,
}

impl SessionDirs {
    /// Opens them (`logs/` created when missing); a symlink or a non-directory is refused.
    fn open(ws: &Path, paths: &CtaskPaths) -> crate::Result<SessionDirs> {
        let ctask = dirfd::Dir::open(&paths.dir)?;
        let logs = log::open_dir(ws, true)?.ok_or_else(|| {
            crate::Error::io(ws.join(log::LOG_DIR), std::io::ErrorKind::NotFound.into())
        })?;
        Ok(SessionDirs { ctask, logs })
    }

    /// One warning per directory that no longer sits at its path (moved, or replaced by a
    /// symlink or a file): ctask's files went to the directory opened at begin.
    fn moved(&self) -> Vec<String> {
        [&self.ctask, &self.logs]
            .into_iter()
            .filter(|d| !d.still_at_path())
            .map(|d| {
                format!(
                    "{} was moved or replaced during the session; ctask wrote to the \
                     directory it opened at begin, never through the new path",
                    d.path().display()
                )
            })
            .collect()
    }
}

/// A begun session. Thread-safe; ends as `abandoned` when dropped un-ended in the process
/// that began it, and is inert in any other (after `fork`).
pub struct Session {
    inner: Mutex<Inner>,
}

struct Inner {
    ws_dir: PathBuf,
    dirs: SessionDirs,
    id: String,
    agent: String,
    mode: Mode,
    role: Role,
    started_at: DateTime<Utc>,
    lock: Option<SessionLock>,
    beat: Option<Arc<Mutex<Beat>>>,
    heartbeat: Option<Heartbeat>,
    start: Manifest,
    capture: CaptureOptions,
    summary_manifest_max: usize,
    launch: LaunchDir,
    env: BTreeMap<String, String>,
    outside_changes: Option<Diff>,
    last_summary: Option<SummaryBrief>,
    owner_lease: Option<Lease>,
    recovered: Option<Recovered>,
    warnings: Vec<String>,
    newly_created: bool,
    /// The tree when a session of a workspace this invocation created began (the proof
    /// provisional cleanup needs); `None` when it could not be taken.
    provisional: Option<provisional::Inventory>,
    owner_pid: u32,
    outcome: Option<Outcome>,
    /// Set when an end failed: the handle is finished and never ends again (the next
    /// begin recovers the session under `session.lock`).
    end_failure: Option<String>,
    tmux_session: Option<String>,
    adopted_at: Option<DateTime<Utc>>,
    /// The user's hooks (`after_end` runs once the session is recorded).
    hooks: crate::hooks::Hooks,
    /// Snapshot state from begin to end.
    snap: crate::snapshot::Pending,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.lock();
        f.debug_struct("Session")
            .field("id", &i.id)
            .field("workspace", &i.ws_dir)
            .field("role", &i.role)
            .field("ended", &(i.outcome.is_some() || i.end_failure.is_some()))
            .finish()
    }
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session id.
    pub fn id(&self) -> String {
        self.lock().id.clone()
    }

    /// The workspace directory.
    pub fn workspace(&self) -> PathBuf {
        self.lock().ws_dir.clone()
    }

    /// Absolute launch directory.
    pub fn launch_dir(&self) -> PathBuf {
        self.lock().launch.abs.clone()
    }

    /// The `CTASK_*` variables (plus `agent.env`) for the child.
    pub fn env(&self) -> BTreeMap<String, String> {
        self.lock().env.clone()
    }

    /// Whether this handle holds the lease (false when coexisting).
    pub fn owns_lease(&self) -> bool {
        self.lock().role == Role::Owner
    }

    /// Owner or coexisting.
    pub fn role(&self) -> Role {
        self.lock().role
    }

    /// Session mode.
    pub fn mode(&self) -> Mode {
        self.lock().mode
    }

    /// When the session began.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.lock().started_at
    }

    /// Runs `f` on the manifest captured at begin.
    pub(crate) fn with_start<R>(&self, f: impl FnOnce(&Manifest) -> R) -> R {
        f(&self.lock().start)
    }

    /// Files changed outside any session since the last one ended (`None`: no baseline).
    pub fn outside_changes(&self) -> Option<Diff> {
        self.lock().outside_changes.clone()
    }

    /// The previous session's summary (for the "last time" banner).
    pub fn last_summary(&self) -> Option<SummaryBrief> {
        self.lock().last_summary.clone()
    }

    /// The live owner's lease, when this session coexists with it.
    pub fn owner(&self) -> Option<Lease> {
        self.lock().owner_lease.clone()
    }

    /// What begin did about a dead previous owner, if anything.
    pub fn recovered(&self) -> Option<Recovered> {
        self.lock().recovered.clone()
    }

    /// Warnings collected during begin (unreadable summary, missing launch dir, …).
    pub fn warnings(&self) -> Vec<String> {
        self.lock().warnings.clone()
    }

    /// The tmux session of a persistent session.
    pub fn tmux_session(&self) -> Option<String> {
        self.lock().tmux_session.clone()
    }

    /// Whether this session adopted an orphaned persistent session.
    pub fn adopted(&self) -> bool {
        self.lock().adopted_at.is_some()
    }

    /// Whether this is the process that began the session (not a copy made by `fork`,
    /// which never unlocks, writes or ends it).
    pub fn in_owner_process(&self) -> bool {
        self.lock().owner_pid == std::process::id()
    }

    /// The outcome, once ended.
    pub fn outcome(&self) -> Option<Outcome> {
        self.lock().outcome.clone()
    }

    /// Writes the heartbeat now (for hosts that tick it themselves). A no-op for a coexisting
    /// or ended session.
    pub fn heartbeat(&self) -> crate::Result<()> {
        let inner = self.lock();
        if inner.outcome.is_some()
            || inner.end_failure.is_some()
            || std::process::id() != inner.owner_pid
        {
            return Ok(());
        }
        match &inner.beat {
            Some(b) => b.lock().unwrap_or_else(|p| p.into_inner()).tick(),
            None => Ok(()),
        }
    }
}

/// `CTASK_ROOT` for the agent, one rule for every face: the task root the caller
/// configured (`root` — the CLI's `--root`, the C `root` option — else the environment and
/// config file, as `ctask` resolves it); when no configuration can be read, the directory the
/// workspace lives under by the layout (tasks and categorised projects two levels down, flat
/// projects one).
fn agent_root(given: Option<&Path>, ws_dir: &Path, flat_project: bool) -> PathBuf {
    if let Some(r) = given {
        return r.to_path_buf();
    }
    if let Ok(s) = crate::workspace::Settings::from_env(&crate::workspace::Overrides::default()) {
        return s.root.value;
    }
    let up = if flat_project { 1 } else { 2 };
    ws_dir
        .ancestors()
        .nth(up)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ws_dir.to_path_buf())
}
