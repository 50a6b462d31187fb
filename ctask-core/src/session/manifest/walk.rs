//! The capture walk. Directories are opened relative to their parent's descriptor and
//! every name is stat-ed, opened and read relative to its directory's descriptor, so no
//! symlink is ever followed, in any component (see `dirfd`). The work — descending into a
//! directory, or visiting a run of up to [`CHUNK`] names of one — is shared by a fixed set
//! of threads through a LIFO queue; each thread stats its names, takes unchanged files over
//! from the hash cache and hashes the rest with its own buffer. Results are put in path
//! order at the end: by their position in the cache where the cache lists them (no
//! comparison), by comparing paths for the rest.

use std::ffi::OsStr;
use std::io;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use super::cache::Cache;
use super::dirfd::Dir;
use super::hash::{Hashed, Stat, StatKind, hash_at};
use super::listing::{DType, Listing};
use super::profile::{self, Phase};
use super::queue::Queue;
use super::rules::{self, Level};
use super::{CaptureOptions, Entry, Kind, Manifest};

/// Names visited per job: big directories are shared out between threads.
const CHUNK: usize = 128;

/// The cache position of an entry whose path the cache does not list.
const UNLISTED: u32 = u32::MAX;

/// What one worker (or the whole walk) found.
#[derive(Default)]
pub(crate) struct Part {
    pub(crate) entries: Vec<Entry>,
    /// For each entry, the position of its path in the cache, or [`UNLISTED`].
    positions: Vec<u32>,
    pub(crate) skipped_non_utf8: u64,
    pub(crate) hashed: u64,
    pub(crate) cached: u64,
    pub(crate) unreadable: u64,
    pub(crate) oversized_ignore: Vec<String>,
}

impl Part {
    fn absorb(&mut self, other: Part) {
        if self.entries.is_empty() {
            self.entries = other.entries;
            self.positions = other.positions;
        } else {
            self.entries.extend(other.entries);
            self.positions.extend(other.positions);
        }
        self.skipped_non_utf8 += other.skipped_non_utf8;
        self.hashed += other.hashed;
        self.cached += other.cached;
        self.unreadable += other.unreadable;
        self.oversized_ignore.extend(other.oversized_ignore);
    }
}

/// A directory being walked; its descriptor stays open while jobs refer to it.
struct Node {
    dir: Dir,
    /// Relative path with its trailing `/` (empty for the root).
    rel: String,
    /// The ignore files in effect for its names (`None`: nothing is ignored).
    rules: Option<Arc<Level>>,
    listing: Listing,
    /// Where the cache's entries below this directory are.
    cache_range: Range<usize>,
}

enum Job {
    /// Open the given name of the directory (a sub-directory) and walk it.
    Open(Arc<Node>, usize),
    /// Visit a run of names of the directory.
    Names(Arc<Node>, Range<usize>),
}

struct Shared<'a> {
    cache: Option<Cache<'a>>,
    store: Option<&'a crate::snapshot::store::Store>,
    respect_ignore: bool,
    queue: Queue<Job>,
}

/// Walks `root` on `threads` threads; entries come back sorted by path. Fails only when
/// `root` itself cannot be opened or listed.
pub(crate) fn walk(
    root: &Path,
    opts: &CaptureOptions,
    cache: Option<&Manifest>,
    threads: usize,
    store: Option<&crate::snapshot::store::Store>,
) -> io::Result<Part> {
    let shared = Shared {
        cache: cache.and_then(Cache::new),
        store,
        respect_ignore: opts.respect_ignore,
        queue: Queue::new(Vec::new()),
    };
    let threads = threads.max(1);
    // With a cache, about as many entries as it has, shared between the threads.
    let hint = shared
        .cache
        .as_ref()
        .map_or(0, |c| c.len() / threads + c.len() / 8);
    let mut first = Worker::new(&shared, hint);
    let dir = Dir::open_root(root)?;
    let mut listing = Listing::default();
    dir.list(&mut first.dents, &mut listing)?;
    profile::time(Phase::Sort, || listing.sort());
    let rules = if opts.respect_ignore {
        profile::time(Phase::Rules, || {
            Level::child(None, &dir, "", &listing, &mut first.part.oversized_ignore)
        })
    } else {
        None
    };
    let cache_range = shared.cache.as_ref().map_or(0..0, Cache::all);
    let root_node = Arc::new(Node {
        dir,
        rel: String::new(),
        rules,
        listing,
        cache_range,
    });
    first.schedule(root_node, false);
    let parts = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                s.spawn(|| {
                    let part = profile::time(Phase::Walk, || Worker::new(&shared, hint).run());
                    profile::flush();
                    part
                })
            })
            .collect();
        let mut parts = vec![profile::time(Phase::Walk, || first.run())];
        for h in helpers {
            match h.join() {
                Ok(p) => parts.push(p),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        parts
    });
    let listed = shared.cache.as_ref().map_or(0, Cache::len);
    let all = profile::time(Phase::Merge, || merge(parts, listed));
    profile::flush();
    Ok(all)
}

