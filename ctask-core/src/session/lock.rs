//! `session.lock`: held exclusively by the lease owner for its whole session, so the kernel
//! tells everyone else at once when the owner dies. Never removed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long begin keeps retrying, so a prober's brief shared lock never makes it fail.
pub const ACQUIRE_RETRY: Duration = Duration::from_millis(200);

/// An exclusive hold on `session.lock`, released by [`SessionLock::release`] in the owning
/// process. A copy inherited through `fork` only closes its descriptor on drop.
#[derive(Debug)]
pub struct SessionLock {
    file: Option<File>,
    path: PathBuf,
    owner_pid: u32,
}

fn open(path: &Path, create: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    if create {
        o.write(true).create(true).mode(0o644);
    }
    o.open(path)
}

impl SessionLock {
    /// Tries to take `path` exclusively, retrying for [`ACQUIRE_RETRY`]; `Ok(None)` when
    /// another process holds it (its owner is alive).
    pub fn try_acquire(path: &Path) -> Result<Option<SessionLock>> {
        let file = open(path, true).map_err(|e| lock_open_error(path, e))?;
        let deadline = Instant::now() + ACQUIRE_RETRY;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(Some(SessionLock {
                        file: Some(file),
                        path: path.to_path_buf(),
                        owner_pid: std::process::id(),
                    }));
                }
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock (only in the process that took it).
    pub fn release(mut self) {
        self.release_inner();
    }

    fn release_inner(&mut self) {
        if let Some(f) = self.file.take()
            && std::process::id() == self.owner_pid
        {
            let _ = f.unlock();
        }
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        self.release_inner();
    }
}

fn lock_open_error(path: &Path, e: io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        Error::security(path, "is a symbolic link; refusing to use it")
    } else {
        Error::io(path, e)
    }
}

/// Whether someone holds `session.lock`, probed with a shared lock that is released at once.
/// Never creates the file; a missing file means nobody holds it.
pub fn is_held(path: &Path) -> Result<bool> {
    let file = match open(path, false) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(lock_open_error(path, e)),
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(false)
        }
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_fails_until_release() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("session.lock");
        let a = SessionLock::try_acquire(&p).unwrap().unwrap();
        assert!(SessionLock::try_acquire(&p).unwrap().is_none());
        assert!(is_held(&p).unwrap());
        a.release();
        assert!(!is_held(&p).unwrap());
        assert!(SessionLock::try_acquire(&p).unwrap().is_some());
        assert!(p.exists(), "session.lock is never removed");
    }

    #[test]
    fn probe_does_not_create_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("session.lock");
        assert!(!is_held(&p).unwrap());
        assert!(!p.exists());
    }
}
