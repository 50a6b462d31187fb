//! The workspace's files as undo reads and writes them: every path is reached one
//! component at a time from the root's descriptor (`openat` with `O_NOFOLLOW`), so a
//! symlink in any component is never followed; every write is a temp file in the same
//! directory renamed over the target.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::history::State;
use super::store::Store;
use crate::session::dirfd::{SYNC_EACH_MAX, sync_files};
use crate::session::manifest::Kind;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// How the name of every temp file undo stages begins.
pub const TEMP_PREFIX: &str = ".ctask-undo-";

/// The workspace root, opened once, the directories files are staged in (one descriptor
/// each, however many files it gets), and the directories whose entries changed since the
/// last [`Tree::sync_dirs`].
pub struct Tree {
    root: OwnedFd,
    staging: RefCell<HashMap<String, Rc<OwnedFd>>>,
    touched: RefCell<Touched>,
}

/// Directories whose entries changed (a rename, an unlink, a new sub-directory), each
/// once; past [`SYNC_EACH_MAX`] only the count matters (one `syncfs` then).
#[derive(Default)]
struct Touched {
    seen: HashSet<(u64, u64)>,
    fds: Vec<OwnedFd>,
}

/// Why a path cannot be reached: a component on its way is a symlink or not a directory.
pub fn blocked(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR))
}

