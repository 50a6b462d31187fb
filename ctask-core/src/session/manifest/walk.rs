//! The capture walk: a parallel directory walk whose workers stat every entry, take
//! unchanged files over from the hash cache and hash the rest, each with its own buffer.

use std::io;
use std::path::Path;
use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkState};

use super::hash::{Hashed, Stat, StatKind, hash_file};
use super::{CaptureOptions, Entry, Kind, Manifest, Timestamp, rules};

/// Seconds before the cache's `captured_at` from which a file counts as racily clean.
const RACY_SECS: i64 = 2;

/// The previous manifest used as a hash cache.
pub(crate) struct Cache<'a> {
    entries: &'a [Entry],
    cutoff: Timestamp,
}

impl<'a> Cache<'a> {
    /// A cache over `m`; `None` for a foreign manifest, which is never trusted as one.
    pub(crate) fn new(m: &'a Manifest) -> Option<Self> {
        if m.is_foreign() || !m.entries.is_sorted_by(|a, b| a.path < b.path) {
            return None;
        }
        Some(Cache {
            entries: &m.entries,
            cutoff: Timestamp::from_datetime(&m.captured_at).minus_secs(RACY_SECS),
        })
    }

    /// The cached digest of `rel`, if the file provably has not changed since.
    fn lookup(&self, rel: &str, st: &Stat) -> Option<[u8; 32]> {
        let i = self
            .entries
            .binary_search_by(|e| e.path.as_str().cmp(rel))
            .ok()?;
        let e = &self.entries[i];
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

/// What one worker (or the whole walk) found.
#[derive(Default)]
pub(crate) struct Part {
    pub(crate) entries: Vec<Entry>,
    pub(crate) skipped_non_utf8: u64,
    pub(crate) hashed: u64,
    pub(crate) cached: u64,
    pub(crate) unreadable: u64,
}

impl Part {
    fn absorb(&mut self, other: Part) {
        if self.entries.is_empty() {
            self.entries = other.entries;
        } else {
            self.entries.extend(other.entries);
        }
        self.skipped_non_utf8 += other.skipped_non_utf8;
        self.hashed += other.hashed;
        self.cached += other.cached;
        self.unreadable += other.unreadable;
    }
}

struct Shared<'a> {
    root: &'a Path,
    cache: Option<Cache<'a>>,
    parts: Mutex<Vec<Part>>,
}

/// Walks `root` on `threads` workers; entries come back sorted by path.
pub(crate) fn walk(
    root: &Path,
    opts: &CaptureOptions,
    cache: Option<&Manifest>,
    threads: usize,
) -> Part {
    let shared = Shared {
        root,
        cache: cache.and_then(Cache::new),
        parts: Mutex::new(Vec::new()),
    };
    rules::walker(root, opts, threads).visit(&mut Builder(&shared));
    let parts = shared.parts.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut all = Part::default();
    let total = parts.iter().map(|p| p.entries.len()).sum();
    all.entries.reserve_exact(total);
    for p in parts {
        all.absorb(p);
    }
    all.entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    all
}

struct Builder<'s>(&'s Shared<'s>);

impl<'s> ParallelVisitorBuilder<'s> for Builder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Worker {
            shared: self.0,
            part: Part::default(),
            buf: Vec::new(),
        })
    }
}

struct Worker<'s> {
    shared: &'s Shared<'s>,
    part: Part,
    buf: Vec<u8>,
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let part = std::mem::take(&mut self.part);
        let mut parts = self.shared.parts.lock().unwrap_or_else(|p| p.into_inner());
        parts.push(part);
    }
}

