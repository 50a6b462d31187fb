//! Live events: every log line and every appearance, archiving or removal of the
//! workspaces under some roots (or of named workspaces), as they happen (design §4.11).
//!
//! A [`Watcher`] is pulled with [`Watcher::next_event`]. It waits on inotify (through
//! `notify`) for wake-ups and then reads only what changed; with `poll`, or when inotify
//! cannot be used (e.g. the watch limit is reached), it looks at every workspace once per
//! `poll_interval`. Each log is read from its end at start (or from `since`), new bytes only,
//! whole lines only; a log or `logs/` that is a symlink is skipped, never followed.

mod event;
mod tail;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use notify::{EventKind, RecursiveMode, Watcher as _};
use serde::Deserialize;

pub use event::{Body, Change, Event};
pub use tail::{MAX_LINE, READ_BUDGET};

use crate::error::{Error, Result};
use crate::session::log::{LOG_DIR, LogEntry};
use crate::timefmt;
use crate::workspace::taskfile::Status;
use crate::workspace::{TASK_FILE, Workspace, listing, slug};
use tail::Tail;

/// Default time between two looks at every workspace when polling.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Wake-ups queued between two calls before the watcher gives up on them and looks at
/// everything instead (memory stays bounded whatever an agent does to its tree).
const QUEUE: usize = 4096;
/// Events decoded ahead of the caller at most (roughly: one log's read may pass it).
const MAX_QUEUED: usize = 16 * 1024;

/// What to watch and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchOptions {
    /// Roots whose workspaces (two levels deep) are watched, including ones created later.
    #[serde(default)]
    pub roots: Vec<PathBuf>,
    /// Workspaces watched by name (their path), in addition to those under `roots`.
    #[serde(default)]
    pub workspaces: Vec<PathBuf>,
    /// Replay log lines dated at or after this instead of starting at each log's end.
    #[serde(default, with = "timefmt::strict")]
    pub since: Option<DateTime<Utc>>,
    /// Poll instead of using inotify.
    #[serde(default)]
    pub poll: bool,
    /// Time between two looks when polling.
    #[serde(
        default = "default_interval",
        rename = "poll_interval_ms",
        with = "millis"
    )]
    pub poll_interval: Duration,
}

fn default_interval() -> Duration {
    DEFAULT_POLL_INTERVAL
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = u64::deserialize(d)?;
        if ms == 0 {
            return Err(serde::de::Error::custom(
                "poll_interval_ms must be at least 1",
            ));
        }
        Ok(Duration::from_millis(ms))
    }
}

impl WatchOptions {
    /// Adds `path` as a workspace to watch when it holds `task.yaml`, else as a root.
    pub fn add_path(&mut self, path: PathBuf) {
        if listing::is_workspace(&path) {
            self.workspaces.push(path);
        } else {
            self.roots.push(path);
        }
    }
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            roots: Vec::new(),
            workspaces: Vec::new(),
            since: None,
            poll: false,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

/// One watched workspace.
#[derive(Debug)]
struct Ws {
    slug: String,
    archived: bool,
    /// Inode, mtime (ns) and size of `task.yaml` when last read.
    task_stamp: Option<(u64, i64, u64)>,
    tail: Tail,
}

/// The inotify side: the `notify` watcher and what it watches.
struct Inotify {
    watcher: notify::RecommendedWatcher,
    rx: Receiver<notify::Result<notify::Event>>,
    overflow: Arc<AtomicBool>,
    watched: BTreeSet<PathBuf>,
}

/// A live stream of [`Event`]s; see the module documentation. Dropping it stops every
/// watch (the `notify` thread ends with it).
pub struct Watcher {
    roots: Vec<PathBuf>,
    named: Vec<PathBuf>,
    since: Option<DateTime<Utc>>,
    interval: Duration,
    inotify: Option<Inotify>,
    fallback: Option<String>,
    known: BTreeMap<PathBuf, Ws>,
    structure: BTreeSet<PathBuf>,
    dirty: BTreeSet<PathBuf>,
    rescan: bool,
    cursor: Option<PathBuf>,
    next_poll: Instant,
    queue: VecDeque<Event>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("roots", &self.roots)
            .field("named", &self.named)
            .field("polling", &self.inotify.is_none())
            .field("workspaces", &self.known.len())
            .finish()
    }
}

