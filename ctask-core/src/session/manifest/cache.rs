//! The hash cache (git's index idea): a previous manifest vouches for a file whose size,
//! mtime, inode and ctime are unchanged, unless the file is racily clean.

use std::ops::Range;

use super::hash::{Stat, StatKind};
use super::{Entry, Kind, Manifest, Timestamp};

/// Seconds before the cache's `captured_at` from which a file counts as racily clean.
const RACY_SECS: i64 = 2;

/// The previous manifest used as a hash cache. Its entries are sorted by path, so the
/// entries below one directory form a contiguous range: the walker narrows the range once
/// per directory and then finds each name by a short binary search within it (no index to
/// build, one lookup per file).
pub(crate) struct Cache<'a> {
    entries: &'a [Entry],
    cutoff: Timestamp,
}

impl<'a> Cache<'a> {
    /// A cache over `m`; `None` for a foreign manifest, which is never trusted as one, and
    /// for one that is not sorted by path with each path once.
    pub(crate) fn new(m: &'a Manifest) -> Option<Self> {
        let sorted = m.entries.windows(2).all(|w| w[0].path < w[1].path);
        if !sorted || m.is_foreign() {
            return None;
        }
        Some(Cache {
            entries: &m.entries,
            cutoff: Timestamp::from_datetime(&m.captured_at).minus_secs(RACY_SECS),
        })
    }

    /// The range of all entries.
    pub(crate) fn all(&self) -> Range<usize> {
        0..self.entries.len()
    }

    /// The sub-range of `within` (the range of a parent directory, or [`Cache::all`]) whose
    /// paths begin with `prefix` (a directory's relative path with its trailing `/`).
    pub(crate) fn below(&self, within: Range<usize>, prefix: &str) -> Range<usize> {
        let slice = &self.entries[within.clone()];
        let p = prefix.as_bytes();
        let lo = slice.partition_point(|e| e.path.as_bytes() < p);
        let hi = lo + slice[lo..].partition_point(|e| e.path.as_bytes().starts_with(p));
        within.start + lo..within.start + hi
    }

    /// How many entries the cache has.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The cached hashed regular file `name` in the directory whose range (from
    /// [`Cache::below`] with a prefix of `prefix_len` bytes) ends at `end`, searching
    /// forward from `*cursor` (which it advances): callers look names up in increasing
    /// order, so the next one is usually within a step or two (an exponential search, then
    /// a binary search within the step).
    pub(crate) fn find_from(
        &self,
        cursor: &mut usize,
        end: usize,
        prefix_len: usize,
        name: &[u8],
    ) -> Option<&'a Entry> {
        let entries: &'a [Entry] = self.entries;
        let suffix = |i: usize| {
            entries[i]
                .path
                .as_bytes()
                .get(prefix_len..)
                .unwrap_or_default()
        };
        let (mut lo, mut step) = (*cursor, 1);
        let mut hi = lo;
        while hi < end && suffix(hi) < name {
            lo = hi + 1;
            hi = lo.saturating_add(step).min(end);
            step *= 2;
        }
        let at = lo
            + entries[lo..hi].partition_point(|e| {
                e.path.as_bytes().get(prefix_len..).unwrap_or_default() < name
            });
        *cursor = at;
        let e = entries.get(at).filter(|_| at < end)?;
        (suffix(at) == name && e.kind == Kind::File && e.sha256.is_some()).then_some(e)
    }

    /// Whether the cached entry `e` vouches for the file `st`.
    pub(crate) fn reusable(&self, e: &Entry, st: &Stat) -> bool {
        reusable(e, st, self.cutoff)
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
            mode: 0o644,
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
            mode: Some(st.mode),
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
    fn lookups_by_directory_range_and_cursor() {
        let paths = ["a", "d.txt", "d/x", "d/y/z", "d/z", "e/x"];
        let m = Manifest {
            captured_at: chrono::DateTime::UNIX_EPOCH,
            entries: paths
                .iter()
                .map(|p| Entry {
                    path: (*p).into(),
                    ..cached()
                })
                .collect(),
        };
        let c = Cache::new(&m).unwrap();
        assert_eq!(c.below(c.all(), "d/"), 2..5);
        assert_eq!(c.below(2..5, "d/y/"), 3..4);
        assert_eq!(c.below(c.all(), "f/"), 6..6);
        let r = c.below(c.all(), "d/");
        let mut cur = r.start;
        let found = |cur: &mut usize, n: &str| {
            c.find_from(cur, r.end, 2, n.as_bytes())
                .map(|e| e.path.clone())
        };
        assert_eq!(found(&mut cur, "a"), None);
        assert_eq!(found(&mut cur, "x").as_deref(), Some("d/x"));
        assert_eq!(found(&mut cur, "y"), None);
        assert_eq!(found(&mut cur, "z").as_deref(), Some("d/z"));
        assert_eq!(found(&mut cur, "zz"), None);
        let mut cur = 0;
        let all = c.all();
        assert_eq!(
            c.find_from(&mut cur, all.end, 0, b"d.txt")
                .map(|e| e.path.as_str()),
            Some("d.txt")
        );
        let mut unsorted = m.clone();
        unsorted.entries.swap(0, 1);
        assert!(Cache::new(&unsorted).is_none());
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
