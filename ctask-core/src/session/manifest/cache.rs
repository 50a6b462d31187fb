//! The hash cache (git's index idea): a previous manifest vouches for a file whose size,
//! mtime, inode and ctime are unchanged, unless the file is racily clean.

use std::collections::HashMap;

use super::hash::{Stat, StatKind};
use super::{Entry, Kind, Manifest, Timestamp};

/// Seconds before the cache's `captured_at` from which a file counts as racily clean.
const RACY_SECS: i64 = 2;

/// The previous manifest used as a hash cache.
pub(crate) struct Cache<'a> {
    entries: &'a [Entry],
    index: HashMap<&'a str, usize>,
    cutoff: Timestamp,
}

impl<'a> Cache<'a> {
    /// A cache over `m`; `None` for a foreign manifest, which is never trusted as one.
    pub(crate) fn new(m: &'a Manifest) -> Option<Self> {
        if m.is_foreign() {
            return None;
        }
        let mut index = HashMap::with_capacity(m.entries.len());
        for (i, e) in m.entries.iter().enumerate() {
            if e.kind == Kind::File && e.sha256.is_some() {
                index.insert(e.path.as_str(), i);
            }
        }
        Some(Cache {
            entries: &m.entries,
            index,
            cutoff: Timestamp::from_datetime(&m.captured_at).minus_secs(RACY_SECS),
        })
    }

    /// Whether the cache has a hashed file at `rel`.
    pub(crate) fn has(&self, rel: &str) -> bool {
        self.index.contains_key(rel)
    }

    /// The cached digest of `rel`, if the file provably has not changed since.
    pub(crate) fn lookup(&self, rel: &str, st: &Stat) -> Option<[u8; 32]> {
        let e = &self.entries[*self.index.get(rel)?];
        reusable(e, st, self.cutoff).then_some(e.sha256).flatten()
    }
}

/// Whether the cached entry `e` still describes the file `st`: a hashed regular file whose
/// size, mtime, inode and ctime all match, and which is not racily clean (mtime and ctime
/// both older than `cutoff`).
pub(crate) fn reusable(e: &Entry, st: &Stat, cutoff: Timestamp) -> bool {
    e.kind == Kind::File
        && st.kind == StatKind::File
        && e.sha256.is_some()
        && e.size == st.size
        && e.mtime == st.mtime
        && e.ino == Some(st.ino)
        && e.ctime == Some(st.ctime)
        && st.mtime < cutoff
        && st.ctime < cutoff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat() -> Stat {
        Stat {
            size: 3,
            mtime: Timestamp::from_unix(100, 1),
            ino: 7,
            ctime: Timestamp::from_unix(100, 2),
            kind: StatKind::File,
        }
    }

    fn cached() -> Entry {
        let st = stat();
        Entry {
            path: "a".into(),
            size: st.size,
            mtime: st.mtime,
            sha256: Some([1; 32]),
            kind: Kind::File,
            target: None,
            ino: Some(st.ino),
            ctime: Some(st.ctime),
        }
    }

    #[test]
    fn reuse_needs_every_key_to_match() {
        let cutoff = Timestamp::from_unix(1000, 0);
        assert!(reusable(&cached(), &stat(), cutoff));
        let changes: [fn(&mut Stat); 5] = [
            |s| s.size += 1,
            |s| s.mtime = Timestamp::from_unix(100, 0),
            |s| s.ino += 1,
            |s| s.ctime = Timestamp::from_unix(101, 2),
            |s| s.kind = StatKind::Other,
        ];
        for change in changes {
            let mut st = stat();
            change(&mut st);
            assert!(!reusable(&cached(), &st, cutoff), "{st:?}");
        }
        let mut no_hash = cached();
        no_hash.sha256 = None;
        assert!(!reusable(&no_hash, &stat(), cutoff));
    }

    #[test]
    fn racily_clean_entries_are_not_reused() {
        assert!(!reusable(&cached(), &stat(), Timestamp::from_unix(100, 1)));
        let mut st = stat();
        st.mtime = Timestamp::from_unix(10, 0);
        let mut e = cached();
        e.mtime = st.mtime;
        // ctime still recent relative to the cut-off: re-hash.
        assert!(!reusable(&e, &st, Timestamp::from_unix(100, 2)));
        assert!(reusable(&e, &st, Timestamp::from_unix(100, 3)));
    }
}
