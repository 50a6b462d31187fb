//! History records `.ctask/history/<session_id>.json`: what one session (and the time
//! before it) changed, path by path, as the state before and after (docs/undo.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::session::dirfd::Dir;
use crate::session::manifest::{Entry, Kind, Manifest};

/// Name of the history directory inside `.ctask/`.
pub const HISTORY_DIR: &str = "history";
/// The most of one history record that is read.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// What made a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// An ordinary session.
    #[default]
    Session,
    /// An undo (undoing it is a redo).
    Undo,
}

impl RecordKind {
    /// `session` or `undo`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Session => "session",
            RecordKind::Undo => "undo",
        }
    }
}

/// One path's state on one side of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// `file`, `symlink` or `other`.
    pub kind: Kind,
    /// SHA-256 (hex) of a regular file's content, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A symlink's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Permission bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
}

impl State {
    /// The state a manifest entry describes.
    pub fn of(e: &Entry) -> State {
        State {
            kind: e.kind,
            sha256: e.sha256_hex(),
            target: e.target.clone(),
            mode: e.mode,
            size: e.size,
        }
    }

    /// Whether `other` is the same content (kind, hash, target) and, where both know
    /// them, the same permission bits.
    pub fn same(&self, other: &State) -> bool {
        self.kind == other.kind
            && self.sha256 == other.sha256
            && self.target == other.target
            && (self.mode.is_none() || other.mode.is_none() || self.mode == other.mode)
    }

