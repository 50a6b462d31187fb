//! Directory file descriptors. Everything below the workspace root is reached one name at a
//! time relative to an open directory (`openat`, `fstatat`, `readlinkat` with
//! `O_NOFOLLOW`/`AT_SYMLINK_NOFOLLOW`), never through a path: a name is a single component
//! and is never `..`, so no symlink is resolved in any component, whatever is swapped while
//! a capture runs.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::hash::Stat;
use super::listing::Listing;

const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
const FILE_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;

/// An open directory.
pub(crate) struct Dir(OwnedFd);

impl Dir {
    /// Opens the workspace root by path. Symlinks in it are followed: a workspace reached
    /// through one is walked at its target.
    pub(crate) fn open_root(path: &Path) -> io::Result<Dir> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a valid NUL-terminated string; `open` has no other precondition.
        owned(retry(|| unsafe { libc::open(c.as_ptr(), DIR_FLAGS) })).map(Dir)
    }

    /// Opens the sub-directory `name`; fails with `ELOOP` or `ENOTDIR` when it is a
    /// symlink or no directory (any more).
    pub(crate) fn open_dir(&self, name: &CStr) -> io::Result<Dir> {
        let fd = self.0.as_raw_fd();
        // SAFETY: `fd` is an open descriptor owned by `self`, `name` is NUL-terminated.
        owned(retry(|| unsafe {
            libc::openat(fd, name.as_ptr(), DIR_FLAGS | libc::O_NOFOLLOW)
        }))
        .map(Dir)
    }

    /// Opens `name` for reading with `O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC`: a symlink
    /// fails with `ELOOP`, a FIFO does not block, a terminal does not become ours.
    pub(crate) fn open_file(&self, name: &CStr) -> io::Result<File> {
        let fd = self.0.as_raw_fd();
        // SAFETY: `fd` is an open descriptor owned by `self`, `name` is NUL-terminated.
        owned(retry(|| unsafe {
            libc::openat(fd, name.as_ptr(), FILE_FLAGS)
        }))
        .map(File::from)
    }

    /// `fstatat(name, AT_SYMLINK_NOFOLLOW)`.
    pub(crate) fn stat(&self, name: &CStr) -> io::Result<Stat> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `st` is valid for writes of one `stat`, `name` is NUL-terminated and the
        // descriptor is open.
        let r = unsafe {
            libc::fstatat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fstatat` succeeded, so it filled in `st`.
        let st = unsafe { st.assume_init() };
        Ok(Stat::from_raw(&st))
    }

    /// The content of the symlink `name`.
    pub(crate) fn read_link(&self, name: &CStr) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; 256];
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes, `name` is
            // NUL-terminated and the descriptor is open.
            let n = unsafe {
                libc::readlinkat(
                    self.0.as_raw_fd(),
                    name.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
            if n < buf.len() {
                buf.truncate(n);
                return Ok(buf);
            }
            // Possibly truncated: try again with more room.
            let more = buf.len() * 2;
            buf.resize(more, 0);
        }
    }

    /// Reads all names of this directory (except `.` and `..`) into `out`, using `buf` as
    /// the kernel's buffer. A directory can be listed once.
    pub(crate) fn list(&self, buf: &mut Vec<u8>, out: &mut Listing) -> io::Result<()> {
        super::listing::read(&self.0, buf, out)
    }
}

/// Runs a libc call returning `-1`/errno until it is not interrupted.
fn retry(mut call: impl FnMut() -> libc::c_int) -> libc::c_int {
    loop {
        let r = call();
        if r != -1 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return r;
        }
    }
}

/// The descriptor returned by `open`/`openat`, or the error it reported.
fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative result of `open`/`openat` is a fresh descriptor nobody owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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
