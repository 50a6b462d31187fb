//! Directory descriptors: `.ctask/` and `logs/` opened once with `O_DIRECTORY|O_NOFOLLOW`
//! and every file in them reached relative to the descriptor (`openat`, `renameat`,
//! `unlinkat`), so an agent that renames the directory or puts a symlink in its place
//! cannot make ctask write anywhere else (docs/design.md §6).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::error::{Error, Result};

/// An open directory, and the path it was opened at (for messages and for checking that
/// the path still leads to it).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
    dev: u64,
    ino: u64,
}

/// Refuses a name with a NUL byte (it cannot be passed to the system).
fn check_name(name: &str) -> Result<()> {
    if name.contains('\0') {
        return Err(Error::invalid(format!("file name {name:?} contains NUL")));
    }
    Ok(())
}

/// The most files [`sync_files`] makes durable one by one; past it, one `syncfs` is cheaper.
pub const SYNC_EACH_MAX: usize = 256;

/// Whether `n` files are made durable each by its own `fsync` (else by one `syncfs`): the
/// rule of [`sync_files`], for a caller that syncs each file as it writes it.
pub fn sync_each(n: usize) -> bool {
    n <= SYNC_EACH_MAX
}

/// Makes `files` durable — each a directory and a name in it (`"."`: the directory
/// itself) — by an `fsync` of each when there are at most [`SYNC_EACH_MAX`], else by one
/// `syncfs` of the filesystem `fs` is on (which also waits for every other program's
/// pending writes there). A name is opened without following a symlink; an error names
/// the file it concerns.
pub fn sync_files(fs: BorrowedFd<'_>, files: &[(BorrowedFd<'_>, &str)]) -> io::Result<()> {
    if !sync_each(files.len()) {
        return Ok(rustix::fs::syncfs(fs)?);
    }
    for (dir, name) in files {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        rustix::fs::openat(dir, *name, flags, Mode::empty())
            .and_then(|fd| rustix::fs::fsync(&fd))
            .map_err(|e| {
                let e = io::Error::from(e);
                io::Error::new(e.kind(), format!("{name}: {e}"))
            })?;
    }
    Ok(())
}

/// Maps the errors of a no-follow open to a path-security error where they mean "a
/// symlink or not a directory".
pub fn nofollow_error(path: &Path, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::ENOTDIR) => Error::security(
            path,
            "is a symbolic link or not a directory; refusing to use it",
        ),
        _ => Error::io(path, e),
    }
}

