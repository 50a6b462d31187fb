//! `undo`: gives back one recorded session's changes (or the outside changes before it),
//! all or nothing, as a session of its own (docs/undo.md).

use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use super::history::{self, Change, Record, RecordKind, State};
use super::staged;
use super::store::Store;
use super::tree::{self, Tree};
use super::view::{open_ctask, restorable};
use crate::error::{Error, Result};
use crate::session::manifest::{Kind, Manifest};
use crate::session::{Ending, Session, SessionOptions, crashpoint};

/// The agent label of undo sessions.
pub const AGENT: &str = "undo";

/// What to undo.
#[derive(Debug, Clone, Default)]
pub struct UndoOptions {
    /// The session to undo (default: the last ended one).
    pub session_id: Option<String>,
    /// Undo the changes made before it, while nobody was there.
    pub outside: bool,
    /// Only these paths (files, or directories meaning everything below).
    pub paths: Vec<String>,
    /// Write nothing; say what would happen.
    pub dry_run: bool,
    /// Overwrite files changed since (their current content is stored first), skip what
    /// cannot be restored.
    pub force: bool,
}

/// What undo does to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UndoAction {
    /// Put the old content back over the current one.
    Restore,
    /// Remove a path the session created.
    Remove,
    /// Recreate a path the session removed.
    Recreate,
}

/// How one path fares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Given back (or, in a dry run or a refused undo, would be).
    Ok,
    /// Already as it was before the session: nothing to do.
    Unchanged,
    /// Changed since the session.
    Conflict,
    /// Its old content is not kept (or is corrupted).
    NotRestorable,
}

/// One path of an undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoItem {
    /// Workspace-relative path.
    pub path: String,
    /// What is done to it.
    pub action: UndoAction,
    /// How it fares.
    pub status: ItemStatus,
    /// Why it is a conflict or not restorable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `--force` stored its current content before overwriting it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overwritten_kept: bool,
}

/// The result of [`undo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoReport {
    /// The session whose changes were given back.
    pub target: String,
    /// Whether those were its outside changes.
    pub outside: bool,
    /// Nothing was written (asked for).
    pub dry_run: bool,
    /// The changes were given back; `false` when refused (conflicts or contents not kept,
    /// without force) or in a dry run.
    pub applied: bool,
    /// The undo's own session id (undo it to redo).
    pub session_id: Option<String>,
    /// Every path concerned, sorted.
    pub items: Vec<UndoItem>,
    /// Things the caller should know.
    pub warnings: Vec<String>,
}

impl UndoReport {
    /// The paths that stop an undo without force.
    pub fn blocking(&self) -> impl Iterator<Item = &UndoItem> {
        self.items
            .iter()
            .filter(|i| matches!(i.status, ItemStatus::Conflict | ItemStatus::NotRestorable))
    }
}

