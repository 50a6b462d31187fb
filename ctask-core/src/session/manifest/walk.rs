//! The capture walk: a parallel directory walk whose workers stat every entry, take
//! unchanged files over from the hash cache and hash the rest, each with its own buffer.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkState};

use super::cache::Cache;
use super::hash::{Hashed, Stat, StatKind, hash_file};
use super::{CaptureOptions, Entry, Kind, Manifest, rules};

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
    /// Length of `root` plus its separator: where relative paths begin.
    prefix_len: usize,
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
    let root_len = root.as_os_str().len();
    let shared = Shared {
        root,
        prefix_len: root_len + usize::from(!root.as_os_str().as_bytes().ends_with(b"/")),
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
                let vanished = err
                    .io_error()
                    .is_some_and(|e| e.kind() == io::ErrorKind::NotFound);
                if !vanished {
                    self.part.unreadable += 1;
                }
                return WalkState::Continue;
            }
        };
        if entry.depth() == 0 {
            return WalkState::Continue;
        }
        let Some(rel) = relative(entry.path(), self.shared.root, self.shared.prefix_len) else {
            // Not UTF-8: skip it (and, for a directory, everything below it).
            self.part.skipped_non_utf8 += 1;
            return WalkState::Skip;
        };
        let file_type = entry.file_type();
        if file_type.is_some_and(|t| t.is_dir()) {
            return WalkState::Continue;
        }
        let cached = self.shared.cache.as_ref().is_some_and(|c| c.has(rel));
        let entry = if file_type.is_some_and(|t| t.is_file()) && !cached {
            // Nothing to compare with: open and fstat directly, no lstat needed.
            self.hash(entry.path(), rel)
        } else {
            self.record(entry.path(), rel)
        };
        if let Some(e) = entry {
            self.part.entries.push(e);
        }
        WalkState::Continue
    }
}

impl Worker<'_> {
    /// The entry of `path` from its `lstat`: taken over from the cache when the cache
    /// vouches for it, hashed otherwise.
    fn record(&mut self, path: &Path, rel: &str) -> Option<Entry> {
        let st = match std::fs::symlink_metadata(path) {
            Ok(m) => Stat::of(&m),
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    self.part.unreadable += 1;
                }
                return None;
            }
        };
        match st.kind {
            StatKind::Dir => None,
            StatKind::Symlink => symlink_entry(path, rel, &st),
            StatKind::Other => Some(base_entry(rel, &st, Kind::Other)),
            StatKind::File => match self.shared.cache.as_ref().and_then(|c| c.lookup(rel, &st)) {
                Some(sha) => {
                    self.part.cached += 1;
                    Some(file_entry(rel, &st, Some(sha)))
                }
                None => self.hash(path, rel),
            },
        }
    }

    /// The entry of `path`, read and hashed if it is (still) a regular file.
    fn hash(&mut self, path: &Path, rel: &str) -> Option<Entry> {
        match hash_file(path, &mut self.buf) {
            Ok(Hashed::File(st, sha)) => {
                self.part.hashed += 1;
                Some(file_entry(rel, &st, Some(sha)))
            }
            Ok(Hashed::NotFile(st)) => match st.kind {
                StatKind::Dir => None,
                _ => Some(base_entry(rel, &st, Kind::Other)),
            },
            Ok(Hashed::Gone) => None,
            Ok(Hashed::Changed) | Err(_) => {
                // Swapped for a symlink or socket since it was listed, or unreadable
                // (permissions, I/O error): record what is there without opening it again;
                // a regular file is listed without a hash.
                let st = Stat::of(&std::fs::symlink_metadata(path).ok()?);
                match st.kind {
                    StatKind::Dir => None,
                    StatKind::Symlink => symlink_entry(path, rel, &st),
                    StatKind::Other => Some(base_entry(rel, &st, Kind::Other)),
                    StatKind::File => {
                        self.part.unreadable += 1;
                        Some(file_entry(rel, &st, None))
                    }
                }
            }
        }
    }
}

/// `path` relative to `root` as UTF-8, `None` when it is not UTF-8. The walker builds
/// paths by joining names onto `root`, so the bytes after `prefix_len` are the relative
/// path; anything else falls back to component-wise stripping.
fn relative<'p>(path: &'p Path, root: &Path, prefix_len: usize) -> Option<&'p str> {
    let bytes = path.as_os_str().as_bytes();
    let root_bytes = root.as_os_str().as_bytes();
    if bytes.len() > prefix_len && bytes.starts_with(root_bytes) && bytes[prefix_len - 1] == b'/' {
        return std::str::from_utf8(&bytes[prefix_len..]).ok();
    }
    path.strip_prefix(root).ok()?.to_str()
}

fn file_entry(rel: &str, st: &Stat, sha256: Option<[u8; 32]>) -> Entry {
    Entry {
        sha256,
        ..base_entry(rel, st, Kind::File)
    }
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

    #[test]
    fn relative_paths_for_any_spelling_of_the_root() {
        let cases = [
            ("/w", "/w/a/b", Some("a/b")),
            ("/w/", "/w/a", Some("a")),
            (".", "./a", Some("a")),
            ("/", "/etc", Some("etc")),
            ("/w", "/wx/a", None),
        ];
        for (root, path, want) in cases {
            let root = Path::new(root);
            let len =
                root.as_os_str().len() + usize::from(!root.as_os_str().as_bytes().ends_with(b"/"));
            assert_eq!(relative(Path::new(path), root, len), want, "{path}");
        }
        let bad = std::ffi::OsStr::from_bytes(b"/w/\xff");
        assert_eq!(relative(Path::new(bad), Path::new("/w"), 3), None);
    }
}
