//! `write.lock`: short critical sections around writes of ctask's own files, with the
//! reference tool's protocol (exclusive create, removed on release, waited for up to 2 s,
//! broken when older than 10 s or when its same-host owner is gone).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::host;
use crate::error::{Error, IoContext, Result};
use crate::fsio;

/// How long [`WriteLock::acquire`] waits before giving up.
pub const WAIT: Duration = Duration::from_secs(2);
/// Age after which a held `write.lock` is considered abandoned.
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// Contents of `write.lock`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    /// Holder process id.
    pub pid: u32,
    /// Holder host.
    pub hostname: String,
    /// When it was taken (RFC 3339).
    pub acquired_at: String,
}

/// A held `write.lock`; removed when dropped (if it is still ours).
#[derive(Debug)]
pub struct WriteLock {
    path: PathBuf,
    ino: u64,
    dev: u64,
}

impl WriteLock {
    /// Takes `path`, waiting up to [`WAIT`] and breaking a stale lock.
    pub fn acquire(path: &Path) -> Result<WriteLock> {
        Self::acquire_within(path, WAIT)
    }

    /// Takes `path`, waiting up to `wait`.
    pub fn acquire_within(path: &Path, wait: Duration) -> Result<WriteLock> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            if let Some(lock) = try_create(dir, path)? {
                return Ok(lock);
            }
            break_if_stale(path)?;
            if Instant::now() >= deadline {
                return Err(Error::LockTimeout {
                    path: path.to_path_buf(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        // Remove only the file we created: a lock broken and retaken by someone else stays.
        if let Ok(m) = fs::symlink_metadata(&self.path)
            && m.ino() == self.ino
            && m.dev() == self.dev
        {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates the lock with its content in one step (a hard link of a complete temp file,
/// which fails like `O_EXCL` when the lock exists). `Ok(None)` when it is held.
fn try_create(dir: &Path, path: &Path) -> Result<Option<WriteLock>> {
    let holder = Holder {
        pid: host::current_pid(),
        hostname: host::hostname(),
        acquired_at: Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true),
    };
    let body = serde_json::to_vec(&holder).map_err(|e| Error::format(path, e.to_string()))?;
    let tmp = tempfile::Builder::new()
        .prefix(&fsio::temp_prefix())
        .tempfile_in(dir)
        .at(dir)?;
    fs::write(tmp.path(), &body).at(tmp.path())?;
    let linked = fs::hard_link(tmp.path(), path);
    drop(tmp);
    match linked {
        Ok(()) => {
            let m = fs::symlink_metadata(path).at(path)?;
            Ok(Some(WriteLock {
                path: path.to_path_buf(),
                ino: m.ino(),
                dev: m.dev(),
            }))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Breaks `path` when its holder is gone (same host) or it is older than [`STALE_AFTER`].
fn break_if_stale(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let holder = fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Holder>(&b).ok());
    if !is_stale(holder.as_ref(), meta.modified().ok()) {
        return Ok(());
    }
    // Move it aside first, then make sure what we moved is the file we judged.
    let aside = path.with_file_name(format!("{}broken{}", fsio::temp_prefix(), meta.ino()));
    match fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, e)),
    }
    let moved = fs::symlink_metadata(&aside).at(&aside)?;
    if moved.ino() != meta.ino() || moved.dev() != meta.dev() {
        // Someone re-took the lock between our judgement and the rename: give it back.
        let _ = fs::hard_link(&aside, path);
    }
    let _ = fs::remove_file(&aside);
    Ok(())
}

fn is_stale(holder: Option<&Holder>, mtime: Option<SystemTime>) -> bool {
    let taken = holder
        .and_then(|h| DateTime::parse_from_rfc3339(&h.acquired_at).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| mtime.map(DateTime::<Utc>::from));
    if let Some(taken) = taken {
        let age = Utc::now() - taken;
        if age.num_milliseconds() > STALE_AFTER.as_millis() as i64 {
            return true;
        }
    }
    match holder {
        Some(h) if h.hostname == host::hostname() => host::pid_state(h.pid) == host::PidState::Gone,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_and_removed_on_release() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("write.lock");
        let a = WriteLock::acquire(&p).unwrap();
        let h: Holder = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(h.pid, std::process::id());
        let t = Instant::now();
        let err = WriteLock::acquire_within(&p, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, Error::LockTimeout { .. }));
        assert!(t.elapsed() >= Duration::from_millis(100));
        drop(a);
        assert!(!p.exists());
        let names: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
        assert!(names.is_empty(), "no temp files left");
    }

    #[test]
    fn lock_of_a_dead_same_host_pid_is_broken_at_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("write.lock");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let h = Holder {
            pid,
            hostname: host::hostname(),
            acquired_at: Utc::now().to_rfc3339(),
        };
        fs::write(&p, serde_json::to_vec(&h).unwrap()).unwrap();
        let t = Instant::now();
        let _l = WriteLock::acquire(&p).unwrap();
        assert!(t.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn old_lock_of_another_host_is_broken_fresh_one_is_not() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("write.lock");
        let old = Holder {
            pid: 1,
            hostname: "elsewhere".into(),
            acquired_at: (Utc::now() - chrono::Duration::seconds(30)).to_rfc3339(),
        };
        fs::write(&p, serde_json::to_vec(&old).unwrap()).unwrap();
        drop(WriteLock::acquire(&p).unwrap());
        let fresh = Holder {
            acquired_at: Utc::now().to_rfc3339(),
            ..old
        };
        fs::write(&p, serde_json::to_vec(&fresh).unwrap()).unwrap();
        assert!(WriteLock::acquire_within(&p, Duration::from_millis(50)).is_err());
    }
}
