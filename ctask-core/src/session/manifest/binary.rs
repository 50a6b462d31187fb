//! The binary manifest layout of `.ctask/index` and `.ctask/manifest-start.bin`: read with
//! one bounded read and no text parsing (git's index idea). Layout in docs/manifest.md.
//!
//! Fixed-size integers are little-endian; "varint" is LEB128 (7 bits a byte, low first), a
//! signed one zigzag-coded. Header: magic `CTASKIDX`, format version (u32), what the file is
//! (u8: index or start manifest), the session id (u16 length + bytes), `captured_at` (i64
//! seconds, u32 nanoseconds), the entry count (u64). Then the entries, sorted by path, each:
//! flags (u8), kind (u8), path (varint: bytes shared with the previous path, varint: length of
//! the rest, the rest), size (varint), mtime (signed varint seconds, u32 nanoseconds), and when
//! their flag is set: inode (varint), ctime (as mtime; absent when flagged equal to mtime),
//! mode (varint), SHA-256 (32 bytes), symlink target (varint length + bytes). Last, the
//! SHA-256 of everything before it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Entry, Kind, Manifest, Timestamp, valid_path};

/// First bytes of every file in this layout.
const MAGIC: &[u8; 8] = b"CTASKIDX";
/// The layout version this build reads and writes; another version is "foreign".
pub const VERSION: u32 = 1;
/// Size of the trailing checksum.
const SUM: usize = 32;

const HAS_INO: u8 = 1;
const HAS_CTIME: u8 = 2;
const HAS_MODE: u8 = 4;
const HAS_SHA: u8 = 8;
const HAS_TARGET: u8 = 16;
const CTIME_IS_MTIME: u8 = 32;

/// What a binary manifest file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `.ctask/index`: the last end manifest, the baseline and hash cache.
    Index,
    /// `.ctask/manifest-start.bin`: a live session's start manifest.
    Start,
}

impl Role {
    fn byte(self) -> u8 {
        match self {
            Role::Index => 1,
            Role::Start => 2,
        }
    }
}

/// A binary manifest as read: which session it belongs to, and the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The session whose end (index) or begin (start manifest) captured it.
    pub session_id: String,
    /// The manifest.
    pub manifest: Manifest,
}

/// Why a binary manifest could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Not in this layout at all (no magic).
    NotBinary,
    /// Written by another version of the layout.
    Version(u32),
    /// Truncated, checksum mismatch, or an entry that does not decode; the detail says which.
    Corrupt(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::NotBinary => f.write_str("not a ctask binary manifest"),
            Unusable::Version(v) => write!(f, "layout version {v}, this ctask reads {VERSION}"),
            Unusable::Corrupt(d) => write!(f, "corrupt ({d})"),
        }
    }
}

/// Whether `bytes` begin like a file in this layout.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Encodes `entries` (sorted by path) captured at `captured_at` by session `session_id`.
pub fn encode(
    role: Role,
    session_id: &str,
    captured_at: &DateTime<Utc>,
    entries: &[Entry],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + session_id.len() + entries.len() * 110);
    // Writing to a Vec cannot fail.
    let _ = write_to(&mut out, role, session_id, captured_at, entries);
    out
}