impl Tree {
    /// Opens the workspace root.
    pub fn open(root: &Path) -> io::Result<Tree> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Ok(Tree {
            root: rustix::fs::open(root, flags, Mode::empty())?,
            staging: RefCell::default(),
            touched: RefCell::default(),
        })
    }

    /// Notes that an entry of directory `dir` changed, to be made durable by
    /// [`Tree::sync_dirs`].
    fn touch(&self, dir: &OwnedFd) -> io::Result<()> {
        let st = rustix::fs::fstat(dir)?;
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        let key = (st.st_dev as u64, st.st_ino as u64);
        let mut t = self.touched.borrow_mut();
        if t.seen.insert(key) {
            if t.seen.len() <= SYNC_EACH_MAX {
                let fd = dir.try_clone()?;
                t.fds.push(fd);
            } else {
                t.fds.clear();
            }
        }
        Ok(())
    }

    /// The directory holding `path` and its last component; `Ok(None)` when a directory
    /// on the way is missing and `create` is false (with `create`: made, mode 0755).
    fn parent<'p>(&self, path: &'p str, create: bool) -> io::Result<Option<(OwnedFd, &'p str)>> {
        let (dirs, name) = match path.rsplit_once('/') {
            Some((d, n)) => (Some(d), n),
            None => (None, path),
        };
        let mut fd = rustix::fs::openat(&self.root, ".", DIR_FLAGS, Mode::empty())?;
        for c in dirs.into_iter().flat_map(|d| d.split('/')) {
            let next = match rustix::fs::openat(&fd, c, DIR_FLAGS, Mode::empty()) {
                Ok(f) => f,
                Err(rustix::io::Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&fd, c, Mode::from_raw_mode(0o755)) {
                        Ok(()) => self.touch(&fd)?,
                        Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::openat(&fd, c, DIR_FLAGS, Mode::empty())?
                }
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            fd = next;
        }
        Ok(Some((fd, name)))
    }

    /// The directory to stage `path`'s temp file in (made as needed, opened once per
    /// directory) and its last component.
    fn staging_dir<'p>(&self, path: &'p str) -> io::Result<(Rc<OwnedFd>, &'p str)> {
        let (key, name) = path.rsplit_once('/').unwrap_or(("", path));
        if let Some(fd) = self.staging.borrow().get(key) {
            return Ok((Rc::clone(fd), name));
        }
        let Some((fd, _)) = self.parent(path, true)? else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let fd = Rc::new(fd);
        self.staging
            .borrow_mut()
            .insert(key.to_owned(), Rc::clone(&fd));
        Ok((fd, name))
    }

    /// What is at `path` now (`None`: nothing), hashing a regular file; with `store`, its
    /// content is also stored (so it can be given back).
    pub fn state(&self, path: &str, store: Option<&Store>) -> io::Result<Option<State>> {
        let Some((dir, name)) = self.parent(path, false)? else {
            return Ok(None);
        };
        let st = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        let raw = st.st_mode as u32;
        let mode = Some(raw & 0o7777);
        let size = u64::try_from(st.st_size).unwrap_or(0);
        match FileType::from_raw_mode(raw as _) {
            FileType::Symlink => {
                let t = rustix::fs::readlinkat(&dir, name, Vec::new())?;
                Ok(Some(State {
                    kind: Kind::Symlink,
                    sha256: None,
                    target: Some(String::from_utf8_lossy(t.as_bytes()).into_owned()),
                    mode,
                    size,
                }))
            }
            FileType::RegularFile => {
                let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
                let mut f = File::from(rustix::fs::openat(&dir, name, flags, Mode::empty())?);
                let d = hash_file(&mut f, store)?;
                Ok(Some(State {
                    kind: Kind::File,
                    sha256: Some(super::store::hex(&d)),
                    target: None,
                    mode,
                    size,
                }))
            }
            FileType::Directory => Ok(Some(State {
                kind: Kind::Other,
                sha256: None,
                target: Some("(a directory)".into()),
                mode,
                size: 0,
            })),
            _ => Ok(Some(State {
                kind: Kind::Other,
                sha256: None,
                target: None,
                mode,
                size,
            })),
        }
    }

    /// Writes `bytes` with permission bits `mode` into a temp file beside `path` (its
    /// directories made as needed), to be put in place by [`Tree::commit`]. Nothing is
    /// synced: the caller makes every staged file durable at once ([`Tree::sync_staged`]).
    /// `tmp` is the temp file's path ([`temp_beside`]).
    pub fn stage_file(&self, path: &str, tmp: &str, bytes: &[u8], mode: u32) -> io::Result<Staged> {
        let (dir, name) = self.staging_dir(path)?;
        let tmp = tmp_name(tmp)?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&dir, &tmp, flags, Mode::from_raw_mode(0o600))?;
        let written = (|| {
            let mut f = File::from(fd);
            f.write_all(bytes)?;
            rustix::fs::fchmod(&f, Mode::from_raw_mode(mode & 0o7777))?;
            Ok(())
        })();
        let staged = Staged {
            dir,
            tmp,
            name: name.to_owned(),
            symlink: false,
        };
        match written {
            Ok(()) => {
                crate::session::crashpoint::hit("undo.temp_written");
                Ok(staged)
            }
            Err(e) => {
                staged.abandon();
                Err(e)
            }
        }
    }

    /// A symlink to `target` in a temp name beside `path`, like [`Tree::stage_file`].
    pub fn stage_symlink(&self, path: &str, tmp: &str, target: &str) -> io::Result<Staged> {
        let (dir, name) = self.staging_dir(path)?;
        let tmp = tmp_name(tmp)?;
        rustix::fs::symlinkat(target, &dir, &tmp)?;
        Ok(Staged {
            dir,
            tmp,
            name: name.to_owned(),
            symlink: true,
        })
    }

    /// Makes the staged files' contents durable (a staged symlink: its directory), by the
    /// rule of [`sync_files`]: an `fsync` each up to [`SYNC_EACH_MAX`], else one `syncfs`.
    pub fn sync_staged(&self, staged: &[&Staged]) -> io::Result<()> {
        let files: Vec<(BorrowedFd<'_>, &str)> = staged
            .iter()
            .map(|s| (s.dir.as_fd(), if s.symlink { "." } else { s.tmp.as_str() }))
            .collect();
        sync_files(self.root.as_fd(), &files)
    }

    /// Makes the entries changed since the last call durable (renames, removals, new
    /// directories): an `fsync` of each directory concerned, or one `syncfs` when there
    /// are more than [`SYNC_EACH_MAX`].
    pub fn sync_dirs(&self) -> io::Result<()> {
        let t = std::mem::take(&mut *self.touched.borrow_mut());
        if t.seen.len() > SYNC_EACH_MAX {
            return Ok(rustix::fs::syncfs(&self.root)?);
        }
        let dirs: Vec<(BorrowedFd<'_>, &str)> = t.fds.iter().map(|d| (d.as_fd(), ".")).collect();
        sync_files(self.root.as_fd(), &dirs)
    }

    /// Renames a staged file over its target: one atomic step (on failure the temp name is
    /// removed).
    pub fn commit(&self, s: Staged) -> io::Result<()> {
        let r = rustix::fs::renameat(&s.dir, &s.tmp, &s.dir, &s.name);
        if r.is_err() {
            let _ = rustix::fs::unlinkat(&s.dir, &s.tmp, AtFlags::empty());
        }
        r?;
        self.touch(&s.dir)
    }

    /// Removes `path` when it is a regular file or a symlink (anything else, or nothing
    /// there, is left alone); returns whether it was removed.
    pub fn remove_if_file(&self, path: &str) -> io::Result<bool> {
        let Some((dir, name)) = self.parent(path, false)? else {
            return Ok(false);
        };
        let st = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        let ft = FileType::from_raw_mode(st.st_mode as _);
        if !matches!(ft, FileType::RegularFile | FileType::Symlink) {
            return Ok(false);
        }
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) => self.touch(&dir).map(|()| true),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes directory `path` when it is empty (not a symlink to one); returns whether
    /// it was removed.
    pub fn remove_empty_dir(&self, path: &str) -> io::Result<bool> {
        let Some((dir, name)) = self.parent(path, false)? else {
            return Ok(false);
        };
        match rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR) {
            Ok(()) => self.touch(&dir).map(|()| true),
            Err(
                rustix::io::Errno::NOTEMPTY
                | rustix::io::Errno::EXIST
                | rustix::io::Errno::NOENT
                | rustix::io::Errno::NOTDIR,
            ) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the file or symlink at `path` (absent: nothing to do).
    pub fn remove(&self, path: &str) -> io::Result<()> {
        let Some((dir, name)) = self.parent(path, false)? else {
            return Ok(());
        };
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) => self.touch(&dir),
            Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The last component of temp path `tmp`, which must be an undo temp name.
fn tmp_name(tmp: &str) -> io::Result<String> {
    let name = tmp.rsplit('/').next().unwrap_or_default();
    if !name.starts_with(TEMP_PREFIX) {
        return Err(io::Error::other(format!(
            "{tmp:?} is not an undo temp name"
        )));
    }
    Ok(name.to_owned())
}

/// A file or symlink written under a temp name beside its target.
pub struct Staged {
    dir: Rc<OwnedFd>,
    tmp: String,
    name: String,
    symlink: bool,
}

impl Staged {
    /// Removes the temp name.
    pub fn abandon(self) {
        let _ = rustix::fs::unlinkat(&self.dir, &self.tmp, AtFlags::empty());
    }
}

/// A fresh temp name for a file staged beside `path`: the same directory, a name of
/// its own.
pub fn temp_beside(path: &str) -> String {
    let name = temp_name();
    match path.rsplit_once('/') {
        Some((d, _)) => format!("{d}/{name}"),
        None => name,
    }
}

fn temp_name() -> String {
    format!(
        "{TEMP_PREFIX}{}-{}",
        std::process::id(),
        crate::session::dirfd::random_hex(6)
    )
}

/// SHA-256 of an open file, read in chunks; with `store`, the content is stored as well.
/// Hashes the open file `f`, storing its content in `store` when given, the way a capture
/// does (so a content read whole goes into the store's pack, not a file of its own).
fn hash_file(f: &mut File, store: Option<&Store>) -> io::Result<[u8; 32]> {
    let size = f.metadata()?.len();
    crate::session::manifest::hash::hash_open(f, size, &mut Vec::new(), store)
}
