//! The proof provisional cleanup needs (docs/design.md §4.4 step 3, §6): a workspace created by
//! this very invocation is removed only when every entry on disk is exactly what was there
//! when its session began — ignored files, `.git/`, names that are not UTF-8, special files
//! and unreadable directories included, none of which the manifest sees.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::log;
use super::paths::CTASK_DIR;

/// Above this many entries the tree is not inventoried and the workspace is kept.
const MAX_ENTRIES: usize = 100_000;

/// The files ctask itself keeps in `.ctask/`; anything else there keeps the workspace.
const OWN_FILES: &[&str] = &[
    "session.json",
    "session.lock",
    "write.lock",
    "manifest-start.json",
    "manifest-start.bin",
    "index",
    "last-session-summary.json",
];

/// What is on disk for one entry: enough to see any change (the ctime moves with every
/// write, chmod, rename or link, and cannot be set back).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    mode: u32,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Every entry of a workspace tree (without `.ctask/` and the log), by raw path bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Inventory(BTreeMap<Vec<u8>, Stamp>);

/// Inventories `ws`; `None` when any directory cannot be read or the tree is too large.
pub(super) fn take(ws: &Path) -> Option<Inventory> {
    let mut out = BTreeMap::new();
    walk(ws, ws, &mut out)?;
    Some(Inventory(out))
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Stamp>) -> Option<()> {
    for e in fs::read_dir(dir).ok()? {
        let e = e.ok()?;
        let path = e.path();
        let rel = path.strip_prefix(root).ok()?;
        if rel == Path::new(CTASK_DIR) || rel == Path::new(log::LOG_DIR).join(log::LOG_FILE) {
            continue;
        }
        let m = fs::symlink_metadata(&path).ok()?;
        let dir_entry = m.is_dir();
        // A directory's own times move with what is created inside it (begin's files):
        // its entries are compared instead.
        let stamp = Stamp {
            mode: m.mode(),
            ino: m.ino(),
            size: if dir_entry { 0 } else { m.size() },
            mtime: if dir_entry {
                (0, 0)
            } else {
                (m.mtime(), m.mtime_nsec())
            },
            ctime: if dir_entry {
                (0, 0)
            } else {
                (m.ctime(), m.ctime_nsec())
            },
        };
        out.insert(rel.as_os_str().as_bytes().to_vec(), stamp);
        if out.len() > MAX_ENTRIES {
            return None;
        }
        if dir_entry {
            walk(root, &path, out)?;
        }
    }
    Some(())
}

/// Whether `ws` holds exactly what `before` recorded, and `.ctask/` only ctask's own files
/// (the cleanup's condition besides an empty diff).
pub(super) fn unchanged(ws: &Path, before: &Inventory) -> bool {
    let Ok(rd) = fs::read_dir(ws.join(CTASK_DIR)) else {
        return false;
    };
    for e in rd {
        let Ok(e) = e else { return false };
        let name = e.file_name();
        let own = name
            .to_str()
            .is_some_and(|n| OWN_FILES.contains(&n) || n.starts_with(crate::fsio::TEMP_PREFIX));
        if !own || !e.file_type().is_ok_and(|t| t.is_file()) {
            return false;
        }
    }
    take(ws).is_some_and(|now| now == *before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_new_entry_or_change_is_seen() {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path();
        fs::create_dir_all(ws.join(".ctask")).unwrap();
        fs::create_dir_all(ws.join("logs")).unwrap();
        fs::write(ws.join("notes.md"), "x").unwrap();
        let inv = take(ws).unwrap();
        assert!(unchanged(ws, &inv));
        // ctask's own files and the log do not count.
        fs::write(ws.join(".ctask/session.json"), "{}").unwrap();
        fs::write(ws.join("logs/sessions.log"), "line\n").unwrap();
        assert!(unchanged(ws, &inv));
        fs::write(ws.join(".ctask/stray"), "x").unwrap();
        assert!(!unchanged(ws, &inv), "a stranger in .ctask");
        fs::remove_file(ws.join(".ctask/stray")).unwrap();
        fs::create_dir(ws.join(".git")).unwrap();
        assert!(!unchanged(ws, &inv), "an empty .git");
        fs::remove_dir(ws.join(".git")).unwrap();
        assert!(unchanged(ws, &inv));
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9");
        fs::write(ws.join(odd), "").unwrap();
        assert!(!unchanged(ws, &inv), "a name that is not UTF-8");
    }
}
