//! The object store `.ctask/objects/`: file contents by SHA-256, each a zstd frame in a
//! file named by the 64 hex digits of the content's hash, written once (temp file, then
//! rename) and never modified. A marker file `complete` names the session whose end
//! manifest is stored in full (docs/undo.md).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::session::dirfd::Dir;

/// Name of the store directory inside `.ctask/`.
pub const OBJECTS_DIR: &str = "objects";
/// Name of the marker inside the store.
pub const MARKER: &str = "complete";
/// Prefix of the store's temp files.
const TEMP_PREFIX: &str = "tmp-";
/// zstd level: the fastest of the ordinary levels (measured in docs/undo.md).
const LEVEL: i32 = 1;
/// The most of the marker that is read.
const MARKER_CAP: u64 = 4096;
/// Up to this many new objects are made durable one `fsync` each; above, one `syncfs`.
const SYNC_EACH_MAX: usize = 256;

/// An open store.
#[derive(Debug)]
pub struct Store {
    dir: Dir,
    max_file_bytes: u64,
    written: AtomicU64,
    failed: AtomicU64,
    /// The objects this handle wrote (so a failed begin can take them back).
    new_objects: std::sync::Mutex<Vec<String>>,
    /// The store directory was made by this handle.
    created: bool,
}

/// Lower-case hex of a digest.
pub fn hex(d: &[u8; 32]) -> String {
    let mut s = String::with_capacity(64);
    for b in d {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// Whether `name` is an object's name (64 lower-case hex digits).
pub fn is_object_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Store {
    /// Opens the store in `.ctask/` (created when `create`); `None` when it does not
    /// exist and `create` is false. A symlink in its place is a path-security error.
    pub fn open(ctask: &Dir, create: bool, max_file_bytes: u64) -> Result<Option<Store>> {
        let existed = ctask.stat(OBJECTS_DIR)?.is_some();
        if !create && !existed {
            return Ok(None);
        }
        let dir = ctask.open_sub(OBJECTS_DIR, create)?;
        Ok(Some(Store {
            dir,
            max_file_bytes,
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            new_objects: std::sync::Mutex::new(Vec::new()),
            created: !existed,
        }))
    }

    /// Files larger than this are hashed, not stored.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// Objects written since it was opened.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Contents that could not be stored since it was opened.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Whether the content of hash `d` is stored.
    pub fn has(&self, d: &[u8; 32]) -> bool {
        self.dir.size_of(&hex(d)).is_some()
    }

    /// Stores `bytes`, whose hash is `d`, unless already there. A failure is counted, not
    /// returned: a content that is not stored is only not restorable.
    pub fn put(&self, d: &[u8; 32], bytes: &[u8]) {
        if self.has(d) {
            return;
        }
        // One compression context per thread, reused for every small content.
        thread_local! {
            static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
                const { std::cell::RefCell::new(None) };
        }
        let frame = COMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = zstd::bulk::Compressor::new(LEVEL).ok();
            }
            c.as_mut().and_then(|c| c.compress(bytes).ok())
        });
        let ok = frame
            .ok_or_else(|| io::Error::other("cannot compress"))
            .and_then(|frame| self.place(d, &frame));
        if ok.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes a finished frame as the object of hash `d` (temp file, then rename).
    fn place(&self, d: &[u8; 32], frame: &[u8]) -> io::Result<()> {
        let name = format!("{TEMP_PREFIX}{}", crate::session::dirfd::random_hex(8));
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
        let mut file = self.dir.open_file(&name, flags, 0o600)?;
        let target = hex(d);
        let r = file
            .write_all(frame)
            .and_then(|()| self.dir.rename(&name, &target));
        if r.is_err() {
            let _ = self.dir.unlink(&name);
            return r;
        }
        self.written.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut v) = self.new_objects.lock() {
            v.push(target);
        }
        crate::session::crashpoint::hit("store.object_renamed");
        Ok(())
    }

    /// A writer that compresses a content into a temp file of the store, to be named by
    /// its hash once known ([`ObjectWriter::finish`]).
    pub fn writer(&self) -> Option<ObjectWriter<'_>> {
        let name = format!("{TEMP_PREFIX}{}", crate::session::dirfd::random_hex(8));
        let file = self
            .dir
            .open_file(&name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)
            .ok()?;
        let enc = zstd::stream::write::Encoder::new(
            io::BufWriter::with_capacity(128 * 1024, file),
            LEVEL,
        )
        .ok()?;
        Some(ObjectWriter {
            store: self,
            name,
            enc: Some(enc),
        })
    }

    /// Makes every object written so far durable, then the directory: each new object's
    /// own `fsync` when there are few (a `syncfs` would also wait for every other program's
    /// writes to the filesystem), one `syncfs` when there are many.
    pub fn sync(&self) -> Result<()> {
        if self.written() == 0 {
            return Ok(());
        }
        let names = self
            .new_objects
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        if names.len() as u64 == self.written() && names.len() <= SYNC_EACH_MAX {
            for name in &names {
                let file = self
                    .dir
                    .open_file(name, libc::O_RDONLY, 0)
                    .map_err(|e| Error::io(self.dir.join(name), e))?;
                file.sync_all()
                    .map_err(|e| Error::io(self.dir.join(name), e))?;
            }
        } else {
            self.dir.sync_fs()?;
        }
        self.dir.sync()
    }

    /// The content of hash `d`, decompressed, at most `cap` bytes, checked against its
    /// hash. `Ok(None)`: not stored. A content that does not match its hash (corrupted) is
    /// a format error naming the object.
    pub fn get(&self, d: &[u8; 32], cap: u64) -> Result<Option<Vec<u8>>> {
        let name = hex(d);
        let path = self.dir.join(&name);
        let file = match self
            .dir
            .open_file(&name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        if !file.metadata().map_err(|e| Error::io(&path, e))?.is_file() {
            return Err(Error::format(&path, "is not a regular file"));
        }
        let corrupt = || {
            Error::format(
                &path,
                "stored content is corrupted (does not match its hash)",
            )
        };
        let dec = zstd::stream::read::Decoder::new(file).map_err(|_| corrupt())?;
        let mut out = Vec::new();
        dec.take(cap.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|_| corrupt())?;
        if out.len() as u64 > cap {
            return Err(corrupt());
        }
        let got: [u8; 32] = Sha256::digest(&out).into();
        if &got != d {
            return Err(corrupt());
        }
        Ok(Some(out))
    }

    /// The session named by the marker, if any.
    pub fn marker(&self) -> Option<String> {
        let bytes = self.dir.read_capped(MARKER, MARKER_CAP).ok()??;
        let s = String::from_utf8(bytes).ok()?;
        Some(s.trim().to_owned())
    }

    /// Names session `id` in the marker (`None`: removes it).
    pub fn set_marker(&self, id: Option<&str>) -> Result<()> {
        match id {
            Some(id) => self.dir.write_atomic(MARKER, format!("{id}\n").as_bytes()),
            None => self.dir.unlink(MARKER).map(|_| ()),
        }
    }

    /// Every object: its hash (hex) and its stored size.
    pub fn objects(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .dir
            .names()?
            .into_iter()
            .filter(|n| is_object_name(n))
            .filter_map(|n| self.dir.size_of(&n).map(|(s, _)| (n, s)))
            .collect())
    }

    /// Total bytes of the objects.
    pub fn total_bytes(&self) -> Result<u64> {
        Ok(self.objects()?.iter().map(|(_, s)| s).sum())
    }

    /// Removes object `name` (hex).
    pub fn remove(&self, name: &str) -> Result<()> {
        if is_object_name(name) {
            self.dir.unlink(name)?;
        }
        Ok(())
    }

    /// Removes temp files older than an hour (writers killed mid-write).
    pub fn sweep_temp(&self) {
        let Ok(names) = self.dir.names() else { return };
        for n in names.iter().filter(|n| n.starts_with(TEMP_PREFIX)) {
            let old = self
                .dir
                .size_of(n)
                .and_then(|(_, m)| m)
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if old {
                let _ = self.dir.unlink(n);
            }
        }
    }

    /// Takes back what this handle wrote (a begin that failed leaves `.ctask/` as it found
    /// it): its new objects, and the store directory when it made it. `ctask` is the
    /// `.ctask/` directory holding the store.
    pub fn discard(&self, ctask: &Dir) {
        let names = self
            .new_objects
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        for n in names {
            let _ = self.dir.unlink(&n);
        }
        if self.created {
            let _ = ctask.remove_empty_dir(OBJECTS_DIR);
        }
    }

    /// The path of the store (for messages).
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// A content being compressed into the store.
pub struct ObjectWriter<'s> {
    store: &'s Store,
    name: String,
    enc: Option<zstd::stream::write::Encoder<'static, io::BufWriter<std::fs::File>>>,
}

