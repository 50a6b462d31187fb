//! Preparing a session, shared by begin and adopt: validation and resolution, waiting for
//! a live owner's lease, the last summary and baseline, the heartbeat, and assembling the
//! handle.

use super::heartbeat::{Beat, Heartbeat};
use super::launch::{self, LaunchDir};
use super::lease::Mode;
use super::lease::{self, Lease, LeaseFile};
use super::lock::SessionLock;
use super::manifest::{self, Capture, Manifest};
use super::paths::CtaskPaths;
use super::summary::{self, SummaryBrief, SummaryFile};
use super::tmux::{self, Tmux};
use super::{
    Inner, Recovered, Role, Session, SessionDirs, SessionOptions, crashpoint, diff, host, log,
    provisional,
};
use crate::error::{Error, Result};
use crate::fsio;
use crate::workspace::{Kind, Workspace};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything step 1 establishes before anything is written.
pub(super) struct Validated {
    pub(super) ws: Workspace,
    pub(super) paths: CtaskPaths,
    pub(super) launch: LaunchDir,
    pub(super) warnings: Vec<String>,
    /// The tmux session of a persistent session (tmux checked to be usable).
    pub(super) tmux: Option<(Tmux, String)>,
}

/// Step 1: validation and resolution; nothing is written except a missing `.ctask/`.
pub(super) fn validate(dir: &Path, opts: &SessionOptions) -> Result<Validated> {
    opts.validate()?;
    let ws = Workspace::open(dir)?;
    let tmux = match opts.mode {
        Mode::Persistent => {
            let name = tmux::session_name(&ws.task.category, &ws.task.slug, &ws.dir);
            Some((Tmux::find()?, name))
        }
        Mode::Direct => None,
    };
    let paths = CtaskPaths::new(&ws.dir);
    fsio::ensure_real_dir(&paths.dir, true)?;
    let logs = ws.dir.join(log::LOG_DIR);
    if std::fs::symlink_metadata(&logs).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::security(
            &logs,
            "is a symbolic link; refusing to use it",
        ));
    }
    if let Some(argv) = &opts.launch {
        let program = argv
            .first()
            .ok_or_else(|| Error::invalid("empty command to launch"))?;
        launch::find_program(program)?;
    }
    let rel = opts
        .launch_dir
        .clone()
        .or_else(|| launch::inherited("CTASK_LAUNCH_DIR", &ws.dir))
        .or_else(|| ws.task.launch_dir.clone());
    let launch = launch::resolve_launch_dir(&ws.dir, rel.as_deref())?;
    let warnings = launch.warning.iter().cloned().collect();
    Ok(Validated {
        ws,
        paths,
        launch,
        warnings,
        tmux,
    })
}