impl Dir {
    /// Opens directory `path` without following a symlink at its last component.
    pub fn open(path: &Path) -> Result<Dir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::empty())
            .map_err(|e| nofollow_error(path, e.into()))?;
        let meta = File::from(fd.try_clone().map_err(|e| Error::io(path, e))?)
            .metadata()
            .map_err(|e| Error::io(path, e))?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// A second descriptor of the same directory.
    pub fn try_clone(&self) -> Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone().map_err(|e| Error::io(&self.path, e))?,
            path: self.path.clone(),
            dev: self.dev,
            ino: self.ino,
        })
    }

    /// The path the directory was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` inside it (for messages).
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether the path it was opened at still leads to this very directory (not moved,
    /// not replaced by a symlink or another directory).
    pub fn still_at_path(&self) -> bool {
        std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.is_dir() && m.dev() == self.dev && m.ino() == self.ino)
    }

    /// Opens `name` inside with `flags` (always `O_NOFOLLOW|O_CLOEXEC`) and `mode`.
    pub fn open_file(
        &self,
        name: &str,
        flags: libc::c_int,
        mode: libc::mode_t,
    ) -> io::Result<File> {
        #[allow(clippy::unnecessary_cast)]
        let flags = OFlags::from_bits_retain(flags as _) | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        #[allow(clippy::useless_conversion)]
        let mode = Mode::from_raw_mode(mode.into());
        Ok(File::from(rustix::fs::openat(&self.fd, name, flags, mode)?))
    }

    /// Reads regular file `name` whole, refusing more than `cap` bytes with an error naming
    /// the file; `Ok(None)` when it does not exist. A symlink or a special file (a FIFO
    /// never blocks the read) is refused.
    pub fn read_capped(&self, name: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        let path = self.join(name);
        let file = match self.open_file(name, libc::O_RDONLY | libc::O_NONBLOCK, 0) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(Error::security(&path, "is a symbolic link"));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        read_file_capped(file, &path, cap).map(Some)
    }

    /// Removes `name`; an absent file is not an error. Returns whether one was removed.
    pub fn unlink(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        let e = match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => return Ok(true),
            Err(e) => io::Error::from(e),
        };
        if e.kind() == io::ErrorKind::NotFound {
            Ok(false)
        } else {
            Err(Error::io(self.join(name), e))
        }
    }

    /// Renames `from` to `to`, both inside this directory.
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.fd, from, &self.fd, to)?)
    }

    /// Makes `to` a second name of `from` (fails like `O_EXCL` when `to` exists).
    pub fn link(&self, from: &str, to: &str) -> io::Result<()> {
        Ok(rustix::fs::linkat(
            &self.fd,
            from,
            &self.fd,
            to,
            AtFlags::empty(),
        )?)
    }

    /// Metadata of `name` without following a symlink; `None` when absent.
    pub fn stat(&self, name: &str) -> Result<Option<Stat>> {
        check_name(name)?;
        let e = match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => return Ok(Some(Stat::of(&st))),
            Err(e) => io::Error::from(e),
        };
        if e.kind() == io::ErrorKind::NotFound {
            Ok(None)
        } else {
            Err(Error::io(self.join(name), e))
        }
    }

    /// fsyncs the directory so a rename or unlink inside it is durable.
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.fd).map_err(|e| Error::io(&self.path, e.into()))
    }

    /// Replaces `name` atomically with what `fill` writes: a temp file in this directory,
    /// fsync, `renameat` over the target, fsync of the directory. A symlink at `name` is
    /// replaced, never written through.
    pub fn write_atomic_with(
        &self,
        name: &str,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        self.replace_with(name, fill)?;
        self.sync()
    }

    /// [`Dir::write_atomic_with`] without the directory's fsync: the rename becomes
    /// durable with the next fsync of this directory (the caller's next atomic write).
    pub fn replace_with(
        &self,
        name: &str,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        let target = self.join(name);
        let (tmp_name, file) = self.create_temp()?;
        let result = (|| {
            let mut file = file;
            {
                let mut w = io::BufWriter::with_capacity(256 * 1024, &mut file);
                fill(&mut w)?;
                w.flush()?;
            }
            file.sync_all()?;
            self.rename(&tmp_name, name)
        })();
        if let Err(e) = result {
            let _ = self.unlink(&tmp_name);
            return Err(Error::io(&target, e));
        }
        Ok(())
    }

    /// Replaces `name` atomically with `bytes`.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.write_atomic_with(name, |w| w.write_all(bytes))
    }

    /// Serialises `value` as pretty JSON (with a final newline) into `name`, atomically.
    pub fn write_json_atomic<T: serde::Serialize>(&self, name: &str, value: &T) -> Result<()> {
        self.replace_json(name, value)?;
        self.sync()
    }

    /// [`Dir::write_json_atomic`] without the directory's fsync (see [`Dir::replace_with`]).
    pub fn replace_json<T: serde::Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::format(self.join(name), format!("cannot serialise: {e}")))?;
        bytes.push(b'\n');
        self.replace_with(name, |w| w.write_all(&bytes))
    }

    /// Creates a new temp file (the writer's host-and-pid prefix) exclusively; returns its
    /// name and the open file.
    pub fn create_temp(&self) -> Result<(String, File)> {
        let prefix = crate::fsio::temp_prefix();
        for _ in 0..16 {
            let name = format!("{prefix}{}", random_hex(6));
            match self.open_file(&name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o644) {
                Ok(f) => return Ok((name, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(self.join(&name), e)),
            }
        }
        Err(Error::io(
            &self.path,
            io::Error::new(io::ErrorKind::AlreadyExists, "no free temp file name"),
        ))
    }
}

