//! Packs: many stored contents in one file of the store, so that a capture that stores
//! thousands of small files creates one file and makes it durable with one `fsync`
//! (docs/undo.md, "Packs").
//!
//! Layout of `pack-<16 hex>.pack`: the magic `CTASKPCK` and a version (u32), the zstd
//! frames one after another, then the index — one slot per object, sorted by hash: the
//! SHA-256 of the content (32 bytes), the frame's offset (u64) and length (u32) — then a
//! footer: the index's offset (u64), the slot count (u64), the SHA-256 of the index
//! bytes, and the magic `CTASKPKE`. Integers are little-endian. A pack is written under a
//! temp name and renamed once whole and durable; it is never modified after.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::session::dirfd::{Dir, random_hex};

const MAGIC: &[u8; 8] = b"CTASKPCK";
const END_MAGIC: &[u8; 8] = b"CTASKPKE";
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 12;
const SLOT_LEN: u64 = 44;
const FOOTER_LEN: u64 = 56;
/// The longest frame a pack holds (packed contents are below the capture's read buffer,
/// 256 KiB; zstd's bound for that is a little more). A longer length is corruption.
pub(crate) const MAX_FRAME: u32 = 1024 * 1024;
/// The largest index read (about 3 million contents in one pack); a longer one is refused,
/// so a planted file cannot make a reader allocate what it claims.
const MAX_INDEX: u64 = 128 * 1024 * 1024;
/// Name prefix and suffix of a finished pack.
const PREFIX: &str = "pack-";
const SUFFIX: &str = ".pack";

/// Where an object lies in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// SHA-256 of the content.
    pub hash: [u8; 32],
    /// Offset of its zstd frame in the pack.
    pub offset: u64,
    /// Length of the frame.
    pub len: u32,
}

/// Whether `name` is a finished pack's name.
pub(crate) fn is_pack_name(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|r| r.strip_suffix(SUFFIX))
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Every this many bytes appended, the writeback of what was written is started, so the
/// `fsync` that finishes a large pack has little left to wait for.
const WRITEBACK_EVERY: u64 = 32 * 1024 * 1024;

/// A pack being written under a temp name.
#[derive(Debug)]
pub(crate) struct PackWriter {
    temp: String,
    out: BufWriter<File>,
    at: u64,
    /// Writeback was started up to here.
    kicked: u64,
    slots: Vec<Slot>,
}

impl PackWriter {
    /// Starts a pack in `dir` under the temp name `temp_prefix` + random digits.
    pub(crate) fn create(dir: &Dir, temp_prefix: &str) -> io::Result<PackWriter> {
        let temp = format!("{temp_prefix}{}", random_hex(8));
        let file = dir.open_file(&temp, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600)?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let written = out
            .write_all(MAGIC)
            .and_then(|()| out.write_all(&VERSION.to_le_bytes()));
        if let Err(e) = written {
            drop(out);
            let _ = dir.unlink(&temp);
            return Err(e);
        }
        Ok(PackWriter {
            temp,
            out,
            at: HEADER_LEN,
            kicked: 0,
            slots: Vec::new(),
        })
    }

    /// Appends the frame of the content of hash `hash`; where it lies.
    pub(crate) fn append(&mut self, hash: &[u8; 32], frame: &[u8]) -> io::Result<Slot> {
        let len = u32::try_from(frame.len())
            .ok()
            .filter(|l| *l <= MAX_FRAME)
            .ok_or_else(|| io::Error::other("frame too long for a pack"))?;
        self.out.write_all(frame)?;
        let slot = Slot {
            hash: *hash,
            offset: self.at,
            len,
        };
        self.at += u64::from(len);
        self.slots.push(slot);
        if self.at - self.kicked >= WRITEBACK_EVERY {
            self.out.flush()?;
            start_writeback(self.out.get_ref(), self.kicked, self.at - self.kicked);
            self.kicked = self.at;
        }
        Ok(slot)
    }

    /// Objects appended so far.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The frame at `slot` of this unfinished pack (written out first).
    pub(crate) fn read(&mut self, slot: &Slot) -> io::Result<Vec<u8>> {
        self.out.flush()?;
        read_frame(self.out.get_ref(), slot)
    }

