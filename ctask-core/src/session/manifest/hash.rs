//! Safe hashing of one file: never follows a symlink, never blocks on a FIFO, never reads
//! anything `fstat` does not call a regular file.

use std::ffi::CStr;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;

use sha2::{Digest, Sha256};

use super::Timestamp;
use super::dirfd::Dir;
use super::profile::{self, Phase};
use crate::snapshot::store::Store;

/// The SHA-256 implementation behind [`ContentHasher`]: the `sha2` crate, which picks the
/// CPU's SHA extensions at run time. `make bench` measures it against the other backends
/// (docs/performance.md).
pub const HASH_BACKEND: &str = "sha2";

/// SHA-256 of file contents, as a capture computes it (fed in chunks of up to
/// [`BUFFER_SIZE`] bytes).
#[derive(Clone, Default)]
pub struct ContentHasher(Sha256);

impl ContentHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        ContentHasher(Sha256::new())
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// Size of each hashing worker's read buffer; files up to this size take one read.
pub const BUFFER_SIZE: usize = 256 * 1024;

/// What `lstat`/`fstat` said about a path, in the terms a manifest needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) size: u64,
    pub(crate) mtime: Timestamp,
    pub(crate) ino: u64,
    pub(crate) ctime: Timestamp,
    pub(crate) kind: StatKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub(crate) mode: u32,
}

/// File types as far as a manifest cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatKind {
    File,
    Dir,
    Symlink,
    /// FIFO, socket, block or character device.
    Other,
}

impl StatKind {
    /// The kind of the `st_mode` value `mode`.
    #[allow(clippy::useless_conversion)]
    fn of_mode(mode: u32) -> Self {
        match mode & u32::from(libc::S_IFMT) {
            m if m == u32::from(libc::S_IFREG) => StatKind::File,
            m if m == u32::from(libc::S_IFDIR) => StatKind::Dir,
            m if m == u32::from(libc::S_IFLNK) => StatKind::Symlink,
            _ => StatKind::Other,
        }
    }
}

impl Stat {
    /// The fields of `m`.
    pub(crate) fn of(m: &Metadata) -> Self {
        Stat {
            size: m.size(),
            mtime: Timestamp::from_unix(m.mtime(), m.mtime_nsec()),
            ino: m.ino(),
            ctime: Timestamp::from_unix(m.ctime(), m.ctime_nsec()),
            kind: StatKind::of_mode(m.mode()),
            mode: m.mode() & 0o7777,
        }
    }

    /// The fields of a `struct stat` as `fstatat` returned it.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    pub(crate) fn from_rustix(st: &rustix::fs::Stat) -> Self {
        Stat {
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: Timestamp::from_unix(st.st_mtime as i64, st.st_mtime_nsec as i64),
            ino: st.st_ino as u64,
            ctime: Timestamp::from_unix(st.st_ctime as i64, st.st_ctime_nsec as i64),
            kind: StatKind::of_mode(u32::from(st.st_mode)),
            mode: u32::from(st.st_mode) & 0o7777,
        }
    }
}

/// The outcome of [`hash_file`].
#[derive(Debug)]
pub(crate) enum Hashed {
    /// A regular file: `fstat` of the opened file (taken before reading) and the digest.
    File(Stat, [u8; 32]),
    /// The opened path is not a regular file (`fstat`); it was not read.
    NotFile(Stat),
    /// The path was swapped for a symlink or socket since it was listed: stat it again.
    Changed,
    /// The path no longer exists.
    Gone,
}

/// Opens `name` in `dir` with `O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC` and hashes it if
/// `fstat` says it is a regular file, reading through `buf` (resized to [`BUFFER_SIZE`]).
/// With a `store`, the content read is also stored (docs/undo.md), unless it is larger
/// than the store takes.
pub(crate) fn hash_at(
    dir: &Dir,
    name: &CStr,
    buf: &mut Vec<u8>,
    store: Option<&Store>,
) -> io::Result<Hashed> {
    let mut file = match dir.open_file(name) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Hashed::Gone),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENXIO)) => {
            return Ok(Hashed::Changed);
        }
        Err(e) => return Err(e),
    };
    let stat = Stat::of(&profile::time(Phase::Fstat, || file.metadata())?);
    if stat.kind != StatKind::File {
        profile::time(Phase::Close, || drop(file));
        return Ok(Hashed::NotFile(stat));
    }
    let store = store.filter(|s| stat.size <= s.max_file_bytes());
    let digest = hash_open(&mut file, stat.size, buf, store);
    profile::time(Phase::Close, || drop(file));
    Ok(Hashed::File(stat, digest?))
}

