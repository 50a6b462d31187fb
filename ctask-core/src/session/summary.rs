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
}

impl ManifestField for Vec<Entry> {
    fn omitted(&self) -> bool {
        false
    }
}

/// Stands for an `end_manifest` that was skipped on read and is never written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omitted;

impl ManifestField for Omitted {
    fn omitted(&self) -> bool {
        true
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
    /// The workspace's manifest at the end (a JSON array).
    #[serde(default, skip_serializing_if = "ManifestField::omitted")]
    pub end_manifest: M,
    /// When the end manifest was captured (before its first stat).
    #[serde(
        default,
        with = "timefmt::opt_nanos",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_manifest_captured_at: Option<DateTime<Utc>>,
}

/// A full summary, as written to `last-session-summary.json`.
pub type Summary = SummaryOf<Vec<Entry>>;
/// A summary read without its end manifest (cheap: for status and listings).
pub type SummaryBrief = SummaryOf<Omitted>;

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
            end_manifest_captured_at: self.end_manifest_captured_at,
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

/// Reads a summary file, with or without its end manifest (by `M`).
pub fn read<M>(path: &Path) -> Result<SummaryFile<M>>
where
    M: ManifestField + for<'de> Deserialize<'de>,
{
    let Some(bytes) = fsio::read_optional(path)? else {
        return Ok(SummaryFile::Absent);
    };
    match serde_json::from_slice::<SummaryOf<M>>(&bytes) {
        Ok(s) if !s.session_id.is_empty() => Ok(SummaryFile::Present(Box::new(s))),
        Ok(_) => Ok(SummaryFile::Unreadable(
            "session_id is missing or empty".into(),
        )),
        Err(e) => Ok(SummaryFile::Unreadable(e.to_string())),
    }
}

/// Writes `summary` atomically to `path`, streamed: the summary's keys pretty-printed, then
/// `end_manifest` with one compact entry per line.
pub fn write(path: &Path, summary: &Summary) -> Result<()> {
    let bad = |e: serde_json::Error| crate::Error::format(path, format!("cannot serialise: {e}"));
    let mut head = serde_json::to_vec_pretty(&summary.brief()).map_err(bad)?;
    // `{…\n}` → `{…` so the manifest can follow as the last key.
    while head
        .last()
        .is_some_and(|b| b.is_ascii_whitespace() || *b == b'}')
    {
        head.pop();
    }
    fsio::write_atomic_with(path, |w| {
        w.write_all(&head)?;
        w.write_all(b",\n  \"end_manifest\": [")?;
        for (i, e) in summary.end_manifest.iter().enumerate() {
            w.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            serde_json::to_writer(&mut *w, e)?;
        }
        w.write_all(b"\n  ]\n}\n")
    })
}

/// Whether a diff touched `notes.md`.
pub fn notes_updated(d: &Diff) -> bool {
    let is_notes = |p: &String| p == "notes.md";
    d.added.iter().any(is_notes)
        || d.modified.iter().any(is_notes)
        || d.renamed.iter().any(|r| r.to == "notes.md")
}