    /// Writes the index and footer, makes the pack durable (`fsync`) and renames it to its
    /// final name; returns that name and its slots. The directory's own `fsync` is the
    /// caller's.
    pub(crate) fn finish(mut self, dir: &Dir) -> io::Result<(String, Vec<Slot>)> {
        let r = (|| {
            self.slots.sort_unstable_by_key(|s| s.hash);
            self.slots.dedup_by(|a, b| a.hash == b.hash);
            let mut index = Vec::with_capacity(self.slots.len() * SLOT_LEN as usize);
            for s in &self.slots {
                index.extend_from_slice(&s.hash);
                index.extend_from_slice(&s.offset.to_le_bytes());
                index.extend_from_slice(&s.len.to_le_bytes());
            }
            let sum: [u8; 32] = Sha256::digest(&index).into();
            self.out.write_all(&index)?;
            self.out.write_all(&self.at.to_le_bytes())?;
            self.out
                .write_all(&(self.slots.len() as u64).to_le_bytes())?;
            self.out.write_all(&sum)?;
            self.out.write_all(END_MAGIC)?;
            self.out.flush()?;
            self.out.get_ref().sync_all()?;
            let name = format!("{PREFIX}{}{SUFFIX}", random_hex(8));
            dir.rename(&self.temp, &name)?;
            Ok(name)
        })();
        match r {
            Ok(name) => Ok((name, std::mem::take(&mut self.slots))),
            Err(e) => {
                let _ = dir.unlink(&self.temp);
                Err(e)
            }
        }
    }

    /// Gives up: removes the temp file.
    pub(crate) fn abandon(self, dir: &Dir) {
        let _ = dir.unlink(&self.temp);
    }
}

/// Starts writing `len` bytes of `file` from `offset` to disk, without waiting (Linux's
/// `sync_file_range`); a hint only, so a failure is ignored (the `fsync` at the end is what
/// makes the pack durable).
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the duration of the call (borrowed from `file`);
    // the call reads no memory of this process.
    let _ = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
}

/// The frame at `slot` of an open pack.
pub(crate) fn read_frame(file: &File, slot: &Slot) -> io::Result<Vec<u8>> {
    if slot.len > MAX_FRAME {
        return Err(io::Error::other("frame too long"));
    }
    let mut frame = vec![0; slot.len as usize];
    file.read_exact_at(&mut frame, slot.offset)?;
    Ok(frame)
}