impl Watcher {
    /// Starts watching. An error when there is nothing to watch or a named workspace is
    /// not one; a root that does not exist is watched as empty.
    pub fn new(opts: WatchOptions) -> Result<Watcher> {
        if opts.roots.is_empty() && opts.workspaces.is_empty() {
            return Err(Error::invalid(
                "nothing to watch: no root and no workspace given",
            ));
        }
        let mut roots = Vec::new();
        for r in &opts.roots {
            if r.as_os_str().is_empty() {
                return Err(Error::invalid("an empty root cannot be watched"));
            }
            let r = std::fs::canonicalize(r).unwrap_or_else(|_| r.clone());
            if !roots.contains(&r) {
                roots.push(r);
            }
        }
        let mut named = Vec::new();
        for w in &opts.workspaces {
            let dir = Workspace::open(w)?.dir;
            if !named.contains(&dir) {
                named.push(dir);
            }
        }
        let mut w = Watcher {
            roots,
            named,
            since: opts.since,
            interval: opts.poll_interval,
            inotify: None,
            fallback: None,
            known: BTreeMap::new(),
            structure: BTreeSet::new(),
            dirty: BTreeSet::new(),
            rescan: false,
            cursor: None,
            next_poll: Instant::now() + opts.poll_interval,
            queue: VecDeque::new(),
        };
        if !opts.poll {
            match start_inotify() {
                Ok(i) => w.inotify = Some(i),
                Err(e) => w.fallback = Some(e),
            }
        }
        w.rescan_set(true);
        if w.since.is_some() {
            w.dirty = w.known.keys().cloned().collect();
        }
        Ok(w)
    }

    /// Whether the watcher polls (asked to, or because inotify could not be used).
    pub fn is_polling(&self) -> bool {
        self.inotify.is_none()
    }

    /// Why inotify is not used although it was asked for, if so.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Number of workspaces being watched.
    pub fn workspace_count(&self) -> usize {
        self.known.len()
    }