impl ObjectWriter<'_> {
    /// Adds the next part of the content.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.enc {
            Some(e) => e.write_all(bytes),
            None => Err(io::Error::other("finished")),
        }
    }

    /// Finishes the object as the content of hash `d` (discarded when already stored).
    pub fn finish(mut self, d: &[u8; 32]) -> io::Result<()> {
        let enc = self
            .enc
            .take()
            .ok_or_else(|| io::Error::other("finished"))?;
        let mut buf = enc.finish()?;
        buf.flush()?;
        drop(buf);
        let target = hex(d);
        if self.store.dir.size_of(&target).is_some() {
            let _ = self.store.dir.unlink(&self.name);
        } else {
            self.store.dir.rename(&self.name, &target)?;
            self.store.written.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut v) = self.store.new_objects.lock() {
                v.push(target);
            }
            crate::session::crashpoint::hit("store.object_renamed");
        }
        self.name.clear();
        Ok(())
    }

    /// Gives up (the temp file is removed; the content counts as not stored).
    pub fn abandon(self) {
        drop(self);
    }
}

impl Drop for ObjectWriter<'_> {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            let _ = self.store.dir.unlink(&self.name);
            self.store.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_round_trip_and_corruption_is_caught() {
        let d = tempfile::tempdir().unwrap();
        let ctask = Dir::open(d.path()).unwrap();
        let store = Store::open(&ctask, true, 1024).unwrap().unwrap();
        let data = b"hello, store".repeat(100);
        let h: [u8; 32] = Sha256::digest(&data).into();
        assert!(!store.has(&h));
        store.put(&h, &data);
        assert!(store.has(&h) && store.written() == 1);
        assert_eq!(store.get(&h, data.len() as u64).unwrap().unwrap(), data);
        // Bounded: a content longer than its recorded size is refused.
        assert!(store.get(&h, 10).is_err());
        // Another valid frame under this name does not match the hash.
        let other = b"other".to_vec();
        let o: [u8; 32] = Sha256::digest(&other).into();
        store.put(&o, &other);
        std::fs::copy(store.path().join(hex(&o)), store.path().join(hex(&h))).unwrap();
        let e = store.get(&h, 10_000).unwrap_err().to_string();
        assert!(e.contains("corrupted") && e.contains(&hex(&h)), "{e}");
        let missing = [9u8; 32];
        assert!(store.get(&missing, 1).unwrap().is_none());
    }

    #[test]
    fn a_symlink_in_place_of_the_store_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), d.path().join(OBJECTS_DIR)).unwrap();
        let ctask = Dir::open(d.path()).unwrap();
        let e = Store::open(&ctask, true, 1024).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
    }
}