/// The threads' parts as one, its entries in path order (`listed`: the entries of the
/// cache). The largest part grows to hold the others (in place when the allocator can).
fn merge(mut parts: Vec<Part>, listed: usize) -> Part {
    parts.sort_by_key(|p| std::cmp::Reverse(p.entries.len()));
    let total = parts.iter().map(|p| p.entries.len()).sum::<usize>();
    let mut parts = parts.into_iter();
    let mut all = parts.next().unwrap_or_default();
    all.entries
        .reserve_exact(total.saturating_sub(all.entries.len()));
    all.positions
        .reserve_exact(total.saturating_sub(all.positions.len()));
    for p in parts {
        all.absorb(p);
    }
    let order = order_by_cache(&all.entries, &all.positions, listed)
        .unwrap_or_else(|| order_by_path(&all.entries));
    put_in_order(&mut all.entries, &order);
    all.positions = Vec::new();
    debug_assert!(all.entries.is_sorted_by(|a, b| a.path < b.path));
    all
}

/// The path order of `entries` found by comparing paths (each run of one directory's names
/// is already sorted, which the stable sort takes advantage of).
fn order_by_path(entries: &[Entry]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].path.cmp(&entries[b].path));
    order
}

/// The path order of `entries` from `positions`, their paths' positions in a cache of
/// `listed` entries sorted by path: the listed ones fall into place by position, and the few
/// paths the cache does not list are sorted and merged in. `None` when there is no cache or
/// two entries claim one position (never expected: then the caller compares paths).
fn order_by_cache(entries: &[Entry], positions: &[u32], listed: usize) -> Option<Vec<usize>> {
    if listed == 0 || positions.len() != entries.len() {
        return None;
    }
    let mut slot = vec![UNLISTED; listed];
    let mut unlisted = Vec::new();
    for (i, &p) in positions.iter().enumerate() {
        match slot.get_mut(p as usize) {
            None => unlisted.push(i),
            Some(s) if *s == UNLISTED => *s = u32::try_from(i).ok()?,
            Some(_) => return None,
        }
    }
    unlisted.sort_by(|&a, &b| entries[a].path.cmp(&entries[b].path));
    let mut order = Vec::with_capacity(entries.len());
    let mut rest = unlisted.into_iter().peekable();
    for &i in slot.iter().filter(|&&i| i != UNLISTED) {
        let i = i as usize;
        while let Some(&u) = rest.peek()
            && entries[u].path < entries[i].path
        {
            order.push(u);
            rest.next();
        }
        order.push(i);
    }
    order.extend(rest);
    Some(order)
}

/// Moves every entry to its place in `order` (`order[k]`: the index of the entry that
/// belongs at `k`), each swapped straight into place.
fn put_in_order(entries: &mut [Entry], order: &[usize]) {
    // `dest[k]`: where the entry now at `k` belongs.
    let mut dest = vec![0; entries.len()];
    for (to, &from) in order.iter().enumerate() {
        dest[from] = to;
    }
    for i in 0..entries.len() {
        while dest[i] != i {
            let d = dest[i];
            entries.swap(i, d);
            dest.swap(i, d);
        }
    }
}

/// Hands a taken job back to the queue even if visiting it panicked, so that the other
/// threads never wait for it forever.
struct Taken<'q>(&'q Queue<Job>);

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.0.done();
    }
}

struct Worker<'s> {
    shared: &'s Shared<'s>,
    part: Part,
    /// Read buffer for hashing.
    buf: Vec<u8>,
    /// Buffer for directory records.
    dents: Vec<u8>,
    /// Scratch space for a relative path matched against ignore rules.
    path: Vec<u8>,
    /// Jobs found while visiting, pushed to the queue in one go.
    found: Vec<Job>,
    /// Where the next name of the directory being visited is looked for in the cache.
    cursor: usize,
    /// The cache position of the name being visited, when the cache lists it.
    listed_at: u32,
}