/// Gives back the changes of a recorded session of workspace `ws` (docs/undo.md). `sopts`
/// are the options of the undo's own session (its agent label is set to `undo`). Refused
/// while another owner is alive ([`Error::ActiveSession`]).
pub fn undo(ws: &Path, opts: &UndoOptions, sopts: SessionOptions) -> Result<UndoReport> {
    let ctask = open_ctask(ws)?;
    let record = pick(&ctask, opts.session_id.as_deref())?;
    let list = select(&record, opts)?;
    let tree = Tree::open(ws).map_err(|e| Error::io(ws, e))?;
    let max_file = sopts.snapshots.max_file_bytes;
    let store = Store::open(&ctask, false, max_file)?;
    let items = plan(&list, &tree, store.as_ref(), None, None, true);
    // What the store holds is listed again under the lease: this handle's list goes now,
    // so that no two are held at the session's captures.
    drop(store);
    let mut report = UndoReport {
        target: record.session_id.clone(),
        outside: opts.outside,
        dry_run: opts.dry_run,
        applied: false,
        session_id: None,
        items,
        warnings: Vec::new(),
    };
    if opts.dry_run || (!opts.force && report.blocking().next().is_some()) {
        return Ok(report);
    }
    // The undo's own session: lease, start line, capture of what it will overwrite.
    let session = Session::begin(
        ws,
        SessionOptions {
            agent: AGENT.into(),
            launch: None,
            heartbeat: false,
            history_kind: RecordKind::Undo,
            ..sopts
        },
    )?;
    report.session_id = Some(session.id());
    crashpoint::hit("undo.begun");
    // Planned again under the lease, against the session's begin capture (taken under the
    // lease, so what the files are now); with force, what is overwritten is stored first.
    // The stored contents were verified above and are never modified: without force they
    // are looked up, not read again (one collected since fails its staging, which then
    // changes nothing); with force they are verified again, so that exactly the ones that
    // cannot be restored are skipped.
    let store = Store::open(&ctask, opts.force, max_file)?;
    let items = session.with_start(|start| {
        plan(
            &list,
            &tree,
            store.as_ref(),
            Some(start),
            opts.force.then_some(()),
            opts.force,
        )
    });
    if let Some(s) = &store {
        s.sync()?;
    }
    let blocked = !opts.force
        && items
            .iter()
            .any(|i| i.status != ItemStatus::Ok && i.status != ItemStatus::Unchanged);
    let mut failures = Vec::new();
    if !blocked {
        let todo: Vec<&Change> = items
            .iter()
            .zip(&list)
            .filter(|(i, _)| {
                i.status == ItemStatus::Ok || (opts.force && i.status == ItemStatus::Conflict)
            })
            .map(|(_, c)| c)
            .collect();
        let id = session.id();
        apply_all(&tree, store.as_ref(), &todo, &mut failures, (&ctask, &id));
        // Whatever a failure left staged goes before the end's capture.
        staged::clear(ws, &ctask, &id, &mut report.warnings);
        let all = if opts.outside {
            &record.outside
        } else {
            &record.changes
        };
        if failures.is_empty() {
            prune_dirs(&tree, &todo, all, &mut report.warnings);
        }
    }
    // Everything it wrote is durable; its list of what is stored is not held at the end's
    // capture.
    drop(store);
    report.items = items;
    let outcome = session.end(Ending::child_exit(if blocked || !failures.is_empty() {
        1
    } else {
        0
    }))?;
    report.warnings.extend(outcome.warnings);
    if !failures.is_empty() {
        return Err(Error::invalid(format!(
            "undo could not write every file; undo session {} records what it did:\n  {}",
            report.session_id.as_deref().unwrap_or("?"),
            failures.join("\n  ")
        )));
    }
    report.applied = !blocked;
    Ok(report)
}

/// The record to undo: the one named, else the newest.
fn pick(ctask: &crate::session::dirfd::Dir, id: Option<&str>) -> Result<Record> {
    match history::read_newest(ctask, id)? {
        Some((_, Ok(r))) => Ok(r),
        Some((_, Err(why))) => Err(Error::format(ctask.join(history::HISTORY_DIR), why)),
        None => Err(Error::invalid(match id {
            Some(id) => format!("no history record of session {id:?}; see `ctask history`"),
            None => "no session of this workspace has a history record; nothing to undo".into(),
        })),
    }
}