    /// The digest, when this is a regular file with a valid hash.
    pub fn digest(&self) -> Option<[u8; 32]> {
        let h = self.sha256.as_deref()?;
        if h.len() != 64 {
            return None;
        }
        let mut d = [0u8; 32];
        for (i, b) in d.iter_mut().enumerate() {
            *b = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(d)
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Workspace-relative path.
    pub path: String,
    /// Its state before (`None`: absent).
    pub before: Option<State>,
    /// Its state after (`None`: absent).
    pub after: Option<State>,
}

/// A history record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The session's id.
    pub session_id: String,
    /// `session` or `undo`.
    #[serde(default)]
    pub kind: RecordKind,
    /// When it began.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Its agent label.
    #[serde(default)]
    pub agent: String,
    /// Changes made while nobody was there, found by its begin.
    #[serde(default)]
    pub outside: Vec<Change>,
    /// Changes made during it.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// Every path whose kind, content, target or mode differs between `from` and `to`, sorted.
pub fn changes(from: &Manifest, to: &Manifest) -> Vec<Change> {
    let (a, b) = (&from.entries, &to.entries);
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        let ord = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.path.cmp(&y.path),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                out.push(Change {
                    path: a[i].path.clone(),
                    before: Some(State::of(&a[i])),
                    after: None,
                });
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(Change {
                    path: b[j].path.clone(),
                    before: None,
                    after: Some(State::of(&b[j])),
                });
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                // Compared on the entries: most paths are unchanged, and a State costs
                // allocations.
                let (x, y) = (&a[i], &b[j]);
                let same = x.kind == y.kind
                    && x.sha256 == y.sha256
                    && x.target == y.target
                    && x.mode == y.mode;
                if !same {
                    out.push(Change {
                        path: x.path.clone(),
                        before: Some(State::of(x)),
                        after: Some(State::of(y)),
                    });
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Whether `p` is a workspace-relative path a record may name: not empty, not absolute,
/// no `.`/`..`/empty component, and none of what manifests never list (`.ctask/`, `.git/`,
/// `task.yaml`, `logs/sessions.log`).
pub fn valid_path(p: &str) -> bool {
    let under = |d: &str| p == d || p.strip_prefix(d).is_some_and(|r| r.starts_with('/'));
    !p.is_empty()
        && !p.contains('\0')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && !under(".ctask")
        && !under(".git")
        && p != "task.yaml"
        && p != "logs/sessions.log"
}

/// Whether `id` can name a record file.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.')
}

/// Writes `r` atomically as `history/<session_id>.json` in `.ctask/`.
pub fn write(ctask: &Dir, r: &Record) -> Result<()> {
    if !valid_id(&r.session_id) {
        return Err(Error::invalid(format!(
            "session id {:?} cannot name a history record",
            r.session_id
        )));
    }
    let dir = ctask.open_sub(HISTORY_DIR, true)?;
    let mut bytes = serde_json::to_vec(r)
        .map_err(|e| Error::format(dir.join(&r.session_id), format!("cannot serialise: {e}")))?;
    bytes.push(b'\n');
    dir.write_atomic(&format!("{}.json", r.session_id), &bytes)
}

/// A record read back, or why it could not be.
pub type Loaded = std::result::Result<Record, String>;

/// Every record in `.ctask/history/` (none when it does not exist); a record that cannot
/// be read, does not parse, is larger than [`MAX_RECORD_BYTES`], names another session
/// than its file or a path outside the workspace is returned as an error text naming it.
/// Sorted newest first (by `ended_at`, then id).
pub fn read_all(ctask: &Dir) -> Result<Vec<(String, Loaded)>> {
    read_all_with(ctask, read_one, |r| r.ended_at)
}

/// The contents a record names, and its end time: what collection needs of it.
#[derive(Debug)]
pub struct Named {
    /// When its session ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The SHA-256 of every content on either side of its changes and outside changes.
    pub hashes: Vec<[u8; 32]>,
}

/// Like [`read_all`], each record kept only as the contents it names: a record is an error
/// exactly when [`read_all`] would make it one, and its paths and states are not held.
pub fn read_all_named(ctask: &Dir) -> Result<Vec<(String, std::result::Result<Named, String>)>> {
    read_all_with(ctask, read_named, |n| n.ended_at)
}

/// Every record read by `read`, newest first (by the end time `ended`, then id).
fn read_all_with<T>(
    ctask: &Dir,
    read: impl Fn(&Dir, &str) -> std::result::Result<T, String>,
    ended: impl Fn(&T) -> Option<DateTime<Utc>>,
) -> Result<Vec<(String, std::result::Result<T, String>)>> {
    let Some((dir, ids)) = record_ids(ctask)? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let loaded = read(&dir, &id);
            (id, loaded)
        })
        .collect();
    out.sort_by(|(ia, a), (ib, b)| {
        let ka = a.as_ref().ok().and_then(&ended);
        let kb = b.as_ref().ok().and_then(&ended);
        kb.cmp(&ka).then_with(|| ib.cmp(ia))
    });
    Ok(out)
}

/// The record of session `id`, or (`None`) the newest record — read whole, with the same
/// checks as [`read_all`]; the others are read only for their end time (no list of
/// changes is kept), so picking the newest of many large records costs little memory.
/// `Ok(None)`: no such record.
pub fn read_newest(ctask: &Dir, id: Option<&str>) -> Result<Option<(String, Loaded)>> {
    let Some((dir, ids)) = record_ids(ctask)? else {
        return Ok(None);
    };
    if let Some(id) = id {
        let present = ids.iter().any(|i| i == id);
        return Ok(present.then(|| (id.to_owned(), read_one(&dir, id))));
    }
    /// A record's end time, read without its lists.
    #[derive(Deserialize)]
    struct Ended {
        #[serde(default)]
        ended_at: Option<DateTime<Utc>>,
    }
    let mut best: Option<(Option<DateTime<Utc>>, String)> = None;
    for id in ids {
        let Ok((_, bytes)) = record_bytes(&dir, &id) else {
            continue;
        };
        let Ok(e) = serde_json::from_slice::<Ended>(&bytes) else {
            continue;
        };
        let key = (e.ended_at, id);
        if best.as_ref().is_none_or(|b| key > *b) {
            best = Some(key);
        }
    }
    Ok(best.map(|(_, id)| {
        let loaded = read_one(&dir, &id);
        (id, loaded)
    }))
}

/// The history directory and the session ids its records are named by; `None` when there
/// is no history.
fn record_ids(ctask: &Dir) -> Result<Option<(Dir, Vec<String>)>> {
    if ctask.stat(HISTORY_DIR)?.is_none() {
        return Ok(None);
    }
    let dir = ctask.open_sub(HISTORY_DIR, false)?;
    let ids = dir
        .names()?
        .into_iter()
        .filter_map(|name| {
            let id = name.strip_suffix(".json")?;
            valid_id(id).then(|| id.to_owned())
        })
        .collect();
    Ok(Some((dir, ids)))
}

fn read_one(dir: &Dir, id: &str) -> Loaded {
    let (path, bytes) = record_bytes(dir, id)?;
    let r: Record = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a valid history record: {e}", path.display()))?;
    check(
        &path,
        id,
        &r.session_id,
        r.changes.iter().chain(&r.outside).map(|c| &*c.path),
    )?;
    Ok(r)
}

/// The path and bytes of the record of `id`.
fn record_bytes(dir: &Dir, id: &str) -> std::result::Result<(std::path::PathBuf, Vec<u8>), String> {
    let name = format!("{id}.json");
    let path = dir.join(&name);
    match dir.read_capped(&name, MAX_RECORD_BYTES) {
        Ok(Some(b)) => Ok((path, b)),
        Ok(None) => Err(format!("{}: vanished", path.display())),
        Err(e) => Err(e.to_string()),
    }
}

/// The checks of a parsed record at `path`: it names session `id`, and every path stays in
/// the workspace.
fn check<'p>(
    path: &std::path::Path,
    id: &str,
    session_id: &str,
    mut paths: impl Iterator<Item = &'p str>,
) -> std::result::Result<(), String> {
    if session_id != id {
        return Err(format!(
            "{}: names session {session_id:?}, not {id:?}",
            path.display()
        ));
    }
    if let Some(bad) = paths.find(|p| !valid_path(p)) {
        return Err(format!(
            "{}: path {bad:?} leaves the workspace or names a file ctask keeps",
            path.display()
        ));
    }
    Ok(())
}

