//! The workspace's files as undo reads and writes them: every path is reached one
//! component at a time from the root's descriptor (`openat` with `O_NOFOLLOW`), so a
//! symlink in any component is never followed; every write is a temp file in the same
//! directory renamed over the target.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::history::State;
use super::store::Store;
use crate::session::dirfd::{SYNC_EACH_MAX, sync_each};
use crate::session::manifest::Kind;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// How the name of every temp file undo stages begins.
pub const TEMP_PREFIX: &str = ".ctask-undo-";

/// The workspace root, opened once; the directories whose entries changed since the last
/// [`Tree::sync_dirs`]; and the closer of replaced files. Shared by the threads that stage
/// and put files in place. A directory is opened (from the root, one component at a time)
/// for each operation and closed after it, so the descriptors held stay few however many
/// directories an undo writes in.
pub struct Tree {
    root: OwnedFd,
    touched: Mutex<Touched>,
    reaper: Reaper,
}

/// Directories whose entries changed (a rename, an unlink, a new sub-directory), each once
/// by device and inode, with their paths; past [`SYNC_EACH_MAX`], or when one could not be
/// told apart, only a `syncfs` will do.
#[derive(Default)]
struct Touched {
    dirs: HashMap<(u64, u64), String>,
    whole_fs: bool,
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
            touched: Mutex::default(),
            reaper: Reaper::default(),
        })
    }

    /// Notes that an entry of directory `dir` (at workspace-relative `path`, `""`: the
    /// root) changed, to be made durable by [`Tree::sync_dirs`].
    fn touch(&self, dir: &OwnedFd, path: &str) {
        let mut t = lock(&self.touched);
        if t.whole_fs {
            return;
        }
        match rustix::fs::fstat(dir) {
            Ok(st) => {
                #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
                let key = (st.st_dev as u64, st.st_ino as u64);
                t.dirs.entry(key).or_insert_with(|| path.to_owned());
                if t.dirs.len() > SYNC_EACH_MAX {
                    t.dirs.clear();
                    t.whole_fs = true;
                }
            }
            Err(_) => {
                t.dirs.clear();
                t.whole_fs = true;
            }
        }
    }

    /// Directory `dirs` (workspace-relative, `""`: the root), reached one component at a
    /// time without following a symlink; `Ok(None)` when one on the way is missing and
    /// `create` is false (with `create`: made, mode 0755).
    fn dir(&self, dirs: &str, create: bool) -> io::Result<Option<OwnedFd>> {
        let mut fd = rustix::fs::openat(&self.root, ".", DIR_FLAGS, Mode::empty())?;
        if dirs.is_empty() {
            return Ok(Some(fd));
        }
        let mut end = 0;
        for c in dirs.split('/') {
            let next = match rustix::fs::openat(&fd, c, DIR_FLAGS, Mode::empty()) {
                Ok(f) => f,
                Err(rustix::io::Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&fd, c, Mode::from_raw_mode(0o755)) {
                        Ok(()) => self.touch(&fd, &dirs[..end.max(1) - 1]),
                        Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::openat(&fd, c, DIR_FLAGS, Mode::empty())?
                }
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            end += c.len() + 1;
            fd = next;
        }
        Ok(Some(fd))
    }

    /// The directory holding `path`, its path and `path`'s last component; `Ok(None)`
    /// when a directory on the way is missing and `create` is false.
    fn parent<'p>(
        &self,
        path: &'p str,
        create: bool,
    ) -> io::Result<Option<(OwnedFd, &'p str, &'p str)>> {
        let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
        Ok(self.dir(dirs, create)?.map(|fd| (fd, dirs, name)))
    }

    /// What is at `path` now (`None`: nothing), hashing a regular file; with `store`, its
    /// content is also stored (so it can be given back).
    pub fn state(&self, path: &str, store: Option<&Store>) -> io::Result<Option<State>> {
        let Some((dir, _, name)) = self.parent(path, false)? else {
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
    /// directories made as needed), to be put in place by [`Tree::commit`]; with `sync`,
    /// the file is made durable (else the caller makes every staged file durable at once:
    /// [`Tree::sync_staged`]). `tmp` is the temp file's path ([`temp_beside`]).
    pub fn stage_file(
        &self,
        path: &str,
        tmp: &str,
        bytes: &[u8],
        mode: u32,
        sync: bool,
    ) -> io::Result<Staged> {
        let (dir, dirs, name) = self.parent(path, true)?.ok_or(io::ErrorKind::NotFound)?;
        let tmp = tmp_name(tmp)?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&dir, &tmp, flags, Mode::from_raw_mode(0o600))?;
        let written = (|| {
            let mut f = File::from(fd);
            f.write_all(bytes)?;
            rustix::fs::fchmod(&f, Mode::from_raw_mode(mode & 0o7777))?;
            if sync {
                f.sync_all()?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&dir, &tmp, AtFlags::empty());
            return Err(e);
        }
        crate::session::crashpoint::hit("undo.temp_written");
        Ok(Staged {
            dir: dirs.to_owned(),
            tmp,
            name: name.to_owned(),
        })
    }

    /// A symlink to `target` in a temp name beside `path`, like [`Tree::stage_file`] (with
    /// `sync`, its directory is made durable).
    pub fn stage_symlink(
        &self,
        path: &str,
        tmp: &str,
        target: &str,
        sync: bool,
    ) -> io::Result<Staged> {
        let (dir, dirs, name) = self.parent(path, true)?.ok_or(io::ErrorKind::NotFound)?;
        let tmp = tmp_name(tmp)?;
        rustix::fs::symlinkat(target, &dir, &tmp)?;
        if sync && let Err(e) = rustix::fs::fsync(&dir) {
            let _ = rustix::fs::unlinkat(&dir, &tmp, AtFlags::empty());
            return Err(e.into());
        }
        Ok(Staged {
            dir: dirs.to_owned(),
            tmp,
            name: name.to_owned(),
        })
    }

    /// Makes `n` staged files durable when [`sync_each`] says their staging did not (each
    /// staged with `sync` when it says they are synced one by one): one `syncfs`.
    pub fn sync_staged(&self, n: usize) -> io::Result<()> {
        if sync_each(n) {
            return Ok(());
        }
        Ok(rustix::fs::syncfs(&self.root)?)
    }

    /// Makes the entries changed since the last call durable (renames, removals, new
    /// directories): an `fsync` of each directory concerned, or one `syncfs` when there
    /// are more than [`SYNC_EACH_MAX`] or one is no longer where it was.
    pub fn sync_dirs(&self) -> io::Result<()> {
        let t = std::mem::take(&mut *lock(&self.touched));
        if !t.whole_fs {
            let mut moved = false;
            for (key, path) in &t.dirs {
                let Some(fd) = self.dir(path, false)? else {
                    moved = true;
                    break;
                };
                let st = rustix::fs::fstat(&fd)?;
                #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
                if (st.st_dev as u64, st.st_ino as u64) != *key {
                    moved = true;
                    break;
                }
                rustix::fs::fsync(&fd)?;
            }
            if !moved {
                return Ok(());
            }
        }
        Ok(rustix::fs::syncfs(&self.root)?)
    }

    /// Renames a staged file over its target: one atomic step (on failure the temp name is
    /// removed).
    pub fn commit(&self, s: Staged) -> io::Result<()> {
        let dir = self.dir(&s.dir, false)?.ok_or(io::ErrorKind::NotFound)?;
        let old = self.reaper.hold(&dir, &s.name);
        let r = rustix::fs::renameat(&dir, &s.tmp, &dir, &s.name);
        if r.is_err() {
            let _ = rustix::fs::unlinkat(&dir, &s.tmp, AtFlags::empty());
        }
        r?;
        self.touch(&dir, &s.dir);
        self.reaper.close(old);
        Ok(())
    }

    /// Removes a staged temp file that will not be put in place.
    pub fn abandon(&self, s: Staged) {
        if let Ok(Some(dir)) = self.dir(&s.dir, false) {
            let _ = rustix::fs::unlinkat(&dir, &s.tmp, AtFlags::empty());
        }
    }

    /// Removes `path` when it is a regular file or a symlink (anything else, or nothing
    /// there, is left alone); returns whether it was removed.
    pub fn remove_if_file(&self, path: &str) -> io::Result<bool> {
        let Some((dir, dirs, name)) = self.parent(path, false)? else {
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
            Ok(()) => {
                self.touch(&dir, dirs);
                Ok(true)
            }
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes directory `path` when it is empty (not a symlink to one); returns whether
    /// it was removed.
    pub fn remove_empty_dir(&self, path: &str) -> io::Result<bool> {
        let Some((dir, dirs, name)) = self.parent(path, false)? else {
            return Ok(false);
        };
        match rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR) {
            Ok(()) => {
                self.touch(&dir, dirs);
                Ok(true)
            }
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
        let Some((dir, dirs, name)) = self.parent(path, false)? else {
            return Ok(());
        };
        let old = self.reaper.hold(&dir, name);
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) => self.touch(&dir, dirs),
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        self.reaper.close(old);
        Ok(())
    }
}

/// Locks `m`; a thread that panicked holding it left nothing half-done that matters here.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

/// A file or symlink written under a temp name beside its target (the directory is kept
/// as a path and opened again to put it in place).
pub struct Staged {
    dir: String,
    tmp: String,
    name: String,
}

/// The most replaced files [`Reaper`] holds open at once: a quarter of the limit of open
/// files, up to this; below [`REAP_MIN`], none.
const REAP_MAX: u64 = 4096;

/// See [`REAP_MAX`].
const REAP_MIN: u64 = 16;

/// Closes, on a thread of its own, a descriptor held on each file just replaced or
/// removed: the last close frees the file's blocks, which some filesystems (ext4 mounted
/// with `discard`, say) do while the closing thread waits, so the undo goes on meanwhile.
/// Without the thread (it could not be started, or the limit of open files is low), each
/// is closed at once. Dropping it waits until all are closed.
#[derive(Default)]
struct Reaper {
    state: Mutex<ReaperState>,
}

#[derive(Default)]
enum ReaperState {
    /// Not needed yet.
    #[default]
    Idle,
    Running(SyncSender<OwnedFd>, JoinHandle<()>),
    /// Closing on the caller's thread.
    Inline,
}

impl Reaper {
    /// A descriptor holding the file or symlink `name` of `dir` (`None`: none needed, or
    /// none could be had, which changes nothing but the time the freeing takes).
    fn hold(&self, dir: &OwnedFd, name: &str) -> Option<OwnedFd> {
        if matches!(*lock(&self.state), ReaperState::Inline) {
            return None;
        }
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::openat(dir.as_fd(), name, flags, Mode::empty()).ok()
    }

    /// Hands `fd` (from [`Reaper::hold`]) to the closing thread, started on first need;
    /// waits while its queue is full.
    fn close(&self, fd: Option<OwnedFd>) {
        let Some(fd) = fd else { return };
        let tx = {
            let mut st = lock(&self.state);
            if matches!(*st, ReaperState::Idle) {
                *st = start_reaper().unwrap_or(ReaperState::Inline);
            }
            match &*st {
                ReaperState::Running(tx, _) => tx.clone(),
                _ => return,
            }
        };
        // A closed channel (the thread is gone): the descriptor comes back and is closed
        // here.
        let _ = tx.send(fd);
    }
}

/// The closing thread, when the limit of open files leaves room for its queue.
fn start_reaper() -> Option<ReaperState> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    let queue = (lim.rlim_cur as u64 / 4).min(REAP_MAX);
    if queue < REAP_MIN {
        return None;
    }
    let (tx, rx) = sync_channel::<OwnedFd>(queue as usize);
    let t = std::thread::Builder::new()
        .name("ctask-close".into())
        .spawn(move || rx.into_iter().for_each(drop))
        .ok()?;
    Some(ReaperState::Running(tx, t))
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let ReaperState::Running(tx, t) = std::mem::take(&mut *lock(&self.state)) {
            drop(tx);
            let _ = t.join();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The descriptors of this process open on something under `dir`.
    fn open_under(dir: &Path) -> Vec<String> {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|t| t.display().to_string())
            .filter(|t| t.starts_with(&dir.display().to_string()))
            .collect()
    }

    #[test]
    fn replaced_and_removed_files_are_closed_once_the_tree_is_dropped() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir(root.join("d")).unwrap();
        for i in 0..40 {
            std::fs::write(root.join(format!("d/f{i}")), format!("old {i}")).unwrap();
        }
        let tree = Tree::open(root).unwrap();
        let dir = tree.dir("d", false).unwrap().unwrap();
        assert!(tree.reaper.hold(&dir, "f0").is_some(), "a file can be held");
        assert!(tree.reaper.hold(&dir, "missing").is_none());
        drop(dir);
        for i in 0..30 {
            let path = format!("d/f{i}");
            let s = tree
                .stage_file(&path, &temp_beside(&path), b"new", 0o600, false)
                .unwrap();
            tree.commit(s).unwrap();
        }
        for i in 30..40 {
            tree.remove(&format!("d/f{i}")).unwrap();
        }
        tree.sync_dirs().unwrap();
        drop(tree);
        assert_eq!(open_under(root), Vec::<String>::new());
        let names: Vec<String> = std::fs::read_dir(root.join("d"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 30, "{names:?}");
        for i in 0..30 {
            assert_eq!(std::fs::read(root.join(format!("d/f{i}"))).unwrap(), b"new");
        }
    }

    #[test]
    fn a_directory_moved_before_its_sync_is_made_durable_with_the_whole_filesystem() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), "old").unwrap();
        let tree = Tree::open(root).unwrap();
        tree.remove("d/f").unwrap();
        std::fs::rename(root.join("d"), root.join("e")).unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        // `d` is now another directory: no fsync of the wrong one, and no error.
        tree.sync_dirs().unwrap();
        assert!(lock(&tree.touched).dirs.is_empty());
    }
}
