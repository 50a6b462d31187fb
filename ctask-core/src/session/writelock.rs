//! `write.lock`: short critical sections around writes of ctask's own files, with the
//! reference tool's protocol (created with `O_CREAT|O_EXCL`, content `{pid, hostname,
//! acquired_at}`, removed on release, waited for up to 2 s, broken when older than 10 s or
//! when its same-host owner is gone).
//!
//! Ownership is proven by content, never by inode (a broken lock's inode is often reused
//! by the breaker's new one): ctask adds a random `token` to the content (the reference
//! tool ignores unknown keys), and removes the lock on release only when it still holds
//! that token. A lock is judged stale by its `acquired_at`, by its holder's pid on this
//! host, by its mtime when its content is empty or partial (a writer between create and
//! write), and by how long this very wait has seen it unchanged — so a planted lock with
//! a timestamp in the future cannot block a wait longer than [`STALE_AFTER`] either.
//! The lock is created with its content in one step (a hard link of a complete temp file,
//! which fails like `O_EXCL` when the lock exists), so a reader never sees it empty; on a
//! file system without hard links (vfat, some FUSE/SMB) it is created with `O_CREAT|O_EXCL`
//! and then written, as the reference tool does. Its content is not `fsync`ed: every
//! process on the machine sees it whole at once, and after a power loss no holder is left
//! — a lock that lost its content is judged by its mtime like any empty one.

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::dirfd::{self, Dir};
use super::host;
use crate::error::{Error, Result};
use crate::fsio;

/// How long [`WriteLock::acquire`] waits before giving up.
pub const WAIT: Duration = Duration::from_secs(2);
/// Age after which a held `write.lock` is considered abandoned.
pub const STALE_AFTER: Duration = Duration::from_secs(10);
/// How long an end waits: long enough for any lock it finds to become breakable, so a
/// lock an agent planted (or a suspended holder's) can delay an end but never fail it.
pub const OUTLAST: Duration = Duration::from_secs(STALE_AFTER.as_secs() + 3);
/// The most of `write.lock` that is read when judging it.
const READ_CAP: u64 = 64 * 1024;

/// Contents of `write.lock`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    /// Holder process id.
    pub pid: u32,
    /// Holder host.
    pub hostname: String,
    /// When it was taken (RFC 3339).
    pub acquired_at: String,
    /// The holder's random proof of ownership (absent in the reference tool's locks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A held `write.lock`; removed when dropped if it still carries our token.
#[derive(Debug)]
pub struct WriteLock {
    dir: Dir,
    name: String,
    token: String,
}

/// What one wait has seen of a lock it could not take.
struct Seen {
    dev: u64,
    ino: u64,
    body: Option<Vec<u8>>,
    since: Instant,
}

impl WriteLock {
    /// Takes `path`, waiting up to [`WAIT`] and breaking a stale lock.
    pub fn acquire(path: &Path) -> Result<WriteLock> {
        Self::acquire_within(path, WAIT)
    }

    /// Takes `path`, waiting up to `wait`.
    pub fn acquire_within(path: &Path, wait: Duration) -> Result<WriteLock> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::invalid(format!("bad lock path {}", path.display())))?;
        Self::acquire_in(&Dir::open(dir)?, name, wait)
    }

    /// Takes `name` inside the open directory `dir`, waiting up to `wait`.
    pub fn acquire_in(dir: &Dir, name: &str, wait: Duration) -> Result<WriteLock> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        let mut seen: Option<Seen> = None;
        loop {
            if let Some(lock) = try_create(dir, name)? {
                return Ok(lock);
            }
            break_if_stale(dir, name, &mut seen)?;
            if Instant::now() >= deadline {
                return Err(Error::LockTimeout {
                    path: dir.join(name),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    /// The token this holder wrote into the lock.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        // Remove only a lock that still carries our token: one broken and retaken by
        // someone else stays. (Between this read and the unlink a breaker could replace
        // it; it would have to judge us stale first, i.e. we held it over STALE_AFTER.)
        if let Ok(Some(body)) = self.dir.read_capped(&self.name, READ_CAP)
            && holder_token(&body).as_deref() == Some(self.token.as_str())
        {
            let _ = self.dir.unlink(&self.name);
        }
    }
}

fn holder_token(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Holder>(body).ok()?.token
}

/// Creates the lock with its content: a hard link of a complete temp file, or, where the
/// file system has no hard links, [`try_create_exclusive`]. `Ok(None)` when it is held.
fn try_create(dir: &Dir, name: &str) -> Result<Option<WriteLock>> {
    let path = dir.join(name);
    let (token, body) = holder_body(&path)?;
    let (tmp, mut file) = dir.create_temp()?;
    let written = file.write_all(&body);
    drop(file);
    let linked = written.and_then(|()| dir.link(&tmp, name));
    let _ = dir.unlink(&tmp);
    match linked {
        Ok(()) => Ok(Some(WriteLock {
            dir: dir.try_clone()?,
            name: name.to_owned(),
            token,
        })),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) if no_hard_links(&e) => try_create_exclusive(dir, name),
        Err(e) => Err(dirfd::nofollow_error(&path, e)),
    }
}

/// Whether `e` says the file system cannot make hard links.
fn no_hard_links(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EPERM | libc::ENOTSUP | libc::ENOSYS | libc::EMLINK)
    ) || e.raw_os_error() == Some(libc::EOPNOTSUPP)
}