impl Dir {
    /// Opens (with `create`: makes first, mode 0700) the sub-directory `name` without
    /// following a symlink; a symlink or non-directory there is a path-security error.
    pub fn open_sub(&self, name: &str, create: bool) -> Result<Dir> {
        check_name(name)?;
        let path = self.join(name);
        if create {
            match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700)) {
                Ok(()) => self.sync()?,
                Err(e) if e == rustix::io::Errno::EXIST => {}
                Err(e) => return Err(Error::io(&path, e.into())),
            }
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())
            .map_err(|e| nofollow_error(&path, e.into()))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io(&path, e.into()))?;
        let st = Stat::of(&st);
        Ok(Dir {
            fd,
            path,
            dev: st.dev,
            ino: st.ino,
        })
    }

    /// Removes the empty sub-directory `name` (fails when it is not empty).
    pub fn remove_empty_dir(&self, name: &str) -> Result<()> {
        check_name(name)?;
        rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)
            .map_err(|e| Error::io(self.join(name), e.into()))
    }

    /// The names inside (not `.` and `..`; names that are not UTF-8 are left out).
    pub fn names(&self) -> Result<Vec<String>> {
        // A descriptor of its own: a duplicate would share the read position.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, ".", flags, Mode::empty())
            .map_err(|e| Error::io(&self.path, e.into()))?;
        let mut rd = rustix::fs::Dir::new(fd).map_err(|e| Error::io(&self.path, e.into()))?;
        let mut out = Vec::new();
        while let Some(ent) = rd.read() {
            let ent = ent.map_err(|e| Error::io(&self.path, e.into()))?;
            let Ok(name) = ent.file_name().to_str() else {
                continue;
            };
            if name != "." && name != ".." {
                out.push(name.to_owned());
            }
        }
        Ok(out)
    }

    /// Makes the files `names` inside durable by the rule of [`sync_files`]; errors name
    /// the directory.
    pub fn sync_names(&self, names: &[String]) -> Result<()> {
        let fd = self.fd.as_fd();
        let files: Vec<(BorrowedFd<'_>, &str)> = names.iter().map(|n| (fd, n.as_str())).collect();
        sync_files(fd, &files).map_err(|e| Error::io(&self.path, e))
    }

    /// Size in bytes and modification time of `name` (not following a symlink).
    pub fn size_of(&self, name: &str) -> Option<(u64, Option<std::time::SystemTime>)> {
        let st = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        let size = u64::try_from(st.st_size).unwrap_or(0);
        Some((size, Stat::of(&st).mtime))
    }
}

/// What [`Dir::stat`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// File type bits (`S_IFMT` part of the mode).
    pub kind: u32,
    /// Last modification.
    pub mtime: Option<std::time::SystemTime>,
}

impl Stat {
    // The field types of `struct stat` differ between platforms.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    fn of(st: &rustix::fs::Stat) -> Stat {
        let mtime = std::time::SystemTime::UNIX_EPOCH
            .checked_add(std::time::Duration::from_secs(st.st_mtime.max(0) as u64))
            .and_then(|t| {
                t.checked_add(std::time::Duration::from_nanos(
                    u64::try_from(st.st_mtime_nsec).unwrap_or(0),
                ))
            });
        Stat {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            kind: (st.st_mode as u32) & (libc::S_IFMT as u32),
            mtime,
        }
    }

    /// Whether it is a directory.
    #[allow(clippy::unnecessary_cast)]
    pub fn is_dir(&self) -> bool {
        self.kind == libc::S_IFDIR as u32
    }
}

/// Reads an open file whole, refusing a special file and more than `cap` bytes; errors
/// name `path`.
pub fn read_file_capped(file: File, path: &Path, cap: u64) -> Result<Vec<u8>> {
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::format(path, "is not a regular file"));
    }
    if meta.len() > cap {
        return Err(too_big(path, cap));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::io(path, e))?;
    if out.len() as u64 > cap {
        return Err(too_big(path, cap));
    }
    Ok(out)
}

fn too_big(path: &Path, cap: u64) -> Error {
    Error::format(
        path,
        format!("is larger than {cap} bytes, the most ctask reads of this file"),
    )
}

/// `n` random bytes as lower-case hex (falls back to the clock when no randomness is at
/// hand).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> ((i % 16) * 8)) as u8 ^ (std::process::id() as u8);
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(n: usize) -> (tempfile::TempDir, Dir, Vec<String>) {
        let t = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
        for n in &names {
            std::fs::write(t.path().join(n), b"x").unwrap();
        }
        let d = Dir::open(t.path()).unwrap();
        (t, d, names)
    }

    #[test]
    fn sync_names_fsyncs_each_file_up_to_the_bound() {
        let (t, d, mut names) = dir_with(3);
        d.sync_names(&names).unwrap();
        // One by one: a name that is not there, or is a symlink, is an error.
        names.push("missing".into());
        let e = d.sync_names(&names).unwrap_err().to_string();
        assert!(e.contains("missing: No such file"), "{e}");
        std::os::unix::fs::symlink("f0", t.path().join("link")).unwrap();
        let e = d.sync_names(&["link".to_string()]).unwrap_err().to_string();
        assert!(e.contains(&t.path().display().to_string()), "{e}");
    }

    #[test]
    fn sync_names_past_the_bound_is_one_syncfs() {
        let (_t, d, mut names) = dir_with(SYNC_EACH_MAX + 1);
        // One syncfs: the names are not opened, so one that is missing does not matter.
        names[0] = "missing".into();
        d.sync_names(&names).unwrap();
        names.truncate(SYNC_EACH_MAX);
        assert!(d.sync_names(&names).is_err());
    }

    #[test]
    fn sync_files_takes_a_directory_itself_as_dot() {
        let (_t, d, _) = dir_with(1);
        let fd = d.fd.as_fd();
        sync_files(fd, &[(fd, "."), (fd, "f0")]).unwrap();
    }
}