/// Reads and checks the index of pack `name` in `dir`: its slots, sorted by hash. A pack
/// whose footer, index checksum or slots do not add up is a format error naming it.
pub(crate) fn read_index(dir: &Dir, name: &str) -> Result<Vec<Slot>> {
    let path = dir.join(name);
    let bad = |why: &str| Error::format(&path, format!("is not a usable pack: {why}"));
    let file = dir
        .open_file(name, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .map_err(|e| Error::io(&path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
    if !meta.is_file() {
        return Err(bad("not a regular file"));
    }
    let size = meta.len();
    if size < HEADER_LEN + FOOTER_LEN {
        return Err(bad("too short"));
    }
    let mut head = [0u8; HEADER_LEN as usize];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| Error::io(&path, e))?;
    if &head[..8] != MAGIC {
        return Err(bad("no pack header"));
    }
    if u32::from_le_bytes(head[8..12].try_into().unwrap_or_default()) != VERSION {
        return Err(bad("another version"));
    }
    let mut foot = [0u8; FOOTER_LEN as usize];
    file.read_exact_at(&mut foot, size - FOOTER_LEN)
        .map_err(|e| Error::io(&path, e))?;
    if &foot[48..] != END_MAGIC {
        return Err(bad("no footer (not finished)"));
    }
    let u64_at = |i: usize| u64::from_le_bytes(foot[i..i + 8].try_into().unwrap_or_default());
    let (index_at, count) = (u64_at(0), u64_at(8));
    let index_len = count
        .checked_mul(SLOT_LEN)
        .filter(|l| index_at.checked_add(*l) == Some(size - FOOTER_LEN) && index_at >= HEADER_LEN)
        .filter(|l| *l <= MAX_INDEX)
        .ok_or_else(|| bad("index does not fit the file"))?;
    let mut index = vec![0u8; usize::try_from(index_len).map_err(|_| bad("index too long"))?];
    file.read_exact_at(&mut index, index_at)
        .map_err(|e| Error::io(&path, e))?;
    let sum: [u8; 32] = Sha256::digest(&index).into();
    if sum[..] != foot[16..48] {
        return Err(bad("index checksum mismatch"));
    }
    let mut slots = Vec::with_capacity(index.len() / SLOT_LEN as usize);
    for raw in index.chunks_exact(SLOT_LEN as usize) {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&raw[..32]);
        let offset = u64::from_le_bytes(raw[32..40].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(raw[40..44].try_into().unwrap_or_default());
        let inside = offset >= HEADER_LEN
            && len <= MAX_FRAME
            && offset
                .checked_add(u64::from(len))
                .is_some_and(|e| e <= index_at);
        if !inside {
            return Err(bad("a slot lies outside the frames"));
        }
        if slots.last().is_some_and(|p: &Slot| p.hash >= hash) {
            return Err(bad("index not sorted"));
        }
        slots.push(Slot { hash, offset, len });
    }
    Ok(slots)
}

/// Writes a new pack in `dir` holding `frames` (hash, frame), durable and renamed; its name
/// and slots.
pub(crate) fn write(
    dir: &Dir,
    temp_prefix: &str,
    frames: impl IntoIterator<Item = ([u8; 32], Vec<u8>)>,
) -> io::Result<(String, Vec<Slot>)> {
    let mut w = PackWriter::create(dir, temp_prefix)?;
    for (hash, frame) in frames {
        if let Err(e) = w.append(&hash, &frame) {
            w.abandon(dir);
            return Err(e);
        }
    }
    w.finish(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: u8) -> Vec<([u8; 32], Vec<u8>)> {
        (0..n)
            .map(|i| ([i; 32], vec![i; usize::from(i) + 1]))
            .collect()
    }

    #[test]
    fn a_pack_round_trips_and_names_itself() {
        let d = tempfile::tempdir().unwrap();
        let dir = Dir::open(d.path()).unwrap();
        let (name, slots) = write(&dir, "tmp-", frames(5).into_iter().rev()).unwrap();
        assert!(is_pack_name(&name), "{name}");
        assert_eq!(read_index(&dir, &name).unwrap(), slots);
        let file = std::fs::File::open(d.path().join(&name)).unwrap();
        for (h, f) in frames(5) {
            let s = slots.iter().find(|s| s.hash == h).unwrap();
            assert_eq!(read_frame(&file, s).unwrap(), f);
        }
        // No temp file is left.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn any_damage_to_the_index_or_footer_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let dir = Dir::open(d.path()).unwrap();
        let (name, _) = write(&dir, "tmp-", frames(3)).unwrap();
        let path = d.path().join(&name);
        let good = std::fs::read(&path).unwrap();
        let frames_end = good.len() - FOOTER_LEN as usize - 3 * SLOT_LEN as usize;
        for i in frames_end..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            let e = read_index(&dir, &name).unwrap_err().to_string();
            assert!(
                e.contains(&name) && e.contains("not a usable pack"),
                "{i}: {e}"
            );
        }
        for cut in [1, 10, FOOTER_LEN as usize, good.len() - 5] {
            std::fs::write(&path, &good[..good.len() - cut]).unwrap();
            assert!(read_index(&dir, &name).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn an_index_claiming_more_than_the_bound_is_refused_unread() {
        let d = tempfile::tempdir().unwrap();
        let dir = Dir::open(d.path()).unwrap();
        let name = "pack-00000000000000aa.pack";
        let count = MAX_INDEX / SLOT_LEN + 1;
        let index_at = HEADER_LEN;
        let size = index_at + count * SLOT_LEN + FOOTER_LEN;
        let f = std::fs::File::create(d.path().join(name)).unwrap();
        f.set_len(size).unwrap();
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(&VERSION.to_le_bytes());
        f.write_all_at(&head, 0).unwrap();
        let mut foot = index_at.to_le_bytes().to_vec();
        foot.extend_from_slice(&count.to_le_bytes());
        foot.extend_from_slice(&[0; 32]);
        foot.extend_from_slice(END_MAGIC);
        f.write_all_at(&foot, size - FOOTER_LEN).unwrap();
        let e = read_index(&dir, name).unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
    }

    #[test]
    fn pack_names() {
        assert!(is_pack_name("pack-0123456789abcdef.pack"));
        for n in [
            "pack-.pack",
            "pack-0123456789abcdef",
            "pack-0123456789abcdeg.pack",
            "x",
        ] {
            assert!(!is_pack_name(n), "{n}");
        }
    }
}