/// A new token and the lock's content naming this process.
fn holder_body(path: &Path) -> Result<(String, Vec<u8>)> {
    let token = dirfd::random_hex(16);
    let holder = Holder {
        pid: host::current_pid(),
        hostname: host::hostname(),
        acquired_at: Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true),
        token: Some(token.clone()),
    };
    let body = serde_json::to_vec(&holder).map_err(|e| Error::format(path, e.to_string()))?;
    Ok((token, body))
}

/// Creates the lock with `O_CREAT|O_EXCL` and then writes its content (the reference
/// tool's way; between the two a reader sees it empty and judges it by its mtime).
/// `Ok(None)` when it is held. A write that fails removes the half-made lock.
fn try_create_exclusive(dir: &Dir, name: &str) -> Result<Option<WriteLock>> {
    let path = dir.join(name);
    let (token, body) = holder_body(&path)?;
    let mut file = match dir.open_file(name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o644) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(dirfd::nofollow_error(&path, e)),
    };
    if let Err(e) = file.write_all(&body) {
        // Ours, but without its token yet: remove it directly.
        let _ = dir.unlink(name);
        return Err(Error::io(&path, e));
    }
    Ok(Some(WriteLock {
        dir: dir.try_clone()?,
        name: name.to_owned(),
        token,
    }))
}

/// Breaks `name` when it is stale (see the module documentation). Moves it aside first and
/// removes what was moved only when it is exactly the lock that was judged; anything else
/// (a lock taken in between) is put back without replacing one taken since.
fn break_if_stale(dir: &Dir, name: &str, seen: &mut Option<Seen>) -> Result<()> {
    let Some(st) = dir.stat(name)? else {
        *seen = None;
        return Ok(());
    };
    let body = dir.read_capped(name, READ_CAP).ok().flatten();
    let (dev, ino) = (st.dev, st.ino);
    let observed = match seen {
        Some(s) if s.dev == dev && s.ino == ino && s.body == body => s.since.elapsed(),
        _ => {
            *seen = Some(Seen {
                dev,
                ino,
                body: body.clone(),
                since: Instant::now(),
            });
            Duration::ZERO
        }
    };
    let holder = body
        .as_deref()
        .and_then(|b| serde_json::from_slice::<Holder>(b).ok());
    let mtime = st.mtime;
    if !is_stale(holder.as_ref(), mtime, observed) {
        return Ok(());
    }
    // Look once more right before moving it: what is moved is then almost always the lock
    // judged, and the give-back below (a moment without any lock) almost never needed.
    let again = dir.stat(name)?;
    if again.is_none_or(|a| a.dev != dev || a.ino != ino)
        || dir.read_capped(name, READ_CAP).ok().flatten() != body
    {
        return Ok(());
    }
    let aside = format!("{}broken-{}", fsio::temp_prefix(), dirfd::random_hex(6));
    match dir.rename(name, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir.join(name), e)),
    }
    *seen = None;
    let moved = dir.stat(&aside)?;
    let moved_body = dir.read_capped(&aside, READ_CAP).ok().flatten();
    let same = moved.is_some_and(|m| m.dev == dev && m.ino == ino) && moved_body == body;
    if !same {
        // A lock taken between our judgement and the rename: give it back, never over
        // one taken since.
        match dir.link(&aside, name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => {
                if dir.stat(name)?.is_none() {
                    let _ = dir.rename(&aside, name);
                }
            }
        }
    }
    let _ = dir.unlink(&aside);
    Ok(())
}