impl ParallelVisitor for Worker<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                if err
                    .io_error()
                    .is_none_or(|e| e.kind() != io::ErrorKind::NotFound)
                {
                    self.part.unreadable += 1;
                }
                return WalkState::Continue;
            }
        };
        if entry.depth() == 0 {
            return WalkState::Continue;
        }
        let rel = match entry
            .path()
            .strip_prefix(self.shared.root)
            .map(Path::to_str)
        {
            Ok(Some(rel)) => rel,
            _ => {
                // Not UTF-8: skip it (and, for a directory, everything below it).
                self.part.skipped_non_utf8 += 1;
                return WalkState::Skip;
            }
        };
        if entry.file_type().is_some_and(|t| t.is_dir()) {
            return WalkState::Continue;
        }
        self.record(entry.path(), rel);
        WalkState::Continue
    }
}

impl Worker<'_> {
    /// Stats `path` and adds its entry (hashing it unless the cache vouches for it).
    fn record(&mut self, path: &Path, rel: &str) {
        let st = match std::fs::symlink_metadata(path) {
            Ok(m) => Stat::of(&m),
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    self.part.unreadable += 1;
                }
                return;
            }
        };
        let entry = match st.kind {
            StatKind::Dir => return,
            StatKind::Symlink => symlink_entry(path, rel, &st),
            StatKind::Other => plain_entry(rel, &st, Kind::Other),
            StatKind::File => {
                if let Some(sha) = self.shared.cache.as_ref().and_then(|c| c.lookup(rel, &st)) {
                    self.part.cached += 1;
                    Some(file_entry(rel, &st, Some(sha)))
                } else {
                    self.hash(path, rel, &st)
                }
            }
        };
        if let Some(e) = entry {
            self.part.entries.push(e);
        }
    }

    fn hash(&mut self, path: &Path, rel: &str, listed: &Stat) -> Option<Entry> {
        match hash_file(path, &mut self.buf) {
            Ok(Hashed::File(st, sha)) => {
                self.part.hashed += 1;
                Some(file_entry(rel, &st, Some(sha)))
            }
            Ok(Hashed::NotFile(st)) => match st.kind {
                StatKind::Dir => None,
                StatKind::Symlink => symlink_entry(path, rel, &st),
                StatKind::File | StatKind::Other => plain_entry(rel, &st, Kind::Other),
            },
            Ok(Hashed::Gone) => None,
            Ok(Hashed::Changed) => {
                // Swapped for a symlink or socket since it was listed: record what is
                // there now, without opening it again.
                let st = Stat::of(&std::fs::symlink_metadata(path).ok()?);
                match st.kind {
                    StatKind::Dir => None,
                    StatKind::Symlink => symlink_entry(path, rel, &st),
                    StatKind::Other => plain_entry(rel, &st, Kind::Other),
                    StatKind::File => {
                        self.part.unreadable += 1;
                        Some(file_entry(rel, &st, None))
                    }
                }
            }
            Err(_) => {
                // Unreadable (permissions, I/O error): listed without a hash.
                self.part.unreadable += 1;
                Some(file_entry(rel, listed, None))
            }
        }
    }
}

fn file_entry(rel: &str, st: &Stat, sha256: Option<[u8; 32]>) -> Entry {
    Entry {
        sha256,
        ..base_entry(rel, st, Kind::File)
    }
}

fn plain_entry(rel: &str, st: &Stat, kind: Kind) -> Option<Entry> {
    Some(base_entry(rel, st, kind))
}

fn symlink_entry(path: &Path, rel: &str, st: &Stat) -> Option<Entry> {
    let target = std::fs::read_link(path).ok()?;
    Some(Entry {
        target: Some(target.to_string_lossy().into_owned()),
        ..base_entry(rel, st, Kind::Symlink)
    })
}

fn base_entry(rel: &str, st: &Stat, kind: Kind) -> Entry {
    Entry {
        path: rel.to_owned(),
        size: st.size,
        mtime: st.mtime,
        sha256: None,
        kind,
        target: None,
        ino: Some(st.ino),
        ctime: Some(st.ctime),
    }
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
        file_entry("a", &st, Some([1; 32]))
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
