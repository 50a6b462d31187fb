//! What a [`Watcher`](super::Watcher) delivers: a log line of a workspace, or a change of
//! the workspace itself.

use std::path::{Path, PathBuf};

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::session::log::LogEntry;

/// A change of a workspace that no log line records; the watcher synthesises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A workspace directory appeared under a root after the watch began.
    Created,
    /// Its `task.yaml` turned to `status: archived`.
    Archived,
    /// Its `task.yaml` turned from archived back to active.
    Restored,
    /// The directory (or its `task.yaml`) disappeared.
    Deleted,
}

impl Change {
    /// The event name: `created`, `archived`, `restored` or `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Archived => "archived",
            Change::Restored => "restored",
            Change::Deleted => "deleted",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A line of the workspace's `logs/sessions.log` (any event name, known or not).
    Log(LogEntry),
    /// A synthesised change, seen at `at` (RFC 3339 UTC).
    Change {
        /// Which change.
        change: Change,
        /// When the watcher saw it.
        at: String,
    },
}

/// One event of one workspace. As JSON: a log line is `{ts, event, fields, workspace,
/// slug}` (the shape of `log --json` plus two keys), a change `{event, at, workspace, slug}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Absolute path of the workspace.
    pub workspace: PathBuf,
    /// Its slug (from `task.yaml`, else from the directory name).
    pub slug: String,
    /// The log line or change.
    pub body: Body,
}

impl Event {
    /// The event name (`start`, `end`, `state`, …, `created`, `deleted`).
    pub fn name(&self) -> &str {
        match &self.body {
            Body::Log(e) => &e.event,
            Body::Change { change, .. } => change.as_str(),
        }
    }

    /// The workspace path.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The timestamp: the line's own, or when a change was seen.
    pub fn time(&self) -> &str {
        match &self.body {
            Body::Log(e) => &e.ts,
            Body::Change { at, .. } => at,
        }
    }

    /// The log line's fields in written order (none for a change).
    pub fn fields(&self) -> &[(String, String)] {
        match &self.body {
            Body::Log(e) => &e.fields,
            Body::Change { .. } => &[],
        }
    }

    /// The event as one line of JSON (no newline).
    pub fn to_json(&self) -> String {
        // Serialising plain strings and maps of strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

struct Fields<'a>(&'a [(String, String)]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.body {
            Body::Log(e) => {
                m.serialize_entry("ts", &e.ts)?;
                m.serialize_entry("event", &e.event)?;
                m.serialize_entry("fields", &Fields(&e.fields))?;
            }
            Body::Change { change, at } => {
                m.serialize_entry("event", change.as_str())?;
                m.serialize_entry("at", at)?;
            }
        }
        m.serialize_entry("workspace", &self.workspace.to_string_lossy())?;
        m.serialize_entry("slug", &self.slug)?;
        m.end()
    }
}
