//! `last-session-summary.json`: the hand-off summary of the last session, with its end
//! manifest (the next session's baseline and hash cache).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::diff::{Diff, Rename};
use super::manifest::{Entry, Manifest};
use super::timefmt;
use crate::error::Result;
use crate::fsio;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The agent process exited.
    ChildExited,
    /// The tmux session ended.
    TmuxSessionEnded,
    /// The owner died; closed by the next begin.
    OwnerDied,
    /// The handle was dropped without an explicit end.
    Abandoned,
    /// The caller's block raised an exception.
    Exception,
}

/// How the end was noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectedVia {
    /// The child's exit was observed.
    ChildExit,
    /// tmux was polled.
    Polling,
    /// Crash recovery by a later begin.
    Recovery,
    /// A handle was dropped.
    Drop,
}

impl EndReason {
    /// The snake_case name used in files and log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::ChildExited => "child_exited",
            EndReason::TmuxSessionEnded => "tmux_session_ended",
            EndReason::OwnerDied => "owner_died",
            EndReason::Abandoned => "abandoned",
            EndReason::Exception => "exception",
        }
    }
}

impl DetectedVia {
    /// The snake_case name used in files and log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectedVia::ChildExit => "child_exit",
            DetectedVia::Polling => "polling",
            DetectedVia::Recovery => "recovery",
            DetectedVia::Drop => "drop",
        }
    }
}

/// What a summary carries as `end_manifest`: the entries, or nothing (brief reads).
pub trait ManifestField: Default {
    /// Whether the field is left out when serialising.
    fn omitted(&self) -> bool;

    /// Parses the body of an `end_manifest` written one entry per line (as [`write`] does);
    /// `None` when a line does not parse (the caller then falls back to a full parse).
    fn from_lines(body: &[u8]) -> Option<Self>;
}

impl ManifestField for Vec<Entry> {
    fn omitted(&self) -> bool {
        false
    }

    fn from_lines(body: &[u8]) -> Option<Self> {
        let lines: Vec<&[u8]> = body
            .split(|b| *b == b'\n')
            .map(|l| l.trim_ascii())
            .map(|l| l.strip_suffix(b",").unwrap_or(l))
            .filter(|l| !l.is_empty())
            .collect();
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        if workers < 2 || lines.len() < 4096 {
            return lines
                .iter()
                .map(|l| serde_json::from_slice(l).ok())
                .collect();
        }
        let chunk = lines.len().div_ceil(workers);
        let parts: Vec<Option<Vec<Entry>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = lines
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|l| serde_json::from_slice::<Entry>(l).ok())
                            .collect::<Option<Vec<Entry>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().ok().flatten())
                .collect()
        });
        let mut all = Vec::with_capacity(lines.len());
        for part in parts {
            all.extend(part?);
        }
        Some(all)
    }
}

/// Stands for an `end_manifest` that was skipped on read and is never written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omitted;

impl ManifestField for Omitted {
    fn omitted(&self) -> bool {
        true
    }

    fn from_lines(_body: &[u8]) -> Option<Self> {
        Some(Omitted)
    }
}

impl Serialize for Omitted {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Omitted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Omitted, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Omitted)
    }
}

