//! Directory file descriptors. Everything below the workspace root is reached one name at a
//! time relative to an open directory (`openat`, `fstatat`, `readlinkat` with
//! `O_NOFOLLOW`/`AT_SYMLINK_NOFOLLOW`), never through a path: a name is a single component
//! and is never `..`, so no symlink is resolved in any component, whatever is swapped while
//! a capture runs.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};

use super::hash::Stat;
use super::listing::Listing;
use super::profile::{self, Phase};

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);
const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);

/// An open directory.
pub(crate) struct Dir(OwnedFd);

impl Dir {
    /// Opens the workspace root by path. Symlinks in it are followed: a workspace reached
    /// through one is walked at its target.
    pub(crate) fn open_root(path: &Path) -> io::Result<Dir> {
        retry(|| rustix::fs::open(path, DIR_FLAGS, Mode::empty())).map(Dir)
    }

    /// Opens the sub-directory `name`; fails with `ELOOP` or `ENOTDIR` when it is a
    /// symlink or no directory (any more).
    pub(crate) fn open_dir(&self, name: &CStr) -> io::Result<Dir> {
        profile::time(Phase::OpenDir, || {
            retry(|| rustix::fs::openat(&self.0, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty()))
        })
        .map(Dir)
    }

    /// Opens `name` for reading with `O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC`: a symlink
    /// fails with `ELOOP`, a FIFO does not block, a terminal does not become ours.
    pub(crate) fn open_file(&self, name: &CStr) -> io::Result<File> {
        profile::time(Phase::Open, || {
            retry(|| rustix::fs::openat(&self.0, name, FILE_FLAGS, Mode::empty()))
        })
        .map(File::from)
    }

    /// `fstatat(name, AT_SYMLINK_NOFOLLOW)`.
    pub(crate) fn stat(&self, name: &CStr) -> io::Result<Stat> {
        let st = profile::time(Phase::Stat, || {
            rustix::fs::statat(&self.0, name, AtFlags::SYMLINK_NOFOLLOW)
        })?;
        Ok(Stat::from_rustix(&st))
    }

    /// The content of the symlink `name`.
    pub(crate) fn read_link(&self, name: &CStr) -> io::Result<Vec<u8>> {
        let target = rustix::fs::readlinkat(&self.0, name, Vec::new())?;
        Ok(target.into_bytes())
    }

    /// Reads all names of this directory (except `.` and `..`) into `out`, using `buf` as
    /// the kernel's buffer. A directory can be listed once.
    pub(crate) fn list(&self, buf: &mut Vec<u8>, out: &mut Listing) -> io::Result<()> {
        profile::time(Phase::List, || super::listing::read(&self.0, buf, out))
    }
}

/// Runs a call until it is not interrupted.
fn retry<T>(mut call: impl FnMut() -> rustix::io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(io::Error::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_never_resolved_through_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("real")).unwrap();
        std::fs::write(d.path().join("real/f"), b"x").unwrap();
        std::os::unix::fs::symlink("real", d.path().join("link")).unwrap();
        let root = Dir::open_root(d.path()).unwrap();
        let e = root.open_dir(c"link").err().unwrap();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)),
            "{e}"
        );
        assert_eq!(
            root.open_file(c"link").err().unwrap().raw_os_error(),
            Some(libc::ELOOP)
        );
        assert_eq!(root.read_link(c"link").unwrap(), b"real");
        let real = root.open_dir(c"real").unwrap();
        assert_eq!(real.stat(c"f").unwrap().size, 1);
        let long = "x".repeat(1000);
        std::os::unix::fs::symlink(&long, d.path().join("long")).unwrap();
        assert_eq!(root.read_link(c"long").unwrap(), long.as_bytes());
    }
}
