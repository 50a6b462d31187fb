//! File-system primitives every writer in the core goes through: atomic replacement,
//! symlink-refusing directory checks and reads that tell "absent" from "broken".

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Prefix of the temporary files made by [`write_atomic`] and `write.lock`; nothing else
/// uses it. The full prefix, [`temp_prefix`], names the creator's host and pid, so a temp
/// file left by a killed writer can be told from one being written ([`sweep_temp_files`]).
pub const TEMP_PREFIX: &str = ".ctask-tmp-";

/// Age after which a temp file whose creator cannot be checked (another host's, or one
/// without host and pid) is garbage: no write of ctask's own files takes that long.
pub const TEMP_ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// The host part of temp names: the host name restricted to `[A-Za-z0-9.-]`.
fn temp_host() -> String {
    crate::session::host::hostname()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// `.ctask-tmp-<host>_<pid>_` for temp files made by this process.
pub fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}_{}_", temp_host(), std::process::id())
}

/// Removes the temp files in `dir` that nobody will finish: those of a process of this host
/// that no longer exists, and any other older than [`TEMP_ABANDONED_AFTER`]. Call it holding
/// `write.lock`. Returns how many were removed; errors are ignored (best effort).
pub fn sweep_temp_files(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    let host = temp_host();
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        let pid = rest
            .rsplit_once('_')
            .and_then(|(head, _)| head.rsplit_once('_'))
            .filter(|(h, _)| *h == host)
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        let abandoned = match pid {
            Some(pid) => {
                pid != std::process::id()
                    && crate::session::host::pid_state(pid) == crate::session::host::PidState::Gone
            }
            None => e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > TEMP_ABANDONED_AFTER),
        };
        if abandoned && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Replaces `path` with `bytes` atomically: temp file in the same directory, fsync,
/// rename over the target, fsync of the directory. A symlink at `path` is replaced,
/// never written through.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomic`], with the contents streamed by `fill` through a buffered writer
/// (large documents are never held whole in memory).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let dir = parent_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix())
        .tempfile_in(dir)
        .at(dir)?;
    // Errors name the file being replaced, not its temp file.
    {
        let mut w = io::BufWriter::with_capacity(256 * 1024, tmp.as_file_mut());
        fill(&mut w).at(path)?;
        w.flush().at(path)?;
    }
    tmp.as_file().sync_all().at(path)?;
    set_mode(tmp.as_file(), 0o644).at(tmp.path())?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir)
}

/// Serialises `value` as pretty JSON (with a final newline) and writes it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::format(path, format!("cannot serialise: {e}")))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// fsyncs a directory so a rename or unlink inside it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// Removes a file; an absent file is not an error. Returns whether something was removed.
pub fn remove_if_exists(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Reads a file; `Ok(None)` when it does not exist. Refuses a symlink.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::security(path, "is a symbolic link"));
        }
        Ok(_) => {}
    }
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Reads a regular file of at most `cap` bytes; `Ok(None)` when it does not exist. Refuses
/// a symlink or a special file (never blocking on a FIFO), and a larger file with an error
/// naming it.
pub fn read_optional_capped(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Error::security(path, "is a symbolic link"));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    crate::session::dirfd::read_file_capped(file, path, cap).map(Some)
}

/// Makes sure `dir` is a real directory (not a symlink), creating it when `create` is set
/// and it is missing.
pub fn ensure_real_dir(dir: &Path, create: bool) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::security(
            dir,
            "is a symbolic link; refusing to use it",
        )),
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::security(dir, "exists but is not a directory")),
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => match fs::create_dir(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => ensure_real_dir(dir, false),
            Err(e) => Err(Error::io(dir, e)),
        },
        Err(e) => Err(Error::io(dir, e)),
    }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_temp_files_of_dead_writers_only() {
        let d = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let host = temp_host();
        let dead_tmp = d.path().join(format!("{TEMP_PREFIX}{host}_{dead}_abc"));
        let mine = d.path().join(format!("{}xyz", temp_prefix()));
        let other_host = d.path().join(format!("{TEMP_PREFIX}elsewhere_{dead}_abc"));
        let fresh_legacy = d.path().join(format!("{TEMP_PREFIX}Qw3rty"));
        let user_file = d.path().join("notes.md");
        for p in [&dead_tmp, &mine, &other_host, &fresh_legacy, &user_file] {
            fs::write(p, b"x").unwrap();
        }
        assert_eq!(sweep_temp_files(d.path()), 1);
        assert!(!dead_tmp.exists());
        for p in [&mine, &other_host, &fresh_legacy, &user_file] {
            assert!(p.exists(), "{}", p.display());
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_replaces_a_symlink_instead_of_following_it() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let p = d.path().join("link");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(!fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_dir_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = d.path().join(".ctask");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            ensure_real_dir(&link, true),
            Err(Error::PathSecurity { .. })
        ));
        assert!(matches!(
            read_optional(&link),
            Err(Error::PathSecurity { .. })
        ));
    }
}