impl<'s> Worker<'s> {
    fn new(shared: &'s Shared<'s>, hint: usize) -> Self {
        Worker {
            shared,
            part: Part {
                entries: Vec::with_capacity(hint),
                ..Part::default()
            },
            buf: Vec::new(),
            dents: Vec::new(),
            path: Vec::new(),
            found: Vec::new(),
            cursor: 0,
            listed_at: UNLISTED,
        }
    }

    fn run(mut self) -> Part {
        let queue = &self.shared.queue;
        while let Some(job) = queue.take() {
            let _taken = Taken(queue);
            match job {
                Job::Open(parent, i) => self.open(&parent, i),
                Job::Names(node, range) => self.names(&node, range),
            }
            queue.push(&mut self.found);
        }
        self.part
    }

    /// Queues the names of `node` in runs of [`CHUNK`]; the first run is visited here and
    /// now when `inline`.
    fn schedule(&mut self, node: Arc<Node>, inline: bool) {
        let n = node.listing.len();
        let skip = if inline { CHUNK.min(n) } else { 0 };
        let mut start = skip;
        while start < n {
            let end = (start + CHUNK).min(n);
            self.found.push(Job::Names(Arc::clone(&node), start..end));
            start = end;
        }
        self.shared.queue.push(&mut self.found);
        if skip > 0 {
            self.names(&node, 0..skip);
        }
    }

    /// Opens the sub-directory `i` of `parent`, lists it and schedules its names.
    fn open(&mut self, parent: &Arc<Node>, i: usize) {
        let Ok(name) = std::str::from_utf8(parent.listing.name(i)) else {
            return;
        };
        // Between listing a directory and opening one of its sub-directories: where a test
        // swaps that sub-directory for a symlink.
        super::super::crashpoint::wait("walk.before_open", name);
        let dir = match parent.dir.open_dir(parent.listing.c_name(i)) {
            Ok(d) => d,
            Err(e) => return self.open_failed(parent, i, &e),
        };
        let mut listing = Listing::default();
        if let Err(e) = dir.list(&mut self.dents, &mut listing) {
            self.failed(&e);
            return;
        }
        profile::time(Phase::Sort, || listing.sort());
        let mut rel = String::with_capacity(parent.rel.len() + name.len() + 1);
        rel.push_str(&parent.rel);
        rel.push_str(name);
        rel.push('/');
        let rules = if self.shared.respect_ignore {
            profile::time(Phase::Rules, || {
                Level::child(
                    parent.rules.as_ref(),
                    &dir,
                    &rel,
                    &listing,
                    &mut self.part.oversized_ignore,
                )
            })
        } else {
            None
        };
        let cache_range = match &self.shared.cache {
            Some(c) => c.below(parent.cache_range.clone(), &rel),
            None => 0..0,
        };
        let node = Arc::new(Node {
            dir,
            rel,
            rules,
            listing,
            cache_range,
        });
        self.schedule(node, true);
    }