/// A record as [`read_named`] parses it: every field a [`Record`] has, with the same types
/// (so the same records fail), strings borrowed from the file's bytes where they can be.
#[derive(Deserialize)]
#[allow(dead_code)] // Fields parsed for their checks only.
struct LeanRecord<'a> {
    #[serde(borrow)]
    session_id: std::borrow::Cow<'a, str>,
    #[serde(default)]
    kind: RecordKind,
    #[serde(default)]
    started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ended_at: Option<DateTime<Utc>>,
    #[serde(default, borrow)]
    agent: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    outside: Vec<LeanChange<'a>>,
    #[serde(default, borrow)]
    changes: Vec<LeanChange<'a>>,
}

#[derive(Deserialize)]
struct LeanChange<'a> {
    #[serde(borrow)]
    path: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    before: Option<LeanState<'a>>,
    #[serde(borrow)]
    after: Option<LeanState<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // Fields parsed for their checks only.
struct LeanState<'a> {
    kind: Kind,
    #[serde(default, borrow)]
    sha256: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    target: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    mode: Option<u32>,
    #[serde(default)]
    size: u64,
}

fn read_named(dir: &Dir, id: &str) -> std::result::Result<Named, String> {
    let (path, bytes) = record_bytes(dir, id)?;
    let r: LeanRecord<'_> = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a valid history record: {e}", path.display()))?;
    let all = || r.changes.iter().chain(&r.outside);
    check(&path, id, &r.session_id, all().map(|c| &*c.path))?;
    let hashes = all()
        .flat_map(|c| [c.before.as_ref(), c.after.as_ref()])
        .flatten()
        .filter_map(|s| s.sha256.as_deref().and_then(super::store::unhex))
        .collect();
    Ok(Named {
        ended_at: r.ended_at,
        hashes,
    })
}