/// A session's hand-off summary; `M` is the end manifest (see [`Summary`], [`SummaryBrief`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "M: Serialize", deserialize = "M: Deserialize<'de>"))]
pub struct SummaryOf<M: ManifestField> {
    /// The session's id.
    pub session_id: String,
    /// The owner's host.
    #[serde(default)]
    pub hostname: String,
    /// The launched command, `shell`, or the caller's label.
    #[serde(default)]
    pub agent: String,
    /// `direct` or `persistent`.
    #[serde(default)]
    pub mode: String,
    /// When the session began.
    #[serde(
        default,
        with = "timefmt::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended (for a dead owner: its last heartbeat).
    #[serde(
        default,
        with = "timefmt::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_at: Option<DateTime<Utc>>,
    /// Whole seconds between start and end.
    #[serde(default)]
    pub duration_seconds: i64,
    /// Paths added during the session.
    #[serde(default)]
    pub files_added: Vec<String>,
    /// Paths whose content changed.
    #[serde(default)]
    pub files_modified: Vec<String>,
    /// Paths deleted.
    #[serde(default)]
    pub files_deleted: Vec<String>,
    /// Whether `notes.md` was added or changed.
    #[serde(default)]
    pub notes_updated: bool,
    /// Why the session ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// How the end was noticed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_via: Option<DetectedVia>,
    /// `created` or `adopted` (persistent sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ownership: Option<String>,
    /// When an orphaned persistent session was adopted.
    #[serde(
        default,
        with = "timefmt::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub adopted_from_orphan_at: Option<DateTime<Utc>>,
    /// The agent's exit code (signal n → 128+n); absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Renamed paths.
    #[serde(default)]
    pub files_renamed: Vec<Rename>,
    /// What changed outside any session before this one began (absent: no baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_changes: Option<Diff>,
    /// Version of the ctask that wrote the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctask_version: Option<String>,
    /// The workspace's manifest at the end (a JSON array); left out above the bound
    /// `summary_manifest_max` (then [`end_manifest_omitted`](Self::end_manifest_omitted)).
    #[serde(default, skip_serializing_if = "ManifestField::omitted")]
    pub end_manifest: M,
    /// How many entries the end manifest has when it was left out for its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_manifest_omitted: Option<u64>,
    /// When the end manifest was captured (before its first stat).
    #[serde(
        default,
        with = "timefmt::opt_nanos",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_manifest_captured_at: Option<DateTime<Utc>>,
    /// With snapshots on: whether the store holds every content of the end manifest, so
    /// the next begin need not look for missing ones (docs/undo.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots_complete: Option<bool>,
}

/// A full summary, as written to `last-session-summary.json`.
pub type Summary = SummaryOf<Vec<Entry>>;
/// A summary read without its end manifest (cheap: for status and listings).
pub type SummaryBrief = SummaryOf<Omitted>;

impl<M: ManifestField> SummaryOf<M> {
    /// The same summary carrying `end_manifest` instead of its own.
    pub fn with_manifest<N: ManifestField>(self, end_manifest: N) -> SummaryOf<N> {
        SummaryOf {
            session_id: self.session_id,
            hostname: self.hostname,
            agent: self.agent,
            mode: self.mode,
            started_at: self.started_at,
            ended_at: self.ended_at,
            duration_seconds: self.duration_seconds,
            files_added: self.files_added,
            files_modified: self.files_modified,
            files_deleted: self.files_deleted,
            notes_updated: self.notes_updated,
            end_reason: self.end_reason,
            detected_via: self.detected_via,
            session_ownership: self.session_ownership,
            adopted_from_orphan_at: self.adopted_from_orphan_at,
            exit_code: self.exit_code,
            files_renamed: self.files_renamed,
            outside_changes: self.outside_changes,
            ctask_version: self.ctask_version,
            end_manifest,
            end_manifest_omitted: self.end_manifest_omitted,
            end_manifest_captured_at: self.end_manifest_captured_at,
            snapshots_complete: self.snapshots_complete,
        }
    }
}

impl Summary {
    /// The summary without its end manifest.
    pub fn brief(&self) -> SummaryBrief {
        SummaryBrief {
            session_id: self.session_id.clone(),
            hostname: self.hostname.clone(),
            agent: self.agent.clone(),
            mode: self.mode.clone(),
            started_at: self.started_at,
            ended_at: self.ended_at,
            duration_seconds: self.duration_seconds,
            files_added: self.files_added.clone(),
            files_modified: self.files_modified.clone(),
            files_deleted: self.files_deleted.clone(),
            notes_updated: self.notes_updated,
            end_reason: self.end_reason,
            detected_via: self.detected_via,
            session_ownership: self.session_ownership.clone(),
            adopted_from_orphan_at: self.adopted_from_orphan_at,
            exit_code: self.exit_code,
            files_renamed: self.files_renamed.clone(),
            outside_changes: self.outside_changes.clone(),
            ctask_version: self.ctask_version.clone(),
            end_manifest: Omitted,
            end_manifest_omitted: self.end_manifest_omitted,
            end_manifest_captured_at: self.end_manifest_captured_at,
            snapshots_complete: self.snapshots_complete,
        }
    }

    /// Moves the end manifest out as a [`Manifest`].
    pub fn take_end_manifest(&mut self) -> Manifest {
        Manifest {
            captured_at: self
                .end_manifest_captured_at
                .unwrap_or(DateTime::UNIX_EPOCH),
            entries: std::mem::take(&mut self.end_manifest),
        }
    }
}