fn is_stale(holder: Option<&Holder>, mtime: Option<SystemTime>, observed: Duration) -> bool {
    if observed > STALE_AFTER {
        return true;
    }
    let now = Utc::now();
    // A time in the future (a skewed clock, or a planted lock) proves nothing.
    let plausible = |t: DateTime<Utc>| t <= now + chrono::Duration::seconds(1);
    let taken = holder
        .and_then(|h| DateTime::parse_from_rfc3339(&h.acquired_at).ok())
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| plausible(*t))
        .or_else(|| mtime.map(DateTime::<Utc>::from).filter(|t| plausible(*t)));
    if let Some(taken) = taken
        && (now - taken).num_milliseconds() > STALE_AFTER.as_millis() as i64
    {
        return true;
    }
    match holder {
        Some(h) if h.hostname == host::hostname() => host::pid_state(h.pid) == host::PidState::Gone,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
            token: None,
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
            token: None,
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

    #[test]
    fn a_lock_rewritten_in_place_by_a_breaker_is_not_removed_by_the_old_holder() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("write.lock");
        let a = WriteLock::acquire(&p).unwrap();
        let mine: Holder = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(mine.token.as_deref(), Some(a.token()));
        // Another holder's lock on the very same inode (a breaker's new lock often gets
        // the broken one's inode number).
        let theirs = Holder {
            pid: 1,
            hostname: "elsewhere".into(),
            acquired_at: Utc::now().to_rfc3339(),
            token: Some("0123".into()),
        };
        fs::write(&p, serde_json::to_vec(&theirs).unwrap()).unwrap();
        drop(a);
        assert!(p.exists(), "the old holder removed another's lock");
    }

    #[test]
    fn the_path_without_hard_links_is_exclusive_and_proves_ownership() {
        let d = tempfile::tempdir().unwrap();
        let dir = Dir::open(d.path()).unwrap();
        let a = try_create_exclusive(&dir, "write.lock").unwrap().unwrap();
        let h: Holder =
            serde_json::from_slice(&fs::read(d.path().join("write.lock")).unwrap()).unwrap();
        assert_eq!(h.token.as_deref(), Some(a.token()));
        assert!(try_create_exclusive(&dir, "write.lock").unwrap().is_none());
        assert!(try_create(&dir, "write.lock").unwrap().is_none());
        drop(a);
        assert!(!d.path().join("write.lock").exists());
        let names: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
        assert!(names.is_empty(), "no temp files left");
    }

    #[test]
    fn an_empty_lock_is_judged_by_its_mtime() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("write.lock");
        // A writer between create and write: fresh, so it is waited for.
        fs::write(&p, b"").unwrap();
        assert!(WriteLock::acquire_within(&p, Duration::from_millis(50)).is_err());
        // Left empty by a writer killed long ago: broken.
        let old = SystemTime::now() - Duration::from_secs(30);
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let l = WriteLock::acquire_within(&p, Duration::from_millis(50)).unwrap();
        drop(l);
        assert!(!p.exists());
        let names: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
        assert!(names.is_empty(), "nothing left aside");
    }

    #[test]
    fn a_lock_dated_in_the_future_is_judged_by_how_long_it_was_seen() {
        let future = Holder {
            pid: 1,
            hostname: "elsewhere".into(),
            acquired_at: (Utc::now() + chrono::Duration::days(365)).to_rfc3339(),
            token: None,
        };
        assert!(!is_stale(
            Some(&future),
            Some(SystemTime::now()),
            Duration::ZERO
        ));
        assert!(is_stale(
            Some(&future),
            Some(SystemTime::now()),
            STALE_AFTER + Duration::from_millis(1)
        ));
        // Its mtime in the future proves nothing either.
        let far = SystemTime::now() + Duration::from_secs(3600);
        assert!(!is_stale(None, Some(far), Duration::from_secs(1)));
    }
}