/// Removes the record of session `id`.
pub fn remove(ctask: &Dir, id: &str) -> Result<()> {
    let dir = ctask.open_sub(HISTORY_DIR, false)?;
    dir.unlink(&format!("{id}.json")).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::manifest::Timestamp;

    fn entry(path: &str, sha: u8, mode: u32) -> Entry {
        Entry {
            path: path.into(),
            size: 1,
            mtime: Timestamp::from_unix(0, 0),
            sha256: Some([sha; 32]),
            kind: Kind::File,
            target: None,
            ino: Some(1),
            ctime: Some(Timestamp::from_unix(0, 0)),
            mode: Some(mode),
        }
    }

    fn manifest(entries: Vec<Entry>) -> Manifest {
        Manifest {
            captured_at: chrono::DateTime::UNIX_EPOCH,
            entries,
        }
    }

    #[test]
    fn changes_list_added_deleted_content_and_mode_changes_only() {
        let a = manifest(vec![
            entry("gone", 1, 0o644),
            entry("mode", 2, 0o644),
            entry("same", 3, 0o644),
            entry("text", 4, 0o644),
        ]);
        let mut touched = entry("same", 3, 0o644);
        touched.mtime = Timestamp::from_unix(99, 0);
        let b = manifest(vec![
            entry("mode", 2, 0o755),
            entry("new", 5, 0o644),
            touched,
            entry("text", 6, 0o644),
        ]);
        let c = changes(&a, &b);
        let paths: Vec<&str> = c.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["gone", "mode", "new", "text"]);
        assert!(c[0].after.is_none() && c[2].before.is_none());
        assert_eq!(c[1].after.as_ref().and_then(|s| s.mode), Some(0o755));
        assert_eq!(c[3].before.as_ref().and_then(State::digest), Some([4; 32]));
    }

    #[test]
    fn paths_that_leave_the_workspace_or_name_ctask_files_are_invalid() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            ".ctask",
            ".ctask/objects/x",
            ".git/config",
            "task.yaml",
            "logs/sessions.log",
            "a\0b",
        ] {
            assert!(!valid_path(bad), "{bad:?}");
        }
        for good in [
            "a",
            "a/b c",
            ".ctaskish",
            "logs/other.log",
            "x/task.yaml",
            "line\nbreak",
        ] {
            assert!(valid_path(good), "{good:?}");
        }
    }

    #[test]
    fn records_read_for_their_contents_fail_and_name_exactly_as_whole_reads() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join(HISTORY_DIR)).unwrap();
        let h = |c: char| c.to_string().repeat(64);
        let state = |c: char| {
            format!(
                r#"{{"kind":"file","sha256":"{}","mode":420,"size":3}}"#,
                h(c)
            )
        };
        let rec = |id: &str, sid: &str, path: &str, extra: &str| {
            format!(
                r#"{{"session_id":"{sid}","kind":"session","ended_at":"2026-12-0{}T10:00:00Z","agent":"a","outside":[{{"path":"o\u0020x","before":null,"after":{}}}],"changes":[{{"path":{path},"before":{},"after":{}}},{{"path":"l","before":{{"kind":"symlink","target":"t\n","size":2}},"after":null}}]{extra}}}"#,
                id.len() % 9 + 1,
                state('a'),
                state('b'),
                state('c')
            )
        };
        let files = [
            ("s-good-1", rec("s-good-1", "s-good-1", r#""a b.txt""#, "")),
            (
                "s-good-22",
                rec("s-good-22", "s-good-22", r#""esc\"aped""#, r#","more":1"#),
            ),
            ("s-other", rec("s-other", "s-else", r#""a""#, "")),
            ("s-escape", rec("s-escape", "s-escape", r#""../x""#, "")),
            (
                "s-kind",
                rec("s-kind", "s-kind", r#""a""#, "")
                    .replace(r#""kind":"symlink""#, r#""kind":"dir""#),
            ),
            (
                "s-target",
                rec("s-target", "s-target", r#""a""#, "")
                    .replace(r#""target":"t\n""#, r#""target":7"#),
            ),
            (
                "s-cut",
                rec("s-cut", "s-cut", r#""a""#, "")[..90].to_owned(),
            ),
        ];
        for (id, text) in &files {
            std::fs::write(t.path().join(HISTORY_DIR).join(format!("{id}.json")), text).unwrap();
        }
        let dir = Dir::open(t.path()).unwrap();
        let whole = read_all(&dir).unwrap();
        let named = read_all_named(&dir).unwrap();
        assert_eq!(whole.len(), files.len());
        fn ids<T>(v: &[(String, std::result::Result<T, String>)]) -> Vec<(String, bool)> {
            v.iter().map(|(id, r)| (id.clone(), r.is_ok())).collect()
        }
        assert_eq!(
            ids(&whole),
            ids(&named),
            "the same records fail, in the same order"
        );
        let ok: Vec<&str> = whole
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| i.as_str())
            .collect();
        assert_eq!(ok, ["s-good-1", "s-good-22"], "newest first");
        for ((_, w), (_, n)) in whole.iter().zip(&named) {
            match (w, n) {
                (Ok(r), Ok(n)) => {
                    let mut expect: Vec<[u8; 32]> = r
                        .changes
                        .iter()
                        .chain(&r.outside)
                        .flat_map(|c| [c.before.as_ref(), c.after.as_ref()])
                        .flatten()
                        .filter_map(State::digest)
                        .collect();
                    let mut got = n.hashes.clone();
                    expect.sort();
                    got.sort();
                    assert_eq!(got, expect);
                    assert_eq!(got.len(), 3);
                    assert_eq!(n.ended_at, r.ended_at);
                }
                (Err(a), Err(b)) => assert_eq!(a, b),
                _ => unreachable!(),
            }
        }
    }
}