/// The result of reading a summary file.
#[derive(Debug, Clone)]
pub enum SummaryFile<M: ManifestField> {
    /// No summary yet.
    Absent,
    /// A parseable summary.
    Present(Box<SummaryOf<M>>),
    /// The file exists but does not parse; the detail says why.
    Unreadable(String),
}

impl<M: ManifestField> SummaryFile<M> {
    /// The summary, if one was read.
    pub fn ok(self) -> Option<SummaryOf<M>> {
        match self {
            SummaryFile::Present(s) => Some(*s),
            _ => None,
        }
    }
}

/// The most of `last-session-summary.json` that is read (its end manifest included: about
/// 200 bytes an entry, so far above the default bound of 20 000 entries); a larger file is
/// unreadable, a warning naming it.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a summary file, with or without its end manifest (by `M`).
pub fn read<M>(path: &Path) -> Result<SummaryFile<M>>
where
    M: ManifestField + for<'de> Deserialize<'de>,
{
    let bytes = match fsio::read_optional_capped(path, MAX_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(SummaryFile::Absent),
        // Too large, or not a regular file: unreadable (a warning, no baseline).
        Err(crate::Error::BadFormat { detail, .. }) => return Ok(SummaryFile::Unreadable(detail)),
        Err(e) => return Err(e),
    };
    if let Some(s) = read_lines::<M>(&bytes).filter(|s| !s.session_id.is_empty()) {
        return Ok(SummaryFile::Present(Box::new(s)));
    }
    match serde_json::from_slice::<SummaryOf<M>>(&bytes) {
        Ok(s) if !s.session_id.is_empty() => Ok(SummaryFile::Present(Box::new(s))),
        Ok(_) => Ok(SummaryFile::Unreadable(
            "session_id is missing or empty".into(),
        )),
        Err(e) => Ok(SummaryFile::Unreadable(e.to_string())),
    }
}

/// The layout [`write`] produces: the keys, then `end_manifest` last, one entry per line.
const MANIFEST_KEY: &[u8] = b",\n  \"end_manifest\": [";
const MANIFEST_END: &[u8] = b"\n  ]\n}";

/// Fast read of a summary in [`write`]'s layout: the keys are parsed as a brief summary and
/// the end manifest's lines in parallel (or skipped for a brief read). `None` for any
/// other layout, which the caller parses in full.
fn read_lines<M: ManifestField>(bytes: &[u8]) -> Option<SummaryOf<M>> {
    let at = bytes
        .windows(MANIFEST_KEY.len())
        .position(|w| w == MANIFEST_KEY)?;
    let rest = &bytes[at + MANIFEST_KEY.len()..];
    let body = rest.trim_ascii_end().strip_suffix(MANIFEST_END)?;
    let mut head = bytes[..at].to_vec();
    head.extend_from_slice(b"\n}");
    let brief: SummaryBrief = serde_json::from_slice(&head).ok()?;
    Some(brief.with_manifest(M::from_lines(body)?))
}

/// Writes `summary` atomically to `path`, streamed: the summary's keys pretty-printed, then
/// `end_manifest` with one compact entry per line.
pub fn write(path: &Path, summary: &Summary) -> Result<()> {
    let (head, fill) = render(path, summary, usize::MAX)?;
    fsio::write_atomic_with(path, |w| fill(&head, w))
}

/// Writes `last-session-summary.json` through the `.ctask/` directory descriptor `dir`; an
/// end manifest of more than `manifest_max` entries is left out (`end_manifest_omitted`).
pub fn write_in(dir: &super::dirfd::Dir, summary: &Summary, manifest_max: usize) -> Result<()> {
    let name = super::paths::SUMMARY;
    let (head, fill) = render(&dir.join(name), summary, manifest_max)?;
    dir.write_atomic_with(name, |w| fill(&head, w))
}

