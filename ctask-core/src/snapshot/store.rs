//! The object store `.ctask/objects/`: file contents by SHA-256, each a zstd frame. The
//! contents a capture reads whole (below its 256 KiB read buffer) go into one pack per
//! capture ([`super::pack`]); larger ones are loose objects, a file named by the 64 hex
//! digits of the content's hash. Everything is written once (temp file, then rename) and
//! never modified (docs/undo.md).

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use super::pack::{self, PackWriter, Slot};
use crate::error::{Error, Result};
use crate::session::dirfd::Dir;

/// Name of the store directory inside `.ctask/`.
pub const OBJECTS_DIR: &str = "objects";
/// Prefix of the store's temp files (loose objects and packs being written).
pub(crate) const TEMP_PREFIX: &str = "tmp-";
/// zstd level: the fourth fast level (`--fast=4`): on real files about 40 % faster than
/// level 1 for a store about 17 % larger (measured in docs/undo.md); storing a cold tree is
/// bound by compression.
const LEVEL: i32 = -4;

/// An open store.
#[derive(Debug)]
pub struct Store {
    dir: Dir,
    max_file_bytes: u64,
    written: AtomicU64,
    failed: AtomicU64,
    state: Mutex<State>,
    /// The store directory was made by this handle.
    created: bool,
}

/// The marker file earlier builds kept in the store (the summary's `snapshots_complete`
/// says it now); removed by collection.
pub(crate) const OLD_MARKER: &str = "complete";

/// What a store handle knows and holds.
#[derive(Debug, Default)]
struct State {
    /// What is stored, read on first need.
    view: Option<View>,
    /// The pack this handle is writing, and where its objects lie.
    pack: Option<PackWriter>,
    in_pack: HashMap<[u8; 32], Place>,
    /// Loose objects written and not yet made durable.
    unsynced: Vec<String>,
    /// Files this handle made (loose objects and packs), so a failed begin can take them
    /// back.
    made: Vec<String>,
    /// Packs opened for reading, by their index in the view.
    open_packs: HashMap<u32, std::fs::File>,
}

/// The stored objects, as listed from the directory and the packs' indexes.
#[derive(Debug, Default)]
struct View {
    /// Loose objects, with their sizes when read for collection (else 0).
    loose: HashMap<[u8; 32], u64>,
    /// Each object's first place in a pack.
    packed: Packed,
    packs: Vec<PackFile>,
}

/// Where each packed object lies, sorted by hash: 48 bytes an object, searched by
/// bisection (a hash table would take about twice that).
#[derive(Debug, Default)]
struct Packed(Vec<([u8; 32], Place)>);

impl Packed {
    /// The place of object `d`, if a pack holds it.
    fn get(&self, d: &[u8; 32]) -> Option<&Place> {
        let i = self.0.binary_search_by(|(h, _)| by_hash(h, d)).ok()?;
        Some(&self.0[i].1)
    }

    fn contains(&self, d: &[u8; 32]) -> bool {
        self.get(d).is_some()
    }

    /// Adds the objects of pack number `pack`; [`Packed::finish`] puts them in order.
    fn add(&mut self, pack: usize, slots: &[Slot]) {
        self.0.reserve_exact(slots.len());
        self.0
            .extend(slots.iter().map(|s| (s.hash, Place::of(pack, s))));
    }

    /// Sorts by hash, keeping one place per object: that in the first pack added.
    fn finish(&mut self) {
        self.0
            .sort_unstable_by(|(a, pa), (b, pb)| by_hash(a, b).then(pa.pack.cmp(&pb.pack)));
        self.0.dedup_by(|later, first| later.0 == first.0);
        self.0.shrink_to_fit();
    }
}

/// Where a packed object lies: its pack (index into [`View::packs`]), frame offset and
/// length.
#[derive(Debug, Clone, Copy)]
struct Place {
    pack: u32,
    len: u32,
    offset: u64,
}

impl Place {
    fn of(pack: usize, s: &Slot) -> Place {
        Place {
            pack: u32::try_from(pack).unwrap_or(u32::MAX),
            len: s.len,
            offset: s.offset,
        }
    }

    fn slot(&self, hash: &[u8; 32]) -> Slot {
        Slot {
            hash: *hash,
            offset: self.offset,
            len: self.len,
        }
    }
}

/// What the store holds, read for collection ([`Store::catalog`]).
#[derive(Debug)]
pub(crate) struct Catalog {
    view: View,
}