    /// A listed directory could not be opened: gone (nothing to record), swapped for
    /// something else (record what is there now, never descending), or unreadable.
    fn open_failed(&mut self, parent: &Arc<Node>, i: usize, e: &io::Error) {
        if !matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) {
            return self.failed(e);
        }
        match parent.dir.stat(parent.listing.c_name(i)) {
            // Swapped back already: it cannot be listed consistently now.
            Ok(st) if st.kind == StatKind::Dir => self.part.unreadable += 1,
            Ok(st) => {
                self.cursor = parent.cache_range.start;
                self.name(parent, i, dtype_of(st.kind), Some(st));
            }
            Err(e) => self.failed(&e),
        }
    }

    /// Counts an error about one name, unless the name is simply gone.
    fn failed(&mut self, e: &io::Error) {
        if e.kind() != io::ErrorKind::NotFound {
            self.part.unreadable += 1;
        }
    }

    fn names(&mut self, node: &Arc<Node>, range: Range<usize>) {
        self.cursor = node.cache_range.start;
        for i in range {
            if rules::fixed_excluded_name(&node.rel, node.listing.name(i)) {
                continue;
            }
            match node.listing.dtype(i) {
                DType::Unknown => match node.dir.stat(node.listing.c_name(i)) {
                    Ok(st) => self.name(node, i, dtype_of(st.kind), Some(st)),
                    Err(e) => self.failed(&e),
                },
                t => self.name(node, i, t, None),
            }
        }
    }

    /// Visits name `i` of `node`, of type `t` (`st`: its `lstat`, when already known).
    fn name(&mut self, node: &Arc<Node>, i: usize, t: DType, st: Option<Stat>) {
        let name = node.listing.name(i);
        if let Some(rules) = &node.rules {
            self.path.clear();
            self.path.extend_from_slice(node.rel.as_bytes());
            self.path.extend_from_slice(name);
            let path = Path::new(OsStr::from_bytes(&self.path));
            if profile::time(Phase::Rules, || rules.is_ignored(path, t == DType::Dir)) {
                return;
            }
        }
        let Ok(name) = std::str::from_utf8(name) else {
            // Skipped (and, for a directory, everything below it).
            self.part.skipped_non_utf8 += 1;
            return;
        };
        if t == DType::Dir {
            self.found.push(Job::Open(Arc::clone(node), i));
            return;
        }
        self.listed_at = UNLISTED;
        let entry = match st {
            Some(st) => self.stat_entry(node, i, name, st),
            None if t == DType::File => self.file(node, i, name),
            None => match node.dir.stat(node.listing.c_name(i)) {
                Ok(st) => self.stat_entry(node, i, name, st),
                Err(e) => {
                    self.failed(&e);
                    None
                }
            },
        };
        if let Some(e) = entry {
            self.part.entries.push(e);
            self.part.positions.push(self.listed_at);
        }
    }

    /// A name listed as a regular file: taken over from the cache when the cache vouches
    /// for it (after an `lstat`), opened and hashed directly when the cache does not know it
    /// (one cache lookup per file).
    fn file(&mut self, node: &Node, i: usize, name: &str) -> Option<Entry> {
        let known = self.shared.cache.as_ref().and_then(|c| {
            let e = c.find_from(
                &mut self.cursor,
                node.cache_range.end,
                node.rel.len(),
                name.as_bytes(),
            )?;
            Some((c, e))
        });
        if known.is_some() {
            self.listed_at = u32::try_from(self.cursor).unwrap_or(UNLISTED);
        }
        let Some((cache, known)) = known else {
            return self.hash(node, i, name);
        };
        let st = match node.dir.stat(node.listing.c_name(i)) {
            Ok(st) => st,
            Err(e) => {
                self.failed(&e);
                return None;
            }
        };
        match st.kind {
            StatKind::File if cache.reusable(known, &st) => {
                self.part.cached += 1;
                Some(file_entry(&node.rel, name, &st, known.sha256))
            }
            StatKind::File => self.hash(node, i, name),
            _ => self.stat_entry(node, i, name, st),
        }
    }

    /// The entry of a name from its `lstat`; a regular file is taken over from the cache
    /// or hashed.
    fn stat_entry(&mut self, node: &Node, i: usize, name: &str, st: Stat) -> Option<Entry> {
        match st.kind {
            StatKind::Dir => None,
            StatKind::Symlink => symlink_entry(node, i, name, &st),
            StatKind::Other => Some(base_entry(&node.rel, name, &st, Kind::Other)),
            StatKind::File => {
                let cache = self.shared.cache.as_ref();
                let cursor = &mut self.cursor;
                let found = cache.and_then(|c| {
                    let e = c.find_from(
                        cursor,
                        node.cache_range.end,
                        node.rel.len(),
                        name.as_bytes(),
                    )?;
                    Some((c, e))
                });
                if found.is_some() {
                    self.listed_at = u32::try_from(self.cursor).unwrap_or(UNLISTED);
                }
                let known =
                    found.and_then(|(c, e)| c.reusable(e, &st).then_some(e.sha256).flatten());
                match known {
                    Some(sha) => {
                        self.part.cached += 1;
                        Some(file_entry(&node.rel, name, &st, Some(sha)))
                    }
                    None => self.hash(node, i, name),
                }
            }
        }
    }

    /// The entry of a name, read and hashed if it is (still) a regular file.
    fn hash(&mut self, node: &Node, i: usize, name: &str) -> Option<Entry> {
        let c_name = node.listing.c_name(i);
        match hash_at(&node.dir, c_name, &mut self.buf, self.shared.store) {
            Ok(Hashed::File(st, sha)) => {
                self.part.hashed += 1;
                Some(file_entry(&node.rel, name, &st, Some(sha)))
            }
            Ok(Hashed::NotFile(st)) => match st.kind {
                StatKind::Dir => None,
                _ => Some(base_entry(&node.rel, name, &st, Kind::Other)),
            },
            Ok(Hashed::Gone) => None,
            Ok(Hashed::Changed) | Err(_) => {
                // Swapped for a symlink or socket since it was listed, or unreadable
                // (permissions, I/O error): record what is there without opening it again;
                // a regular file is listed without a hash.
                let st = node.dir.stat(c_name).ok()?;
                match st.kind {
                    StatKind::Dir => None,
                    StatKind::Symlink => symlink_entry(node, i, name, &st),
                    StatKind::Other => Some(base_entry(&node.rel, name, &st, Kind::Other)),
                    StatKind::File => {
                        self.part.unreadable += 1;
                        Some(file_entry(&node.rel, name, &st, None))
                    }
                }
            }
        }
    }
}

