//! Changing a workspace as a whole (above both the workspace and the session layers, which
//! it joins): archiving or restoring it (its `status` in `task.yaml`)
//! and deleting it. Each holds the workspace's `session.lock` while it acts and refuses a
//! live lease, and one whose state is unknown unless forced; deletion never leaves the
//! roots.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::fsio;
use crate::session::lease;
use crate::session::liveness::{Judgement, State, judge_unlocked};
use crate::session::lock::SessionLock;
use crate::session::paths::CtaskPaths;
use crate::session::status::{StatusReport, status_of};
use crate::session::writelock::WriteLock;
use crate::workspace::Workspace;
use crate::workspace::config::Settings;
use crate::workspace::taskfile::Status;

/// The status of workspace `dir`, or [`Error::ActiveSession`] naming the owner when a
/// session is active in it — or when its lease's state is `unknown` (another host's lease
/// without a heartbeat) and `force` is false. Probes only: writes nothing.
pub fn refuse_if_active(dir: &Path, stale_after_s: u64, force: bool) -> Result<StatusReport> {
    let st = status_of(dir, stale_after_s)?;
    if st.state == State::Active || (st.state == State::Unknown && !force) {
        return Err(busy(st));
    }
    Ok(st)
}

/// Takes `session.lock` of workspace `dir` for an operation on the whole workspace, judging
/// its lease the way begin does while holding the lock: a live owner (the lock is held, or
/// a reference-tool lease whose owner lives) is [`Error::ActiveSession`]; so is a lease
/// whose state is unknown, unless `force`. A dead or unreadable lease is left as it is.
fn hold_idle(
    dir: &Path,
    paths: &CtaskPaths,
    stale_after_s: u64,
    force: bool,
) -> Result<SessionLock> {
    let Some(lock) = SessionLock::try_acquire(&paths.session_lock)? else {
        return Err(busy(status_of(dir, stale_after_s)?));
    };
    match judge_unlocked(lease::read(&paths.lease)?, stale_after_s) {
        Judgement::Alive(owner) => Err(Error::ActiveSession {
            owner: Box::new(owner),
        }),
        Judgement::Unknown { lease, .. } if !force => Err(Error::ActiveSession {
            owner: Box::new(lease),
        }),
        _ => Ok(lock),
    }
}

fn busy(st: StatusReport) -> Error {
    let owner = st.lease.unwrap_or_else(|| crate::session::Lease {
        // session.lock is held but the lease is not readable (yet): a session is starting.
        session_id: "(starting, lease not written yet)".to_owned(),
        hostname: "?".to_owned(),
        ..Default::default()
    });
    Error::ActiveSession {
        owner: Box::new(owner),
    }
}

/// Sets the workspace's `status` (archive or restore) and writes `task.yaml` atomically.
/// When `.ctask/` exists, `session.lock` is held for the whole change (so no session can
/// begin meanwhile) and `write.lock` around the write. Refused while a session is active,
/// and while its lease's state is unknown unless `force`. Returns whether anything changed
/// (`false` when it already had that status); `ws` is refreshed from the file that was
/// written.
pub fn set_status(
    ws: &mut Workspace,
    status: Status,
    stale_after_s: u64,
    force: bool,
) -> Result<bool> {
    if ws.task.status == status {
        return Ok(false);
    }
    let paths = CtaskPaths::new(&ws.dir);
    let (_session, _guard) = match fs::symlink_metadata(&paths.dir) {
        Ok(_) => {
            fsio::ensure_real_dir(&paths.dir, false)?;
            let session = hold_idle(&ws.dir, &paths, stale_after_s, force)?;
            (Some(session), Some(WriteLock::acquire(&paths.write_lock)?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            refuse_if_active(&ws.dir, stale_after_s, force)?;
            (None, None)
        }
        Err(e) => return Err(Error::io(&paths.dir, e)),
    };
    // Read again under the lock so a concurrent rewrite of task.yaml is not lost.
    let mut fresh = Workspace::open(&ws.dir)?;
    if fresh.task.status == status {
        *ws = fresh;
        return Ok(false);
    }
    fresh.task.status = status;
    fresh.save()?;
    *ws = fresh;
    Ok(true)
}

/// Checks that `dir` may be deleted: a real directory (not a symbolic link) whose canonical
/// path lies strictly inside the canonical task root or project root.
pub fn check_removable(dir: &Path, settings: &Settings) -> Result<()> {
    let meta = fs::symlink_metadata(dir).at(dir)?;
    if meta.file_type().is_symlink() {
        return Err(Error::security(
            dir,
            "is a symbolic link; refusing to delete",
        ));
    }
    if !meta.is_dir() {
        return Err(Error::security(dir, "is not a directory"));
    }
    let canon = fs::canonicalize(dir).at(dir)?;
    let roots: Vec<PathBuf> = [&settings.root.value, &settings.project_root.value]
        .into_iter()
        .filter_map(|r| fs::canonicalize(r).ok())
        .collect();
    if roots.iter().any(|r| canon != *r && canon.starts_with(r)) {
        return Ok(());
    }
    Err(Error::security(
        dir,
        format!(
            "lies outside the task root ({}) and the project root ({}); refusing to delete",
            settings.root.value.display(),
            settings.project_root.value.display()
        ),
    ))
}

/// Deletes workspace `dir` and everything in it.
///
/// Refused when [`check_removable`] refuses, while a session is active, and while the
/// lease's state is unknown unless `force` (its `session.lock` is held for the whole
/// removal, so no session of this ctask can begin meanwhile). The directory is first
/// renamed to a hidden name beside it (so it vanishes from discovery at once) and then
/// removed without following any symbolic link inside it.
pub fn delete(dir: &Path, settings: &Settings, force: bool) -> Result<()> {
    check_removable(dir, settings)?;
    let dir = fs::canonicalize(dir).at(dir)?;
    let stale_after_s = settings.stale_after_seconds.value;
    let paths = CtaskPaths::new(&dir);
    let _hold = match fs::symlink_metadata(&paths.dir) {
        Ok(m) if m.is_dir() => Some(hold_idle(&dir, &paths, stale_after_s, force)?),
        _ => {
            refuse_if_active(&dir, stale_after_s, force)?;
            None
        }
    };

    let parent = dir
        .parent()
        .ok_or_else(|| Error::security(&dir, "has no parent directory"))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doomed = parent.join(format!(".{name}.deleting-{}", std::process::id()));
    fs::rename(&dir, &doomed).at(&dir)?;
    fs::remove_dir_all(&doomed).at(&doomed)?;
    fsio::sync_dir(parent)?;
    Ok(())
}