/// The live owner's lease, re-read for a moment in case it is still being written.
pub(super) fn wait_for_owner(lease_path: &Path) -> Lease {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = None;
    loop {
        if let Ok(LeaseFile::Present(l)) = lease::read(lease_path) {
            let plausible = !l.is_this_host()
                || host::same_process_running(l.pid, l.process_start, l.boot_id.as_deref());
            if plausible {
                return *l;
            }
            last = Some(*l);
        }
        if Instant::now() >= deadline {
            return last.unwrap_or_else(|| Lease {
                session_id: "unknown (starting)".into(),
                hostname: "unknown".into(),
                ..Lease::default()
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the last summary's brief fields; an unreadable one is a warning (docs/design.md §6).
pub(super) fn read_last_summary(
    paths: &CtaskPaths,
    warnings: &mut Vec<String>,
) -> Result<Option<SummaryBrief>> {
    match summary::read::<summary::Omitted>(&paths.summary)? {
        SummaryFile::Absent => Ok(None),
        SummaryFile::Present(s) => Ok(Some(*s)),
        SummaryFile::Unreadable(detail) => {
            warnings.push(format!(
                "{} is unreadable ({detail}); proceeding without a baseline",
                paths.summary.display()
            ));
            Ok(None)
        }
    }
}

/// Starts the heartbeat of `lease` (when the options ask for one).
pub(super) fn start_heartbeat(
    dirs: &SessionDirs,
    lease: Lease,
    opts: &SessionOptions,
) -> Result<(Arc<Mutex<Beat>>, Option<Heartbeat>)> {
    let beat = Arc::new(Mutex::new(Beat {
        dir: dirs.ctask.try_clone()?,
        lease,
    }));
    let hb = if opts.heartbeat {
        if crashpoint::fail("begin.heartbeat") {
            return Err(Error::io(
                dirs.ctask.join(super::paths::LEASE),
                std::io::Error::other("injected: the heartbeat thread cannot start"),
            ));
        }
        let every = Duration::from_secs(opts.heartbeat_seconds.max(1));
        Some(Heartbeat::start(Arc::clone(&beat), every)?)
    } else {
        None
    };
    Ok((beat, hb))
}

/// Warns of ignore files too large to be used.
pub(super) fn note_oversized(c: &Capture, warnings: &mut Vec<String>) {
    for f in &c.oversized_ignore_files {
        warnings.push(format!(
            "{f} is larger than {} bytes and was not used: the files it names are recorded",
            manifest::MAX_IGNORE_FILE
        ));
    }
}

/// The parts of a begun session that differ between begin, coexist and adopt.
pub(super) struct Assembly {
    pub(super) id: String,
    pub(super) role: Role,
    pub(super) started_at: chrono::DateTime<chrono::Utc>,
    pub(super) lock: Option<SessionLock>,
    pub(super) beat: Option<Arc<Mutex<Beat>>>,
    pub(super) start: Manifest,
    pub(super) outside: Option<diff::Diff>,
    pub(super) last: Option<summary::SummaryBrief>,
    pub(super) owner: Option<Lease>,
    pub(super) recovered: Option<Recovered>,
    pub(super) warnings: Vec<String>,
    pub(super) tmux_session: Option<String>,
    pub(super) adopted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) heartbeat: Option<Heartbeat>,
    pub(super) provisional: Option<provisional::Inventory>,
    pub(super) dirs: SessionDirs,
}

pub(super) fn assemble(
    ws: Workspace,
    launch: LaunchDir,
    opts: &SessionOptions,
    a: Assembly,
) -> Session {
    let flat_project = ws.task.kind == Kind::Project
        && ws.dir.parent().is_some_and(|p| {
            p.file_name()
                .is_none_or(|n| n.to_string_lossy() != ws.task.category)
        });
    let root = super::agent_root(opts.root.as_deref(), &ws.dir, flat_project);
    let env = launch::child_env(&launch::EnvFacts {
        slug: &ws.task.slug,
        workspace: &ws.dir,
        root: &root,
        category: &ws.task.category,
        kind: ws.task.kind.as_str(),
        launch_rel: &launch.rel,
        session_id: &a.id,
        session_mode: opts.mode.as_str(),
        agent_env: &opts.agent_env,
    });
    Session {
        inner: Mutex::new(Inner {
            ws_dir: ws.dir,
            dirs: a.dirs,
            id: a.id,
            agent: opts.agent.clone(),
            mode: opts.mode,
            role: a.role,
            started_at: a.started_at,
            lock: a.lock,
            beat: a.beat,
            heartbeat: a.heartbeat,
            start: a.start,
            capture: opts.capture.clone(),
            summary_manifest_max: opts.summary_manifest_max,
            launch,
            env,
            outside_changes: a.outside,
            last_summary: a.last,
            owner_lease: a.owner,
            recovered: a.recovered,
            warnings: a.warnings,
            newly_created: opts.newly_created,
            provisional: a.provisional,
            owner_pid: std::process::id(),
            outcome: None,
            end_failure: None,
            tmux_session: a.tmux_session,
            adopted_at: a.adopted_at,
        }),
    }
}