fn dtype_of(kind: StatKind) -> DType {
    match kind {
        StatKind::File => DType::File,
        StatKind::Dir => DType::Dir,
        StatKind::Symlink => DType::Symlink,
        StatKind::Other => DType::Other,
    }
}

fn file_entry(dir_rel: &str, name: &str, st: &Stat, sha256: Option<[u8; 32]>) -> Entry {
    Entry {
        sha256,
        ..base_entry(dir_rel, name, st, Kind::File)
    }
}

fn symlink_entry(node: &Node, i: usize, name: &str, st: &Stat) -> Option<Entry> {
    let target = node.dir.read_link(node.listing.c_name(i)).ok()?;
    Some(Entry {
        target: Some(String::from_utf8_lossy(&target).into_owned()),
        ..base_entry(&node.rel, name, st, Kind::Symlink)
    })
}

fn base_entry(dir_rel: &str, name: &str, st: &Stat, kind: Kind) -> Entry {
    let mut path = String::with_capacity(dir_rel.len() + name.len());
    path.push_str(dir_rel);
    path.push_str(name);
    Entry {
        path,
        size: st.size,
        mtime: st.mtime,
        sha256: None,
        kind,
        target: None,
        ino: Some(st.ino),
        ctime: Some(st.ctime),
        mode: Some(st.mode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_moves_every_entry_into_place() {
        let st = Stat {
            size: 0,
            mtime: super::super::Timestamp::from_unix(0, 0),
            ino: 1,
            ctime: super::super::Timestamp::from_unix(0, 0),
            kind: StatKind::File,
            mode: 0o644,
        };
        let mut names: Vec<String> = (0..500)
            .map(|i| format!("{}/{}", (i * 7919) % 13, i))
            .collect();
        let mut entries: Vec<Entry> = names
            .iter()
            .map(|n| base_entry("", n, &st, Kind::File))
            .collect();
        let order = order_by_path(&entries);
        put_in_order(&mut entries, &order);
        names.sort();
        let got: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(got, names);
    }

    #[test]
    fn cache_positions_give_the_path_order() {
        let st = Stat {
            size: 0,
            mtime: super::super::Timestamp::from_unix(0, 0),
            ino: 1,
            ctime: super::super::Timestamp::from_unix(0, 0),
            kind: StatKind::File,
            mode: 0o644,
        };
        // The cache lists every third path; the walk found the paths in a scrambled order.
        let mut all: Vec<String> = (0..600).map(|i| format!("d{}/f{i}", i % 9)).collect();
        all.sort();
        let listed: Vec<&String> = all.iter().step_by(3).collect();
        let scrambled: Vec<&String> = (0..all.len())
            .map(|k| &all[(k * 7919) % all.len()])
            .collect();
        let entries: Vec<Entry> = scrambled
            .iter()
            .map(|p| base_entry("", p, &st, Kind::File))
            .collect();
        let positions: Vec<u32> = scrambled
            .iter()
            .map(|p| listed.binary_search(p).map_or(UNLISTED, |i| i as u32))
            .collect();
        let by_cache = order_by_cache(&entries, &positions, listed.len()).expect("an order");
        assert_eq!(by_cache, order_by_path(&entries));
        // Two entries claiming one position: no order from the cache.
        let mut twice = positions.clone();
        let first = twice.iter().position(|&p| p != UNLISTED).unwrap();
        let second = twice.iter().rposition(|&p| p != UNLISTED).unwrap();
        twice[second] = twice[first];
        assert!(order_by_cache(&entries, &twice, listed.len()).is_none());
    }
}