impl Catalog {
    /// The stored bytes of the content of hash `d` (its frame's length when packed).
    pub(crate) fn size(&self, d: &[u8; 32]) -> Option<u64> {
        let v = &self.view;
        v.loose
            .get(d)
            .copied()
            .or_else(|| v.packed.get(d).map(|p| u64::from(p.len)))
    }
}

/// One pack of the store.
#[derive(Debug)]
struct PackFile {
    name: String,
    /// Its index could be read (else it names nothing).
    usable: bool,
    /// Its slots, when the view was read to collect (else empty).
    slots: Vec<Slot>,
}

/// The order of two digests (that of their bytes), told by their first eight bytes unless
/// those are equal.
fn by_hash(a: &[u8; 32], b: &[u8; 32]) -> std::cmp::Ordering {
    let head = |d: &[u8; 32]| u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    head(a).cmp(&head(b)).then_with(|| a.cmp(b))
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

/// The digest written as `hex` (64 lower-case hex digits), if it is one.
pub fn unhex(hex: &str) -> Option<[u8; 32]> {
    if !is_object_name(hex) {
        return None;
    }
    let mut d = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
        let v = |c: u8| {
            if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'a' + 10
            }
        };
        d[i] = v(pair[0]) << 4 | v(pair[1]);
    }
    Some(d)
}

/// Whether `name` is an object's name (64 lower-case hex digits).
pub fn is_object_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `name` is a pack's name.
pub(crate) fn is_pack_name(name: &str) -> bool {
    pack::is_pack_name(name)
}

impl View {
    /// Lists the store directory and reads every pack's index; `keep_slots` (for
    /// collection): each pack keeps its slots too, and each loose object's size is read.
    fn load(dir: &Dir, keep_slots: bool) -> Result<View> {
        let mut v = View::default();
        let mut names = dir.names()?;
        names.sort();
        for name in names {
            if let Some(d) = unhex(&name) {
                // Sizes only for collection: a lookup needs the name alone.
                let size = if keep_slots {
                    dir.size_of(&name).map_or(0, |(s, _)| s)
                } else {
                    0
                };
                v.loose.insert(d, size);
            } else if is_pack_name(&name) {
                let slots = pack::read_index(dir, &name).ok();
                let at = v.packs.len();
                v.packed.add(at, slots.as_deref().unwrap_or_default());
                let usable = slots.is_some();
                let slots = slots.filter(|_| keep_slots).unwrap_or_default();
                v.packs.push(PackFile {
                    name,
                    usable,
                    slots,
                });
            }
        }
        v.packed.finish();
        Ok(v)
    }

    fn has(&self, d: &[u8; 32]) -> bool {
        self.loose.contains_key(d) || self.packed.contains(d)
    }
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
            state: Mutex::new(State::default()),
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

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state with its view loaded (an unreadable directory is an empty view: nothing
    /// counts as stored).
    fn viewed(&self) -> MutexGuard<'_, State> {
        let mut st = self.state();
        if st.view.is_none() {
            st.view = Some(View::load(&self.dir, false).unwrap_or_default());
        }
        st
    }

    /// Whether the content of hash `d` is stored (or being stored by this handle).
    pub fn has(&self, d: &[u8; 32]) -> bool {
        let st = self.viewed();
        st.in_pack.contains_key(d) || st.view.as_ref().is_some_and(|v| v.has(d))
    }