/// Hashes the open regular file `file` of `size` bytes (its `fstat` size), reading through
/// `buf`; with a `store`, stores the content in the same read, as a capture does (a content
/// read whole into the buffer goes into the store's pack).
pub(crate) fn hash_open(
    file: &mut File,
    size: u64,
    buf: &mut Vec<u8>,
    store: Option<&Store>,
) -> io::Result<[u8; 32]> {
    match store {
        Some(store) => digest_stored(file, size, buf, store),
        None => digest(file, size, buf),
    }
}

/// SHA-256 of the file's first `size` bytes (its size at `fstat`), or of all of it when it
/// turns out shorter, or when `size` is 0. Stopping at `size` saves the read that would
/// only report end-of-file and keeps digest and recorded size consistent; a file that grows
/// meanwhile has a new mtime and ctime and is hashed again by the next capture.
fn digest(file: &mut File, size: u64, buf: &mut Vec<u8>) -> io::Result<[u8; 32]> {
    if buf.len() < BUFFER_SIZE {
        buf.resize(BUFFER_SIZE, 0);
    }
    let mut h = ContentHasher::new();
    let mut done: u64 = 0;
    while size == 0 || done < size {
        match profile::time(Phase::Read, || file.read(buf)) {
            Ok(0) => break,
            Ok(n) => {
                let take = if size == 0 {
                    n
                } else {
                    n.min(usize::try_from(size - done).unwrap_or(usize::MAX))
                };
                profile::time(Phase::Hash, || h.update(&buf[..take]));
                done += take as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(profile::time(Phase::Hash, || h.finish()))
}

/// [`digest`], storing the content read: a small file is read whole into `buf`, hashed,
/// then compressed from `buf` when the store lacks it; a larger one is compressed while it
/// is hashed, into a temp object named by its hash at the end.
fn digest_stored(
    file: &mut File,
    size: u64,
    buf: &mut Vec<u8>,
    store: &Store,
) -> io::Result<[u8; 32]> {
    if buf.len() < BUFFER_SIZE {
        buf.resize(BUFFER_SIZE, 0);
    }
    if size < BUFFER_SIZE as u64 {
        // One read (or a few) fills the buffer; one more byte shows a file that grew.
        let mut done = 0;
        while done < buf.len() {
            match file.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if size > 0 && done as u64 >= size {
                break;
            }
        }
        if done < buf.len() && (size == 0 || done as u64 <= size) {
            let take = if size == 0 {
                done
            } else {
                done.min(size as usize)
            };
            let d: [u8; 32] = Sha256::digest(&buf[..take]).into();
            store.put(&d, &buf[..take]);
            return Ok(d);
        }
        // It grew past the buffer: hash and store from the start.
        io::Seek::seek(file, io::SeekFrom::Start(0))?;
    }
    let mut w = store.writer();
    let mut h = Sha256::new();
    let mut done: u64 = 0;
    while size == 0 || done < size {
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                let take = if size == 0 {
                    n
                } else {
                    n.min(usize::try_from(size - done).unwrap_or(usize::MAX))
                };
                h.update(&buf[..take]);
                let failed = w.as_mut().is_some_and(|wr| wr.write(&buf[..take]).is_err());
                if failed && let Some(wr) = w.take() {
                    wr.abandon();
                }
                done += take as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let d: [u8; 32] = h.finalize().into();
    if let Some(wr) = w {
        let _ = wr.finish(&d);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_file(p: &std::path::Path, buf: &mut Vec<u8>) -> io::Result<Hashed> {
        let dir = Dir::open_root(p.parent().unwrap()).unwrap();
        let name = std::ffi::CString::new(p.file_name().unwrap().as_encoded_bytes()).unwrap();
        hash_at(&dir, &name, buf, None)
    }

    #[test]
    fn hashes_regular_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let mut buf = Vec::new();
        let Hashed::File(st, dg) = hash_file(&p, &mut buf).unwrap() else {
            panic!("not hashed");
        };
        assert_eq!(st.size, 3);
        assert_eq!(
            super::super::entry::hex32::encode(&dg).as_slice(),
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn content_hasher_is_sha256_whatever_the_chunks() {
        let mut h = ContentHasher::new();
        for chunk in [&b"a"[..], b"", b"bc"] {
            h.update(chunk);
        }
        assert_eq!(
            super::super::entry::hex32::encode(&h.finish()).as_slice(),
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn fifo_is_not_opened_for_reading_and_does_not_block() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let mut buf = Vec::new();
        let r = hash_file(&p, &mut buf).unwrap();
        assert!(
            matches!(
                r,
                Hashed::NotFile(Stat {
                    kind: StatKind::Other,
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn symlink_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l");
        std::os::unix::fs::symlink("/etc/hostname", &p).unwrap();
        let mut buf = Vec::new();
        assert!(matches!(hash_file(&p, &mut buf).unwrap(), Hashed::Changed));
        assert!(matches!(
            hash_file(&d.path().join("none"), &mut buf).unwrap(),
            Hashed::Gone
        ));
    }
}