/// The summary's keys before `end_manifest`, and a writer of the whole document.
#[allow(clippy::type_complexity)]
fn render<'a>(
    path: &Path,
    summary: &'a Summary,
    manifest_max: usize,
) -> Result<(
    Vec<u8>,
    impl Fn(&[u8], &mut dyn std::io::Write) -> std::io::Result<()> + 'a,
)> {
    let bad = |e: serde_json::Error| crate::Error::format(path, format!("cannot serialise: {e}"));
    let mut brief = summary.brief();
    let with_manifest = summary.end_manifest.len() <= manifest_max;
    if !with_manifest {
        brief.end_manifest_omitted = Some(summary.end_manifest.len() as u64);
    }
    let mut head = serde_json::to_vec_pretty(&brief).map_err(bad)?;
    // `{…\n}` → `{…` so the manifest can follow as the last key.
    while head
        .last()
        .is_some_and(|b| b.is_ascii_whitespace() || *b == b'}')
    {
        head.pop();
    }
    let fill = move |head: &[u8], w: &mut dyn std::io::Write| {
        w.write_all(head)?;
        if !with_manifest {
            return w.write_all(b"\n}\n");
        }
        w.write_all(b",\n  \"end_manifest\": [")?;
        for (i, e) in summary.end_manifest.iter().enumerate() {
            w.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            serde_json::to_writer(&mut *w, e)?;
        }
        w.write_all(b"\n  ]\n}\n")
    };
    Ok((head, fill))
}

/// Whether a diff touched `notes.md`.
pub fn notes_updated(d: &Diff) -> bool {
    let is_notes = |p: &String| p == "notes.md";
    d.added.iter().any(is_notes)
        || d.modified.iter().any(is_notes)
        || d.renamed.iter().any(|r| r.to == "notes.md")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::manifest::{Kind, Timestamp};

    fn summary(n: usize) -> Summary {
        let entries = (0..n)
            .map(|i| Entry {
                path: format!("dir{}/file \"{i}\".txt", i % 7),
                size: i as u64,
                mtime: Timestamp::from_unix(1_700_000_000 + i as i64, 123),
                sha256: Some([i as u8; 32]),
                kind: Kind::File,
                target: None,
                ino: Some(i as u64),
                ctime: Some(Timestamp::from_unix(1_700_000_000, 7)),
                mode: Some(0o644),
            })
            .collect();
        Summary {
            session_id: "h-1-20260101T000000Z-abcd".into(),
            hostname: "h".into(),
            agent: "a".into(),
            mode: "direct".into(),
            started_at: None,
            ended_at: None,
            duration_seconds: 3,
            files_added: vec!["x\ny".into()],
            files_modified: Vec::new(),
            files_deleted: Vec::new(),
            notes_updated: false,
            end_reason: Some(EndReason::ChildExited),
            detected_via: Some(DetectedVia::ChildExit),
            session_ownership: None,
            adopted_from_orphan_at: None,
            exit_code: Some(0),
            files_renamed: Vec::new(),
            outside_changes: None,
            ctask_version: None,
            end_manifest: entries,
            end_manifest_omitted: None,
            end_manifest_captured_at: None,
            snapshots_complete: None,
        }
    }

    #[test]
    fn written_summaries_read_back_by_the_fast_and_the_full_path() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.json");
        for n in [0, 3, 10_000] {
            let s = summary(n);
            write(&p, &s).unwrap();
            let bytes = std::fs::read(&p).unwrap();
            let fast = read_lines::<Vec<Entry>>(&bytes).expect("fast path");
            let full: Summary = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(fast, s);
            assert_eq!(full, s);
            let brief = read::<Omitted>(&p).unwrap().ok().unwrap();
            assert_eq!(brief, s.brief());
        }
    }

    #[test]
    fn other_layouts_fall_back_to_a_full_parse() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.json");
        let s = summary(5);
        std::fs::write(&p, serde_json::to_vec_pretty(&s).unwrap()).unwrap();
        assert!(read_lines::<Vec<Entry>>(&std::fs::read(&p).unwrap()).is_none());
        assert_eq!(read::<Vec<Entry>>(&p).unwrap().ok().unwrap(), s);
        std::fs::write(&p, serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(read::<Vec<Entry>>(&p).unwrap().ok().unwrap(), s);
    }

    #[test]
    fn a_broken_line_is_not_half_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.json");
        write(&p, &summary(3)).unwrap();
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replacen("{\"path\"", "{\"pa", 1);
        std::fs::write(&p, text).unwrap();
        assert!(matches!(
            read::<Vec<Entry>>(&p).unwrap(),
            SummaryFile::Unreadable(_)
        ));
    }
}