    /// Stores `bytes`, whose hash is `d`, unless already there, in this handle's pack. A
    /// failure is counted, not returned: a content that is not stored is only not
    /// restorable.
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
        let Some(frame) = frame else {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut st = self.state();
        if st.in_pack.contains_key(d) {
            return;
        }
        if st.pack.is_none() {
            st.pack = PackWriter::create(&self.dir, TEMP_PREFIX).ok();
        }
        let appended = st.pack.as_mut().map(|w| w.append(d, &frame));
        match appended {
            Some(Ok(slot)) => {
                st.in_pack.insert(*d, Place::of(usize::MAX, &slot));
                self.written.fetch_add(1, Ordering::Relaxed);
                crate::session::crashpoint::hit("store.object_packed");
            }
            _ => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A writer that compresses a content into a temp file of the store, to be named by
    /// its hash once known ([`ObjectWriter::finish`]): a loose object.
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

    /// Makes every object written so far durable, then the directory: this handle's pack
    /// is finished (index, one `fsync`, renamed); new loose objects get their own `fsync`
    /// when there are few (a `syncfs` would also wait for every other program's writes to
    /// the filesystem), one `syncfs` when there are many. Objects written after it go
    /// into a new pack.
    pub fn sync(&self) -> Result<()> {
        let mut st = self.state();
        let mut touched = false;
        if let Some(w) = st.pack.take() {
            let count = w.len();
            match w.finish(&self.dir) {
                Ok((name, _)) => {
                    st.made.push(name);
                    // Read again when next needed (an end with changes): holding every
                    // place of a cold capture until then would only cost memory.
                    st.in_pack = HashMap::new();
                    st.view = None;
                    st.open_packs.clear();
                    touched = true;
                    crate::session::crashpoint::hit("store.pack_written");
                }
                Err(e) => {
                    st.in_pack = HashMap::new();
                    self.failed.fetch_add(count as u64, Ordering::Relaxed);
                    return Err(Error::io(self.dir.path(), e));
                }
            }
        }
        let loose = std::mem::take(&mut st.unsynced);
        drop(st);
        if !loose.is_empty() {
            touched = true;
            self.dir.sync_names(&loose)?;
        }
        if touched {
            self.dir.sync()?;
        }
        Ok(())
    }

    /// The content of hash `d`, decompressed, at most `cap` bytes, checked against its
    /// hash. `Ok(None)`: not stored. A content that does not match its hash (corrupted) is
    /// a format error naming the object.
    pub fn get(&self, d: &[u8; 32], cap: u64) -> Result<Option<Vec<u8>>> {
        let name = hex(d);
        let corrupt = |path: std::path::PathBuf| {
            Error::format(
                path,
                format!("stored content {name} is corrupted (does not match its hash)"),
            )
        };
        let loose_path = self.dir.join(&name);
        let out = match self
            .dir
            .open_file(&name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        {
            Ok(file) => {
                if !file
                    .metadata()
                    .map_err(|e| Error::io(&loose_path, e))?
                    .is_file()
                {
                    return Err(Error::format(&loose_path, "is not a regular file"));
                }
                inflate(file, cap).ok_or_else(|| corrupt(loose_path.clone()))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Some((path, frame)) = self.packed_frame(d)? else {
                    return Ok(None);
                };
                inflate_frame(&frame, cap).ok_or_else(|| corrupt(path))?
            }
            Err(e) => return Err(Error::io(&loose_path, e)),
        };
        let got: [u8; 32] = Sha256::digest(&out).into();
        if &got != d {
            return Err(corrupt(loose_path));
        }
        Ok(Some(out))
    }

    /// The frame of packed object `d` and the path of its pack, when one holds it.
    fn packed_frame(&self, d: &[u8; 32]) -> Result<Option<(std::path::PathBuf, Vec<u8>)>> {
        let mut st = self.viewed();
        if let Some(place) = st.in_pack.get(d).copied()
            && let Some(w) = st.pack.as_mut()
        {
            let frame = w
                .read(&place.slot(d))
                .map_err(|e| Error::io(self.dir.path(), e))?;
            return Ok(Some((self.dir.path().to_owned(), frame)));
        }
        let Some(v) = st.view.as_ref() else {
            return Ok(None);
        };
        let Some(place) = v.packed.get(d).copied() else {
            return Ok(None);
        };
        let Some(name) = v.packs.get(place.pack as usize).map(|p| p.name.clone()) else {
            return Ok(None);
        };
        let slot = place.slot(d);
        let path = self.dir.join(&name);
        let file = match st.open_packs.entry(place.pack) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                match self
                    .dir
                    .open_file(&name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
                {
                    Ok(f) => v.insert(f),
                    // Collected since the view was read.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
        };
        let frame = pack::read_frame(file, &slot).map_err(|e| Error::io(&path, e))?;
        Ok(Some((path, frame)))
    }

    /// What the store holds, read afresh from the directory, for collection.
    pub(crate) fn catalog(&self) -> Result<Catalog> {
        Ok(Catalog {
            view: View::load(&self.dir, true)?,
        })
    }

    /// Total bytes the store's objects and packs take (their files' sizes).
    pub fn total_bytes(&self) -> Result<u64> {
        Ok(self
            .dir
            .names()?
            .iter()
            .filter(|n| is_object_name(n) || is_pack_name(n))
            .filter_map(|n| self.dir.size_of(n))
            .map(|(s, _)| s)
            .sum())
    }

    /// Removes every object of `cat` not in `live`: loose objects are removed; a pack none
    /// of whose objects is live is removed; a pack whose live objects take less than half
    /// its frames' bytes is rewritten with only them (the new pack durable before the old
    /// one goes); a pack whose index cannot be read is removed. An object held twice counts
    /// only in its first place (loose, else its first pack).
    pub(crate) fn retain(&self, cat: &Catalog, live: &HashSet<[u8; 32]>) -> Result<()> {
        let view = &cat.view;
        let mut changed = false;
        for d in view.loose.keys().filter(|d| !live.contains(*d)) {
            changed |= self.dir.unlink(&hex(d))?;
        }
        for (at, p) in view.packs.iter().enumerate() {
            if !p.usable {
                changed |= self.dir.unlink(&p.name)?;
                continue;
            }
            let first_here = |s: &Slot| {
                !view.loose.contains_key(&s.hash)
                    && view
                        .packed
                        .get(&s.hash)
                        .is_some_and(|pl| pl.pack as usize == at && pl.offset == s.offset)
            };
            let keep: Vec<Slot> = p
                .slots
                .iter()
                .filter(|s| live.contains(&s.hash) && first_here(s))
                .copied()
                .collect();
            let all: u64 = p.slots.iter().map(|s| u64::from(s.len)).sum();
            let kept: u64 = keep.iter().map(|s| u64::from(s.len)).sum();
            if keep.len() == p.slots.len() || (!keep.is_empty() && kept * 2 >= all) {
                continue;
            }
            if !keep.is_empty() {
                self.repack(&p.name, &keep)?;
            }
            changed |= self.dir.unlink(&p.name)?;
        }
        changed |= self.dir.unlink(OLD_MARKER)?;
        if changed {
            self.dir.sync()?;
        }
        let mut st = self.state();
        st.view = None;
        st.open_packs.clear();
        Ok(())
    }

    /// Writes the objects `keep` of pack `name` into a new pack, durable.
    fn repack(&self, name: &str, keep: &[Slot]) -> Result<()> {
        let path = self.dir.join(name);
        let file = self
            .dir
            .open_file(name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
            .map_err(|e| Error::io(&path, e))?;
        let mut frames = Vec::with_capacity(keep.len());
        for s in keep {
            frames.push((
                s.hash,
                pack::read_frame(&file, s).map_err(|e| Error::io(&path, e))?,
            ));
        }
        pack::write(&self.dir, TEMP_PREFIX, frames).map_err(|e| Error::io(self.dir.path(), e))?;
        self.dir.sync()
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
    /// it): its pack being written, its new objects and packs, and the store directory when
    /// it made it. `ctask` is the `.ctask/` directory holding the store.
    pub fn discard(&self, ctask: &Dir) {
        let mut st = self.state();
        if let Some(w) = st.pack.take() {
            w.abandon(&self.dir);
        }
        st.in_pack.clear();
        st.unsynced.clear();
        st.view = None;
        st.open_packs.clear();
        for n in std::mem::take(&mut st.made) {
            let _ = self.dir.unlink(&n);
        }
        drop(st);
        if self.created {
            let _ = ctask.remove_empty_dir(OBJECTS_DIR);
        }
    }

    /// Whether this handle made the store directory (it was not there before).
    pub fn created(&self) -> bool {
        self.created
    }

    /// The path of the store (for messages).
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Records loose object `name` (hash `d`) as written by this handle.
    fn wrote_loose(&self, d: &[u8; 32], name: String) {
        self.written.fetch_add(1, Ordering::Relaxed);
        let size = self.dir.size_of(&name).map_or(0, |(s, _)| s);
        let mut st = self.state();
        if let Some(v) = st.view.as_mut() {
            v.loose.insert(*d, size);
        }
        st.unsynced.push(name.clone());
        st.made.push(name);
    }
}

/// Decompresses one packed frame with this thread's reused context, refusing more than
/// `cap` bytes; `None` when it is not a valid frame or too long.
fn inflate_frame(frame: &[u8], cap: u64) -> Option<Vec<u8>> {
    thread_local! {
        static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    // `cap` is its recorded size; packed contents are never larger than a frame may be,
    // so a record claiming more cannot make this allocate it.
    let room = usize::try_from(cap.saturating_add(1).min(u64::from(pack::MAX_FRAME))).ok()?;
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = zstd::bulk::Decompressor::new().ok();
        }
        let out = d.as_mut()?.decompress(frame, room).ok()?;
        (out.len() as u64 <= cap).then_some(out)
    })
}

/// Decompresses a zstd stream, refusing more than `cap` bytes; `None` when it is not a
/// valid frame or too long.
fn inflate(src: impl Read, cap: u64) -> Option<Vec<u8>> {
    let dec = zstd::stream::read::Decoder::new(src).ok()?;
    let mut out = Vec::new();
    dec.take(cap.saturating_add(1)).read_to_end(&mut out).ok()?;
    (out.len() as u64 <= cap).then_some(out)
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
        if self.store.has(d) {
            let _ = self.store.dir.unlink(&self.name);
        } else {
            let target = hex(d);
            self.store.dir.rename(&self.name, &target)?;
            self.store.wrote_loose(d, target);
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
    use std::collections::HashSet;

    fn sha(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn the_packed_list_finds_each_object_at_its_first_pack() {
        let slot = |data: &[u8], offset| Slot {
            hash: sha(data),
            offset,
            len: 7,
        };
        let mut p = Packed::default();
        p.add(0, &[slot(b"b", 10), slot(b"a", 20)]);
        p.add(1, &[slot(b"c", 30), slot(b"a", 40)]);
        p.finish();
        assert_eq!(p.0.len(), 3, "an object in two packs is listed once");
        assert!(p.0.is_sorted_by(|x, y| x.0 < y.0));
        let a = p.get(&sha(b"a")).unwrap();
        assert_eq!((a.pack, a.offset), (0, 20));
        let c = p.get(&sha(b"c")).unwrap();
        assert_eq!((c.pack, c.offset), (1, 30));
        assert!(p.contains(&sha(b"b")));
        assert!(!p.contains(&sha(b"d")));
        assert!(Packed::default().get(&sha(b"a")).is_none());
    }

    /// The packs in the store directory.
    fn packs(store: &Store) -> Vec<String> {
        let mut v: Vec<String> = store
            .dir
            .names()
            .unwrap()
            .into_iter()
            .filter(|n| is_pack_name(n))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn packed_contents_round_trip_and_corruption_is_caught() {
        let d = tempfile::tempdir().unwrap();
        let ctask = Dir::open(d.path()).unwrap();
        let store = Store::open(&ctask, true, 1024).unwrap().unwrap();
        let data = b"hello, store".repeat(100);
        let h = sha(&data);
        assert!(!store.has(&h));
        store.put(&h, &data);
        store.put(&h, &data);
        assert!(store.has(&h) && store.written() == 1);
        // Readable before and after its pack is finished.
        assert_eq!(store.get(&h, data.len() as u64).unwrap().unwrap(), data);
        store.sync().unwrap();
        assert_eq!(packs(&store).len(), 1);
        assert_eq!(store.get(&h, data.len() as u64).unwrap().unwrap(), data);
        // A fresh handle finds it in the pack.
        let again = Store::open(&ctask, false, 1024).unwrap().unwrap();
        assert!(again.has(&h));
        assert_eq!(again.get(&h, data.len() as u64).unwrap().unwrap(), data);
        // Bounded: a content longer than its recorded size is refused.
        assert!(again.get(&h, 10).is_err());
        // A flipped byte in the frame: refused, naming the object.
        let pack = d.path().join(OBJECTS_DIR).join(&packs(&store)[0]);
        let mut bytes = std::fs::read(&pack).unwrap();
        bytes[14] ^= 0x55;
        std::fs::write(&pack, &bytes).unwrap();
        let fresh = Store::open(&ctask, false, 1024).unwrap().unwrap();
        let e = fresh.get(&h, 10_000).unwrap_err().to_string();
        assert!(e.contains("corrupted") && e.contains(&hex(&h)), "{e}");
        let missing = [9u8; 32];
        assert!(fresh.get(&missing, 1).unwrap().is_none());
    }

    #[test]
    fn a_loose_object_is_caught_when_corrupted() {
        let d = tempfile::tempdir().unwrap();
        let ctask = Dir::open(d.path()).unwrap();
        let store = Store::open(&ctask, true, 1 << 20).unwrap().unwrap();
        let (a, b) = (b"first".repeat(1000), b"second".repeat(1000));
        for x in [&a, &b] {
            let mut w = store.writer().unwrap();
            w.write(x).unwrap();
            w.finish(&sha(x)).unwrap();
        }
        store.sync().unwrap();
        assert_eq!(store.written(), 2);
        assert_eq!(store.get(&sha(&a), 1 << 20).unwrap().unwrap(), a);
        // Another valid frame under a's name does not match the hash.
        let dir = d.path().join(OBJECTS_DIR);
        std::fs::copy(dir.join(hex(&sha(&b))), dir.join(hex(&sha(&a)))).unwrap();
        let e = store.get(&sha(&a), 1 << 20).unwrap_err().to_string();
        assert!(e.contains("corrupted") && e.contains(&hex(&sha(&a))), "{e}");
    }

    #[test]
    fn one_pack_per_sync_and_retain_keeps_exactly_the_live_objects() {
        let d = tempfile::tempdir().unwrap();
        let ctask = Dir::open(d.path()).unwrap();
        let store = Store::open(&ctask, true, 1 << 20).unwrap().unwrap();
        let contents: Vec<Vec<u8>> = (0..40)
            .map(|i| format!("content {i}\n").repeat(50).into_bytes())
            .collect();
        for c in &contents[..20] {
            store.put(&sha(c), c);
        }
        store.sync().unwrap();
        for c in &contents[20..] {
            store.put(&sha(c), c);
        }
        store.sync().unwrap();
        let before = packs(&store);
        assert_eq!(before.len(), 2);
        let cat = store.catalog().unwrap();
        assert!(contents.iter().all(|c| cat.size(&sha(c)).is_some()));
        // Live: 15 of the first pack (kept as it is), 3 of the second (rewritten with only
        // them, so nothing of its other 17 remains).
        let live: HashSet<[u8; 32]> = contents[..15]
            .iter()
            .chain(&contents[20..23])
            .map(|c| sha(c))
            .collect();
        store.retain(&cat, &live).unwrap();
        let after = packs(&store);
        assert_eq!(after.len(), 2);
        assert!(after.contains(&before[0]) || after.contains(&before[1]));
        let fresh = Store::open(&ctask, false, 1 << 20).unwrap().unwrap();
        for (i, c) in contents.iter().enumerate() {
            // The first pack is kept whole: its dead objects stay until it is mostly dead.
            let want_stored = i < 20 || live.contains(&sha(c));
            assert_eq!(fresh.has(&sha(c)), want_stored, "content {i}");
            if live.contains(&sha(c)) {
                assert_eq!(&fresh.get(&sha(c), 1 << 20).unwrap().unwrap(), c);
            }
        }
        // Nothing live: every pack goes.
        fresh
            .retain(&fresh.catalog().unwrap(), &HashSet::new())
            .unwrap();
        assert!(packs(&fresh).is_empty());
        assert_eq!(fresh.total_bytes().unwrap(), 0);
    }

    #[test]
    fn a_content_held_twice_and_an_unusable_pack_are_collected() {
        let d = tempfile::tempdir().unwrap();
        let ctask = Dir::open(d.path()).unwrap();
        let store = Store::open(&ctask, true, 1 << 20).unwrap().unwrap();
        let c = b"twice".repeat(100);
        store.put(&sha(&c), &c);
        store.sync().unwrap();
        let dir = d.path().join(OBJECTS_DIR);
        let first = packs(&store).remove(0);
        // A copy (as a crash between a rewrite and the removal of the old pack leaves),
        // and a pack cut short.
        std::fs::copy(dir.join(&first), dir.join("pack-ffffffffffffffff.pack")).unwrap();
        let bytes = std::fs::read(dir.join(&first)).unwrap();
        std::fs::write(
            dir.join("pack-0000000000000000.pack"),
            &bytes[..bytes.len() - 3],
        )
        .unwrap();
        let live: HashSet<[u8; 32]> = [sha(&c)].into();
        store.retain(&store.catalog().unwrap(), &live).unwrap();
        assert_eq!(packs(&store), vec![first]);
        assert_eq!(store.get(&sha(&c), 1 << 20).unwrap().unwrap(), c);
    }

    #[test]
    fn a_discarded_handle_takes_back_its_pack() {
        let d = tempfile::tempdir().unwrap();
        let ctask = Dir::open(d.path()).unwrap();
        let store = Store::open(&ctask, true, 1 << 20).unwrap().unwrap();
        store.put(&sha(b"x"), b"x");
        store.sync().unwrap();
        store.put(&sha(b"y"), b"y");
        store.discard(&ctask);
        assert!(!d.path().join(OBJECTS_DIR).exists());
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