/// Streams the encoding of `entries` to `w` (as [`encode`], never holding it whole).
pub fn write_to(
    w: &mut dyn std::io::Write,
    role: Role,
    session_id: &str,
    captured_at: &DateTime<Utc>,
    entries: &[Entry],
) -> std::io::Result<()> {
    let mut sum = Sha256::new();
    let mut buf = Vec::with_capacity(64 * 1024);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&VERSION.to_le_bytes());
    buf.push(role.byte());
    let id = &session_id.as_bytes()[..session_id.len().min(usize::from(u16::MAX))];
    buf.extend_from_slice(&(id.len() as u16).to_le_bytes());
    buf.extend_from_slice(id);
    put_time(&mut buf, &Timestamp::from_datetime(captured_at));
    buf.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    let mut prev = "";
    for e in entries {
        put_entry(&mut buf, e, prev);
        prev = &e.path;
        if buf.len() >= 60 * 1024 {
            sum.update(&buf);
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    sum.update(&buf);
    buf.extend_from_slice(&sum.finalize());
    w.write_all(&buf)
}

fn put_time(out: &mut Vec<u8>, t: &Timestamp) {
    out.extend_from_slice(&t.secs().to_le_bytes());
    out.extend_from_slice(&t.nanos().to_le_bytes());
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_entry_time(out: &mut Vec<u8>, t: &Timestamp) {
    let s = t.secs();
    put_varint(out, ((s << 1) ^ (s >> 63)) as u64);
    out.extend_from_slice(&t.nanos().to_le_bytes());
}

fn put_entry(out: &mut Vec<u8>, e: &Entry, prev: &str) {
    let same_ctime = e.ctime.as_ref() == Some(&e.mtime);
    let flags = if e.ino.is_some() { HAS_INO } else { 0 }
        | if e.ctime.is_some() { HAS_CTIME } else { 0 }
        | if same_ctime { CTIME_IS_MTIME } else { 0 }
        | if e.mode.is_some() { HAS_MODE } else { 0 }
        | if e.sha256.is_some() { HAS_SHA } else { 0 }
        | if e.target.is_some() { HAS_TARGET } else { 0 };
    out.push(flags);
    out.push(match e.kind {
        Kind::File => 0,
        Kind::Symlink => 1,
        Kind::Other => 2,
    });
    let shared = prev
        .bytes()
        .zip(e.path.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    put_varint(out, shared as u64);
    let rest = &e.path.as_bytes()[shared..];
    put_varint(out, rest.len() as u64);
    out.extend_from_slice(rest);
    put_varint(out, e.size);
    put_entry_time(out, &e.mtime);
    if let Some(ino) = e.ino {
        put_varint(out, ino);
    }
    if let Some(c) = e.ctime.as_ref().filter(|_| !same_ctime) {
        put_entry_time(out, c);
    }
    if let Some(m) = e.mode {
        put_varint(out, u64::from(m));
    }
    if let Some(d) = &e.sha256 {
        out.extend_from_slice(d);
    }
    if let Some(t) = &e.target {
        put_varint(out, t.len() as u64);
        out.extend_from_slice(t.as_bytes());
    }
}

/// Decodes a file in this layout, checking its role, checksum, paths and order.
pub fn decode(bytes: &[u8], role: Role) -> Result<Named, Unusable> {
    if !is_binary(bytes) {
        return Err(Unusable::NotBinary);
    }
    let mut r = Reader {
        b: bytes,
        at: MAGIC.len(),
        prev: Vec::new(),
    };
    let version = r.u32()?;
    if version != VERSION {
        return Err(Unusable::Version(version));
    }
    if bytes.len() < MAGIC.len() + SUM {
        return Err(corrupt("truncated"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - SUM);
    if Sha256::digest(body).as_slice() != sum {
        return Err(corrupt("checksum mismatch"));
    }
    r.b = body;
    let got = r.u8()?;
    if got != role.byte() {
        return Err(corrupt("written for another purpose"));
    }
    let id_len = usize::from(u16::from_le_bytes(r.array()?));
    let session_id = r.string(id_len)?;
    let captured_at = r.time()?.to_datetime();
    let count = r.u64()?;
    // Every entry takes at least 9 bytes: a count beyond that is corrupt, never allocated.
    if count > (body.len() / 9) as u64 {
        return Err(corrupt("entry count beyond the file's size"));
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let e = r.entry()?;
        if !valid_path(&e.path) {
            return Err(corrupt("an invalid path"));
        }
        if entries.last().is_some_and(|p| p.path >= e.path) {
            return Err(corrupt("entries out of order"));
        }
        entries.push(e);
    }
    if r.at != body.len() {
        return Err(corrupt("bytes after the last entry"));
    }
    Ok(Named {
        session_id,
        manifest: Manifest {
            captured_at,
            entries,
        },
    })
}

fn corrupt(detail: &str) -> Unusable {
    Unusable::Corrupt(detail.to_owned())
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    /// The previous entry's path (entries share a prefix with it).
    prev: Vec<u8>,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Unusable> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| corrupt("truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Unusable> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, Unusable> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, Unusable> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Unusable> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn time(&mut self) -> Result<Timestamp, Unusable> {
        let secs = i64::from_le_bytes(self.array()?);
        let nanos = self.u32()?;
        if nanos >= 1_000_000_000 {
            return Err(corrupt("a time with nanoseconds beyond a second"));
        }
        Ok(Timestamp::from_unix(secs, i64::from(nanos)))
    }

    fn string(&mut self, n: usize) -> Result<String, Unusable> {
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| corrupt("a name that is not UTF-8"))
    }

    fn varint(&mut self) -> Result<u64, Unusable> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("a number longer than 64 bits"))
    }

    fn length(&mut self) -> Result<usize, Unusable> {
        usize::try_from(self.varint()?).map_err(|_| corrupt("a length beyond memory"))
    }

    fn entry_time(&mut self) -> Result<Timestamp, Unusable> {
        let z = self.varint()?;
        let secs = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let nanos = self.u32()?;
        if nanos >= 1_000_000_000 {
            return Err(corrupt("a time with nanoseconds beyond a second"));
        }
        Ok(Timestamp::from_unix(secs, i64::from(nanos)))
    }

    fn sized_string(&mut self) -> Result<String, Unusable> {
        let n = self.length()?;
        self.string(n)
    }

    /// A path: the bytes it shares with the previous one, then its own.
    fn path(&mut self) -> Result<String, Unusable> {
        let shared = self.length()?;
        if shared > self.prev.len() {
            return Err(corrupt("a path sharing more than the previous one has"));
        }
        let n = self.length()?;
        let start = self.at;
        self.take(n)?;
        let body = self.b;
        let rest = &body[start..self.at];
        let mut p = Vec::with_capacity(shared + n);
        p.extend_from_slice(&self.prev[..shared]);
        p.extend_from_slice(rest);
        self.prev.clear();
        self.prev.extend_from_slice(&p);
        String::from_utf8(p).map_err(|_| corrupt("a name that is not UTF-8"))
    }

    fn entry(&mut self) -> Result<Entry, Unusable> {
        let flags = self.u8()?;
        let kind = match self.u8()? {
            0 => Kind::File,
            1 => Kind::Symlink,
            2 => Kind::Other,
            _ => return Err(corrupt("an unknown kind")),
        };
        let path = self.path()?;
        let size = self.varint()?;
        let mtime = self.entry_time()?;
        let ino = (flags & HAS_INO != 0).then(|| self.varint()).transpose()?;
        let ctime = match (flags & HAS_CTIME != 0, flags & CTIME_IS_MTIME != 0) {
            (false, _) => None,
            (true, true) => Some(mtime),
            (true, false) => Some(self.entry_time()?),
        };
        let mode = (flags & HAS_MODE != 0)
            .then(|| self.varint())
            .transpose()?
            .map(|m| u32::try_from(m).map_err(|_| corrupt("a mode beyond 32 bits")))
            .transpose()?;
        let sha256 = (flags & HAS_SHA != 0)
            .then(|| self.array::<32>())
            .transpose()?;
        let target = (flags & HAS_TARGET != 0)
            .then(|| self.sized_string())
            .transpose()?;
        Ok(Entry {
            path,
            size,
            mtime,
            sha256,
            kind,
            target,
            ino,
            ctime,
            mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry() -> impl Strategy<Value = Entry> {
        (
            "[a-z ]{1,6}(/[a-z\n\u{e9}]{1,5}){0,2}",
            any::<u64>(),
            (any::<i32>(), 0..1_000_000_000i64),
            proptest::option::of(any::<[u8; 32]>()),
            0..3u8,
            proptest::option::of(any::<u64>()),
            proptest::option::of((any::<i32>(), 0..1_000_000_000i64)),
            proptest::option::of(0..0o7777u32),
        )
            .prop_map(|(path, size, (s, n), sha, k, ino, ctime, mode)| {
                let kind = [Kind::File, Kind::Symlink, Kind::Other][usize::from(k)];
                Entry {
                    path,
                    size,
                    mtime: Timestamp::from_unix(i64::from(s), n),
                    sha256: sha.filter(|_| kind == Kind::File),
                    kind,
                    target: (kind == Kind::Symlink).then(|| "../t a".to_owned()),
                    ino,
                    ctime: ctime.map(|(s, n)| Timestamp::from_unix(i64::from(s), n)),
                    mode,
                }
            })
    }

    fn sorted(mut v: Vec<Entry>) -> Vec<Entry> {
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v.dedup_by(|a, b| a.path == b.path);
        v
    }

    proptest! {
        #[test]
        fn round_trip(entries in proptest::collection::vec(entry(), 0..40), id in "[a-z0-9-]{0,40}") {
            let entries = sorted(entries);
            let at = Timestamp::from_unix(1_700_000_000, 123_456_789).to_datetime();
            let bytes = encode(Role::Index, &id, &at, &entries);
            let back = decode(&bytes, Role::Index).unwrap();
            prop_assert_eq!(back.session_id, id);
            prop_assert_eq!(back.manifest.captured_at, at);
            prop_assert_eq!(back.manifest.entries, entries);
        }

        #[test]
        fn any_truncation_or_flipped_byte_is_refused(entries in proptest::collection::vec(entry(), 1..10), cut in any::<prop::sample::Index>(), bit in 0..8u8) {
            let entries = sorted(entries);
            let at = Timestamp::from_unix(1, 0).to_datetime();
            let bytes = encode(Role::Start, "s", &at, &entries);
            let i = cut.index(bytes.len());
            prop_assert!(decode(&bytes[..i], Role::Start).is_err());
            let mut flipped = bytes.clone();
            flipped[i] ^= 1 << bit;
            prop_assert!(decode(&flipped, Role::Start).is_err());
        }
    }

    #[test]
    fn foreign_versions_and_roles_are_named() {
        let at = Timestamp::from_unix(1, 0).to_datetime();
        let mut bytes = encode(Role::Index, "s", &at, &[]);
        assert_eq!(
            decode(&bytes, Role::Start),
            Err(corrupt("written for another purpose"))
        );
        bytes[8] = 9;
        assert_eq!(decode(&bytes, Role::Index), Err(Unusable::Version(9)));
        assert_eq!(
            decode(b"{\"files\":[]}", Role::Index),
            Err(Unusable::NotBinary)
        );
    }
}
