//! Manifests: a snapshot of a workspace's files (size, mtime, SHA-256, inode data), captured
//! with a hash cache; stored in the binary layout of [`binary`] (`.ctask/index`,
//! `.ctask/manifest-start.bin`) and read from JSON (`manifest-start.json` of the reference
//! tool, a summary's `end_manifest`).
//!
//! The format and the rules are described in `docs/manifest.md`.

pub mod binary;
mod cache;
mod dirfd;
mod entry;
pub(crate) mod hash;
mod listing;
#[cfg(feature = "profile")]
pub mod profile;
#[cfg(not(feature = "profile"))]
mod profile;
mod queue;
mod rules;
mod time;
mod walk;

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsio;

pub use entry::{Entry, Kind};
pub use hash::{BUFFER_SIZE, ContentHasher, HASH_BACKEND};
pub use rules::CTASKIGNORE;
pub use time::Timestamp;

/// A snapshot of a workspace: `{"captured_at": …, "files": [entry…]}` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// When the capture began (before its first `stat`): the racy cut-off of the hash cache.
    /// A file without it reads as the Unix epoch.
    #[serde(with = "time::rfc3339", default)]
    pub captured_at: DateTime<Utc>,
    /// The listed paths, sorted by path (byte order), each once.
    #[serde(rename = "files")]
    pub entries: Vec<Entry>,
}

/// How to capture a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Leave out what the workspace's own `.gitignore` / `.ctaskignore` files ignore.
    pub respect_ignore: bool,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            respect_ignore: true,
        }
    }
}

/// The result of [`capture`]: the manifest and what happened on the way.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The snapshot.
    pub manifest: Manifest,
    /// Names skipped because they are not UTF-8 (a skipped directory counts once).
    pub skipped_non_utf8: u64,
    /// Regular files read and hashed.
    pub hashed_files: u64,
    /// Regular files taken over from the hash cache without reading them.
    pub cached_files: u64,
    /// Files listed without a hash because they could not be read, plus directories that
    /// could not be listed.
    pub unreadable: u64,
    /// Ignore files (workspace-relative) larger than [`MAX_IGNORE_FILE`]: not used.
    pub oversized_ignore_files: Vec<String>,
}

/// Snapshots the workspace at `root`. `cache`, the previous manifest of the same
/// workspace, lets unchanged files be taken over without reading them (ignored when it is
/// foreign). Fails only when `root` itself cannot be listed.
pub fn capture(root: &Path, opts: &CaptureOptions, cache: Option<&Manifest>) -> Result<Capture> {
    capture_stored(root, opts, cache, None)
}

/// [`capture`], storing every content it reads in `store` (docs/undo.md).
pub(crate) fn capture_stored(
    root: &Path,
    opts: &CaptureOptions,
    cache: Option<&Manifest>,
    store: Option<&crate::snapshot::store::Store>,
) -> Result<Capture> {
    let captured_at = Utc::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // A workspace reached through a symlink is walked at its target.
    let part = walk::walk(root, opts, cache, threads, store).at(root)?;
    super::crashpoint::hit("manifest.walked");
    Ok(Capture {
        manifest: Manifest {
            captured_at,
            entries: part.entries,
        },
        skipped_non_utf8: part.skipped_non_utf8,
        hashed_files: part.hashed,
        cached_files: part.cached,
        unreadable: part.unreadable,
        oversized_ignore_files: {
            let mut v = part.oversized_ignore;
            v.sort();
            v.dedup();
            v
        },
    })
}

/// The most of a start manifest or index that is read; a larger file is an error naming it.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

pub use rules::MAX_IGNORE_FILE;

/// Reads a manifest file: a binary start manifest (`manifest-start.bin`) or a JSON one
/// (`manifest-start.json`, as the reference tool writes it); `Ok(None)` when it does not
/// exist. Entries are returned sorted and unique; a file that does not decode, or lists a
/// path that is absolute or leaves the workspace, is an [`Error::BadFormat`] naming it.
pub fn read_manifest(path: &Path) -> Result<Option<Manifest>> {
    let Some(bytes) = fsio::read_optional_capped(path, MAX_MANIFEST_BYTES)? else {
        return Ok(None);
    };
    if binary::is_binary(&bytes) {
        return binary::decode(&bytes, binary::Role::Start)
            .map(|n| Some(n.manifest))
            .map_err(|e| Error::format(path, format!("not a valid start manifest: {e}")));
    }
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| Error::format(path, format!("not a valid manifest: {e}")))?;
    Manifest::from_entries(m.captured_at, m.entries, path).map(Some)
}