/// The changes to give back: all of the list, or those under the paths asked for.
fn select(r: &Record, opts: &UndoOptions) -> Result<Vec<Change>> {
    let list = if opts.outside { &r.outside } else { &r.changes };
    if opts.paths.is_empty() {
        return Ok(list.clone());
    }
    let mut out = Vec::new();
    for p in &opts.paths {
        let p = p.trim_end_matches('/');
        let under = |c: &&Change| {
            c.path == p || (c.path.starts_with(p) && c.path.as_bytes().get(p.len()) == Some(&b'/'))
        };
        let found: Vec<Change> = list.iter().filter(under).cloned().collect();
        if found.is_empty() {
            return Err(Error::invalid(format!(
                "session {} did not change {p:?}{}",
                r.session_id,
                if opts.outside {
                    " (outside changes)"
                } else {
                    ""
                }
            )));
        }
        out.extend(found);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

fn same(a: Option<&State>, b: Option<&State>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.same(y),
        _ => false,
    }
}

/// Judges every change against the tree (what is there now: read, or, for what `known`
/// lists with its content's hash, taken from it: the begin capture of the undo's own
/// session); with `keep` (force), the current content of a conflicting file is stored
/// before it is overwritten; with `verify`, every old content is read from the store and
/// checked against its hash.
fn plan(
    list: &[Change],
    tree: &Tree,
    store: Option<&Store>,
    known: Option<&Manifest>,
    keep: Option<()>,
    verify: bool,
) -> Vec<UndoItem> {
    in_parallel(list.iter().collect(), |c| {
        let action = match (&c.before, &c.after) {
            (None, _) => UndoAction::Remove,
            (_, None) => UndoAction::Recreate,
            _ => UndoAction::Restore,
        };
        let item = |status, reason: Option<String>| UndoItem {
            path: c.path.clone(),
            action,
            status,
            reason,
            overwritten_kept: false,
        };
        let listed = known
            .and_then(|m| m.get(&c.path))
            .filter(|e| e.kind != Kind::File || e.sha256.is_some());
        let now = match listed {
            Some(e) => Ok(Some(State::of(e))),
            None => tree.state(&c.path, None),
        };
        let now = match now {
            Ok(s) => s,
            Err(e) if tree::blocked(&e) => {
                return item(
                    ItemStatus::Conflict,
                    Some("a directory on its path is now a symlink or a file".into()),
                );
            }
            Err(e) => return item(ItemStatus::Conflict, Some(format!("cannot be read: {e}"))),
        };
        if same(now.as_ref(), c.before.as_ref()) {
            return item(ItemStatus::Unchanged, None);
        }
        if let Some(why) = not_restorable(c, store, verify) {
            return item(ItemStatus::NotRestorable, Some(why));
        }
        if !same(now.as_ref(), c.after.as_ref()) {
            let mut it = item(
                ItemStatus::Conflict,
                Some("changed since the session".into()),
            );
            if keep.is_some() && now.as_ref().is_some_and(|s| s.kind == Kind::File) {
                // The content about to be overwritten is stored first.
                let stored = tree.state(&c.path, store).ok().flatten();
                it.overwritten_kept = stored.is_some();
            }
            if now.as_ref().is_some_and(|s| s.kind == Kind::Other) {
                it.status = ItemStatus::NotRestorable;
                it.reason = Some("a directory or special file is there now".into());
            }
            return it;
        }
        if now.as_ref().is_some_and(|s| s.kind == Kind::Other) {
            return item(
                ItemStatus::NotRestorable,
                Some("a directory or special file is there now".into()),
            );
        }
        item(ItemStatus::Ok, None)
    })
}

/// Why the old side of `c` cannot be put back, if it cannot (with `verify`: its content is
/// read and checked, else only looked up).
fn not_restorable(c: &Change, store: Option<&Store>, verify: bool) -> Option<String> {
    if !restorable(c, store) {
        return Some(match &c.before {
            Some(s) if s.kind == Kind::File => {
                "its old content is not kept (larger than snapshot_max_file_bytes, or collected)"
                    .into()
            }
            _ => "it was not a file or symlink".into(),
        });
    }
    let s = c.before.as_ref()?;
    let d = s.digest()?;
    if !verify {
        return None;
    }
    match store?.get(&d, s.size) {
        Ok(Some(_)) => None,
        Ok(None) => Some("its old content is not kept".into()),
        Err(e) => Some(e.to_string()),
    }
}

/// Puts the old sides back in two steps: every content is written beside its target and
/// made durable (an `fsync` each up to 256 files, else one `syncfs`), then each is renamed
/// into place (or the path removed) — so a crash leaves every file either old or new — and
/// the directories concerned are synced.
fn apply_all(
    tree: &Tree,
    store: Option<&Store>,
    todo: &[&Change],
    failures: &mut Vec<String>,
    (ctask, id): (&crate::session::dirfd::Dir, &str),
) {
    // The temp names are listed (durably) before the first is written.
    let temps: Vec<Option<String>> = todo
        .iter()
        .map(|c| c.before.as_ref().map(|_| tree::temp_beside(&c.path)))
        .collect();
    let listed: Vec<String> = temps.iter().flatten().cloned().collect();
    let written = if listed.is_empty() {
        Ok(())
    } else if crashpoint::fail("undo.list_staged") {
        Err(Error::invalid("injected fault"))
    } else {
        staged::write(ctask, id, &listed)
    };
    if let Err(e) = written {
        failures.push(format!("cannot list the temp files to stage: {e}"));
        return;
    }
    crashpoint::hit("undo.staged_listed");
    let each = crate::session::dirfd::sync_each(listed.len());
    let mut staged = Vec::new();
    let temps = temps.iter().map(Option::as_deref);
    for (c, s) in in_parallel(todo.iter().zip(temps).collect(), |(c, tmp)| {
        (c, stage(tree, store, c, tmp, each))
    }) {
        match s {
            Ok(s) => staged.push((c, s)),
            Err(e) => failures.push(format!("{}: {e}", c.path)),
        }
    }
    if failures.is_empty()
        && let Err(e) = tree.sync_staged(listed.len())
    {
        failures.push(format!("cannot make the restored files durable: {e}"));
    }
    if !failures.is_empty() {
        for s in staged.into_iter().filter_map(|(_, s)| s) {
            tree.abandon(s);
        }
        return;
    }
    let done = in_parallel(staged, |(c, s)| {
        crashpoint::hit("undo.before_file");
        let done = match s {
            Some(s) => tree.commit(s),
            None => tree.remove(&c.path),
        };
        crashpoint::hit("undo.after_file");
        done.map_err(|e| format!("{}: {e}", c.path))
    });
    failures.extend(done.into_iter().filter_map(Result::err));
    if let Err(e) = tree.sync_dirs() {
        failures.push(format!("cannot make the restored files durable: {e}"));
    }
}

/// The most threads [`in_parallel`] runs: creating, renaming over and freeing files are
/// work the filesystem does while the caller waits (and planning hashes files), so a few
/// at once overlap those waits even on two cores.
const APPLY_THREADS: usize = 4;

/// Each item through `work`, on up to [`APPLY_THREADS`] threads (this one included; fewer
/// when a thread cannot be started), the results in the items' order.
fn in_parallel<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let helpers = APPLY_THREADS
        .min(items.len().div_ceil(16))
        .saturating_sub(1);
    let queue = Mutex::new(items.into_iter().enumerate());
    let run = || {
        let mut out = Vec::new();
        loop {
            let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
            let Some((i, item)) = next else {
                return out;
            };
            out.push((i, work(item)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let helpers: Vec<_> = (0..helpers)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, run).ok())
            .collect();
        let mut all = run();
        for h in helpers {
            match h.join() {
                Ok(v) => all.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        all
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Removes the directories the removals of `todo` left empty, deepest first, while no
/// path of `all` (the record's list) existed under them before the session: the state
/// given back had no such directory. A directory holding anything is never removed; one
/// that cannot be removed is a warning (every file is already as it was).
fn prune_dirs(tree: &Tree, todo: &[&Change], all: &[Change], warnings: &mut Vec<String>) {
    let had_before = |d: &str| {
        all.iter().any(|c| {
            c.before.is_some()
                && c.path.starts_with(d)
                && c.path.as_bytes().get(d.len()) == Some(&b'/')
        })
    };
    let mut dirs = std::collections::BTreeSet::new();
    for c in todo.iter().filter(|c| c.before.is_none()) {
        let mut p = c.path.as_str();
        while let Some((d, _)) = p.rsplit_once('/') {
            dirs.insert(d);
            p = d;
        }
    }
    let mut dirs: Vec<&str> = dirs.into_iter().filter(|d| !had_before(d)).collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    for d in dirs {
        let removed = if crashpoint::fail("undo.remove_dir") {
            Err(std::io::Error::other("injected fault"))
        } else {
            tree.remove_empty_dir(d)
        };
        if let Err(e) = removed {
            warnings.push(format!("the emptied directory {d:?} was left: {e}"));
        }
    }
    if let Err(e) = tree.sync_dirs() {
        warnings.push(format!("the removed directories may not be durable: {e}"));
    }
}

/// Writes the old side of `c` beside it, at temp path `tmp` (`None`: the path is to be
/// removed); with `sync`, made durable.
fn stage(
    tree: &Tree,
    store: Option<&Store>,
    c: &Change,
    tmp: Option<&str>,
    sync: bool,
) -> std::io::Result<Option<tree::Staged>> {
    let (Some(s), Some(tmp)) = (&c.before, tmp) else {
        return Ok(None);
    };
    match s {
        s if s.kind == Kind::Symlink => tree
            .stage_symlink(&c.path, tmp, s.target.as_deref().unwrap_or_default(), sync)
            .map(Some),
        s => {
            let d = s
                .digest()
                .ok_or_else(|| std::io::Error::other("no content hash"))?;
            let bytes = store
                .and_then(|st| st.get(&d, s.size).ok().flatten())
                .ok_or_else(|| std::io::Error::other("stored content vanished"))?;
            tree.stage_file(&c.path, tmp, &bytes, s.mode.unwrap_or(0o644), sync)
                .map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn in_parallel_runs_each_item_once_and_keeps_their_order() {
        let runs = AtomicUsize::new(0);
        let threads = Mutex::new(HashSet::new());
        let out = in_parallel((0..1000).collect(), |i: usize| {
            runs.fetch_add(1, Ordering::Relaxed);
            threads.lock().unwrap().insert(std::thread::current().id());
            i * 2
        });
        assert_eq!(out, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(runs.load(Ordering::Relaxed), 1000);
        assert!(threads.lock().unwrap().len() <= APPLY_THREADS);
        // Few items: this thread alone.
        let one = in_parallel(vec![1, 2, 3], |i| (i, std::thread::current().id()));
        assert!(one.iter().all(|(_, t)| *t == std::thread::current().id()));
        assert!(in_parallel(Vec::<u8>::new(), |i| i).is_empty());
    }
}