    /// The next event, waiting at most `timeout` for one (`Ok(None)`: none came). Events of
    /// one workspace come in log order; a change (`created`) comes before the lines of
    /// the workspace it names, `deleted` after them.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<Event>> {
        let now = Instant::now();
        // A timeout too long to represent waits as long as it can, one day at a time.
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(86_400));
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Ok(Some(e));
            }
            self.process();
            if !self.queue.is_empty() || !self.dirty.is_empty() || self.rescan {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.wait(deadline - now);
        }
    }

    /// Waits up to `d` for a wake-up and records what it touched.
    fn wait(&mut self, d: Duration) {
        if let Some(i) = &self.inotify {
            let first = match i.rx.recv_timeout(d) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    self.fall_back("the inotify thread stopped".into());
                    return;
                }
            };
            let mut msgs = vec![first];
            msgs.extend(i.rx.try_iter().take(QUEUE));
            if i.overflow.swap(false, Ordering::SeqCst) {
                self.everything();
            }
            for m in msgs {
                self.route(m);
            }
            return;
        }
        let now = Instant::now();
        if now >= self.next_poll {
            self.next_poll = now + self.interval;
            self.everything();
        } else {
            std::thread::sleep(d.min(self.next_poll - now));
        }
    }

    fn everything(&mut self) {
        self.rescan = true;
        self.dirty = self.known.keys().cloned().collect();
    }

    fn fall_back(&mut self, why: String) {
        self.inotify = None;
        self.fallback = Some(why);
        self.everything();
    }

    /// Marks what an inotify event touched: its workspace, or the set of workspaces when
    /// an entry of a root or category changed.
    fn route(&mut self, m: notify::Result<notify::Event>) {
        let ev = match m {
            Ok(ev) => ev,
            Err(_) => return self.everything(),
        };
        if ev.need_rescan() {
            return self.everything();
        }
        if let EventKind::Access(a) = ev.kind
            && a != notify::event::AccessKind::Close(notify::event::AccessMode::Write)
        {
            return;
        }
        for p in &ev.paths {
            if self.structure.contains(p) || p.parent().is_some_and(|d| self.structure.contains(d))
            {
                self.rescan = true;
            }
            if let Some(ws) = p.ancestors().take(3).find(|a| self.known.contains_key(*a)) {
                let ws = ws.to_path_buf();
                if p.parent() == Some(ws.as_path()) && p.file_name() == Some(LOG_DIR.as_ref()) {
                    // `logs/` itself was created, removed or replaced: watch what is there now.
                    self.unwatch(p);
                }
                self.dirty.insert(ws);
            }
        }
    }

    /// Handles what was marked: the set of workspaces first, then each touched one.
    /// Stops early once [`MAX_QUEUED`] events wait, leaving the rest marked; the next round
    /// starts after the last workspace handled, so a busy log cannot starve the others.
    fn process(&mut self) {
        if std::mem::take(&mut self.rescan) {
            self.rescan_set(false);
        }
        let round = std::mem::take(&mut self.dirty);
        let (before, after): (Vec<PathBuf>, Vec<PathBuf>) = match self.cursor.take() {
            Some(c) => round.into_iter().partition(|d| *d <= c),
            None => (Vec::new(), round.into_iter().collect()),
        };
        let mut order = after.into_iter().chain(before);
        for dir in order.by_ref() {
            self.refresh(&dir);
            if self.queue.len() >= MAX_QUEUED {
                self.cursor = Some(dir);
                break;
            }
        }
        self.dirty.extend(order);
    }

    /// Reads a workspace's `task.yaml` when it changed (archived / restored / gone) and the
    /// new lines of its log.
    fn refresh(&mut self, dir: &Path) {
        let Some(ws) = self.known.get_mut(dir) else {
            return;
        };
        match task_stamp(dir) {
            None => self.rescan = true,
            Some(stamp) if ws.task_stamp != Some(stamp) => {
                ws.task_stamp = Some(stamp);
                if let Ok(w) = Workspace::open(dir) {
                    let archived = w.task.status == Status::Archived;
                    if archived != ws.archived {
                        ws.archived = archived;
                        let change = if archived {
                            Change::Archived
                        } else {
                            Change::Restored
                        };
                        let (dir, slug) = (dir.to_path_buf(), ws.slug.clone());
                        self.push_change(dir, slug, change);
                    }
                }
            }
            Some(_) => {}
        }
        self.watch_logs(dir);
        let Some(ws) = self.known.get_mut(dir) else {
            return;
        };
        let mut lines: Vec<LogEntry> = Vec::new();
        let more = ws.tail.read_new(dir, &mut lines);
        let slug = ws.slug.clone();
        if more {
            self.dirty.insert(dir.to_path_buf());
        }
        self.queue.extend(lines.into_iter().map(|e| Event {
            workspace: dir.to_path_buf(),
            slug: slug.clone(),
            body: Body::Log(e),
        }));
    }

    fn push_change(&mut self, workspace: PathBuf, slug: String, change: Change) {
        let at = timefmt::format(&timefmt::now_secs());
        self.queue.push_back(Event {
            workspace,
            slug,
            body: Body::Change { change, at },
        });
    }

    /// Lists the workspaces again: new ones are added (a `created` event unless this is
    /// the first listing), vanished ones removed (`deleted`, after their last lines).
    fn rescan_set(&mut self, initial: bool) {
        let mut listing = listing::list(&self.roots);
        for w in &self.named {
            if listing::is_workspace(w) {
                listing.workspaces.insert(w.clone());
            }
            if let Some(p) = w.parent() {
                listing.structure.insert(p.to_path_buf());
            }
        }
        let added: Vec<PathBuf> = listing
            .structure
            .difference(&self.structure)
            .cloned()
            .collect();
        let removed: Vec<PathBuf> = self
            .structure
            .difference(&listing.structure)
            .cloned()
            .collect();
        for dir in &added {
            self.watch(dir);
        }
        for dir in &removed {
            self.unwatch(dir);
        }
        self.structure = listing.structure;
        let gone: Vec<PathBuf> = self
            .known
            .keys()
            .filter(|k| !listing.workspaces.contains(*k))
            .cloned()
            .collect();
        for dir in gone {
            self.refresh(&dir);
            if let Some(ws) = self.known.remove(&dir) {
                self.unwatch(&dir);
                self.unwatch(&dir.join(LOG_DIR));
                self.push_change(dir, ws.slug, Change::Deleted);
            }
        }
        for dir in listing.workspaces {
            if self.known.contains_key(&dir) {
                continue;
            }
            self.watch(&dir);
            let (slug, archived) = match Workspace::open(&dir) {
                Ok(w) => (w.task.slug.clone(), w.task.status == Status::Archived),
                Err(_) => (slug_of(&dir), false),
            };
            let tail = if initial {
                Tail::at_end(&dir, self.since)
            } else {
                Tail::from_start()
            };
            let ws = Ws {
                slug: slug.clone(),
                archived,
                task_stamp: task_stamp(&dir),
                tail,
            };
            self.known.insert(dir.clone(), ws);
            if !initial {
                self.push_change(dir.clone(), slug, Change::Created);
                self.dirty.insert(dir.clone());
            }
            self.watch_logs(&dir);
        }
    }

    /// Watches `logs/` of a workspace once it exists as a real directory (never a link).
    fn watch_logs(&mut self, dir: &Path) {
        let logs = dir.join(LOG_DIR);
        let watched = self
            .inotify
            .as_ref()
            .is_none_or(|i| i.watched.contains(&logs));
        if !watched && std::fs::symlink_metadata(&logs).is_ok_and(|m| m.file_type().is_dir()) {
            self.watch(&logs);
        }
    }

    fn watch(&mut self, dir: &Path) {
        let Some(i) = &mut self.inotify else {
            return;
        };
        match i.watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                i.watched.insert(dir.to_path_buf());
            }
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                self.fall_back(format!("inotify: {e}"));
            }
            // Gone already, or not readable: the next listing sees to it.
            Err(_) => {}
        }
    }

    fn unwatch(&mut self, dir: &Path) {
        if let Some(i) = &mut self.inotify
            && i.watched.remove(dir)
        {
            let _ = i.watcher.unwatch(dir);
        }
    }
}

fn start_inotify() -> std::result::Result<Inotify, String> {
    let (tx, rx): (SyncSender<_>, _) = sync_channel(QUEUE);
    let overflow = Arc::new(AtomicBool::new(false));
    let flag = overflow.clone();
    let watcher = notify::recommended_watcher(move |m| {
        if let Err(TrySendError::Full(_)) = tx.try_send(m) {
            flag.store(true, Ordering::SeqCst);
        }
    })
    .map_err(|e| format!("inotify: {e}"))?;
    Ok(Inotify {
        watcher,
        rx,
        overflow,
        watched: BTreeSet::new(),
    })
}

fn task_stamp(dir: &Path) -> Option<(u64, i64, u64)> {
    let m = std::fs::symlink_metadata(dir.join(TASK_FILE)).ok()?;
    Some((
        m.ino(),
        m.mtime_nsec() + m.mtime() * 1_000_000_000,
        m.size(),
    ))
}

fn slug_of(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    slug::slug_from_dir_name(&name).to_owned()
}