/// Reads a live session's start manifest from the `.ctask/` directory `ctask_dir`: the
/// binary `manifest-start.bin`, else a `manifest-start.json` (written by the reference
/// tool); `Ok(None)` when there is neither.
pub fn read_start(ctask_dir: &Path) -> Result<Option<Manifest>> {
    match read_manifest(&ctask_dir.join(super::paths::START_MANIFEST))? {
        Some(m) => Ok(Some(m)),
        None => read_manifest(&ctask_dir.join(super::paths::JSON_START_MANIFEST)),
    }
}

/// Writes `m` to `path` atomically as JSON, one entry per line (compact, still diffable).
pub fn write_manifest(path: &Path, m: &Manifest) -> Result<()> {
    fsio::write_atomic(path, &render(path, m)?)
}

/// Writes `m`, the start manifest of session `session_id`, as `manifest-start.bin` at `path`.
pub fn write_start(path: &Path, session_id: &str, m: &Manifest) -> Result<()> {
    fsio::write_atomic_with(path, |w| write_start_to(w, session_id, m))
}

/// Writes `m`, the start manifest of session `session_id`, as `manifest-start.bin` through
/// the `.ctask/` directory descriptor `dir`.
pub fn write_start_in(dir: &super::dirfd::Dir, session_id: &str, m: &Manifest) -> Result<()> {
    dir.write_atomic_with(super::paths::START_MANIFEST, |w| {
        write_start_to(w, session_id, m)
    })
}

fn write_start_to(w: &mut dyn Write, session_id: &str, m: &Manifest) -> std::io::Result<()> {
    binary::write_to(
        w,
        binary::Role::Start,
        session_id,
        &m.captured_at,
        &m.entries,
    )
}

fn render(path: &Path, m: &Manifest) -> Result<Vec<u8>> {
    let bad = |e: serde_json::Error| Error::format(path, format!("cannot serialise: {e}"));
    let mut out = Vec::with_capacity(64 + m.entries.len() * 200);
    let at = Timestamp::from_datetime(&m.captured_at);
    write!(out, "{{\"captured_at\":\"{at}\",\"files\":[").at(path)?;
    for (i, e) in m.entries.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut out, e).map_err(bad)?;
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

impl Manifest {
    /// A manifest of `entries` (e.g. a summary's `end_manifest`), sorted by path; of
    /// duplicate paths the first is kept. A path that is empty, absolute or contains
    /// `.`/`..`/empty components is an [`Error::BadFormat`] naming `source`.
    pub fn from_entries(
        captured_at: DateTime<Utc>,
        mut entries: Vec<Entry>,
        source: &Path,
    ) -> Result<Manifest> {
        if let Some(bad) = entries.iter().find(|e| !valid_path(&e.path)) {
            return Err(Error::format(
                source,
                format!("invalid path {:?} in manifest", bad.path),
            ));
        }
        if !entries.is_sorted_by(|a, b| a.path < b.path) {
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            entries.dedup_by(|later, first| later.path == first.path);
        }
        Ok(Manifest {
            captured_at,
            entries,
        })
    }

    /// Whether a regular-file entry lacks both hash and inode data: the manifest was
    /// written by the reference tool. Such a manifest is never used as a hash cache.
    pub fn is_foreign(&self) -> bool {
        self.entries.iter().any(Entry::is_legacy)
    }

    /// Drops the entries that today's exclusion rules leave out (fixed exclusions, and
    /// the ignore files now under `root` unless `opts` says otherwise), so that a foreign
    /// baseline listing `.git/` or ignored files compares like one of ours.
    pub fn retain_included(&mut self, root: &Path, opts: &CaptureOptions) {
        let mut ignore = opts.respect_ignore.then(|| rules::IgnoreRules::new(root));
        self.entries.retain(|e| {
            !rules::fixed_excluded(&e.path)
                && ignore.as_mut().is_none_or(|r| !r.is_ignored(&e.path))
        });
    }

    /// The entry of `path`, if listed.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }
}

/// A workspace-relative, `/`-separated path that stays inside the workspace.
pub(crate) fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && !p.contains('\0')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}
