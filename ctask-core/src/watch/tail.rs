//! Following one workspace's `logs/sessions.log`: new bytes only, whole lines only.

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::session::log::{self, LogEntry};
use crate::timefmt;

/// A line longer than this is skipped: no event line comes near it, and a watcher over many
/// workspaces must not hold megabytes per log.
pub const MAX_LINE: usize = 64 * 1024;
/// At most this many bytes are read from one log per call, so a burst is delivered in
/// pieces and memory stays bounded.
pub const READ_BUDGET: usize = 64 * 1024;

/// Where the reader stands in one log.
#[derive(Debug, Default)]
pub struct Tail {
    /// Device and inode of the file read so far (a new pair means the log was replaced).
    id: Option<(u64, u64)>,
    /// Bytes consumed.
    offset: u64,
    /// The start of a line whose newline has not been written yet.
    partial: Vec<u8>,
    /// The current line is over [`MAX_LINE`] (or began before the watch): skip to its end.
    skipping: bool,
    /// Lines dated before this are not delivered.
    since: Option<DateTime<Utc>>,
    /// Inode, size and mtime of the log when it was last read to its end: while they stay
    /// the same, one `lstat` tells that nothing was appended (polling stays cheap).
    seen: Option<(u64, u64, i64, i64)>,
}

fn stamp(ws: &Path) -> Option<(u64, u64, i64, i64)> {
    let m = std::fs::symlink_metadata(log::log_path(ws)).ok()?;
    Some((m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

impl Tail {
    /// A tail that starts at the log's current end (or, with `since`, at its start,
    /// delivering the lines dated at or after it).
    pub fn at_end(ws: &Path, since: Option<DateTime<Utc>>) -> Tail {
        let mut t = Tail {
            since,
            ..Tail::default()
        };
        if since.is_some() {
            return t;
        }
        if let Ok(Some(file)) = log::open_read(ws)
            && let Ok(meta) = file.metadata()
        {
            t.id = Some((meta.dev(), meta.ino()));
            t.offset = meta.len();
            let mut last = [0u8; 1];
            if meta.len() > 0 && file.read_at(&mut last, meta.len() - 1).ok() == Some(1) {
                t.skipping = last[0] != b'\n';
            }
        }
        t
    }

    /// A tail that reads the whole log (a workspace that appeared after the watch began).
    pub fn from_start() -> Tail {
        Tail::default()
    }

    /// Reads what was appended since the last call (at most [`READ_BUDGET`] bytes) and
    /// pushes its complete lines to `out`; returns whether more is waiting. A missing log,
    /// or one reached through a symlink, yields nothing; a truncated or replaced log is
    /// read again from its start.
    pub fn read_new(&mut self, ws: &Path, out: &mut Vec<LogEntry>) -> bool {
        let before = stamp(ws);
        if before.is_some() && before == self.seen {
            return false;
        }
        self.seen = None;
        let Ok(Some(file)) = log::open_read(ws) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        let id = (meta.dev(), meta.ino());
        if self.id != Some(id) || meta.len() < self.offset {
            // First sight, a replaced file, or a truncated one: its lines are all new.
            if self.id.is_some() {
                self.skipping = false;
            }
            self.id = Some(id);
            self.offset = 0;
            self.partial.clear();
        }
        let want = (meta.len() - self.offset).min(READ_BUDGET as u64) as usize;
        if want == 0 {
            self.seen = before;
            return false;
        }
        let mut buf = vec![0u8; want];
        let n = match file.read_at(&mut buf, self.offset) {
            Ok(n) => n,
            Err(_) => return false,
        };
        self.offset += n as u64;
        self.take(&buf[..n], out);
        let more = self.offset < meta.len();
        if !more {
            self.seen = before;
        }
        more
    }

    /// Splits `bytes` into lines, keeping an unfinished one for later.
    fn take(&mut self, mut bytes: &[u8], out: &mut Vec<LogEntry>) {
        while let Some(i) = bytes.iter().position(|&b| b == b'\n') {
            let piece = &bytes[..i];
            if !self.skipping && self.partial.len() + piece.len() <= MAX_LINE {
                self.partial.extend_from_slice(piece);
                self.emit(out);
            }
            self.partial.clear();
            self.skipping = false;
            bytes = &bytes[i + 1..];
        }
        if self.skipping || self.partial.len() + bytes.len() > MAX_LINE {
            self.partial.clear();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn emit(&self, out: &mut Vec<LogEntry>) {
        let Some(entry) = log::parse_bytes(&self.partial) else {
            return;
        };
        if let Some(since) = self.since
            && timefmt::parse(&entry.ts).is_none_or(|t| t < since)
        {
            return;
        }
        out.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(out: &[LogEntry]) -> Vec<&str> {
        out.iter().map(|e| e.get("id").unwrap_or("")).collect()
    }

    #[test]
    fn reads_whole_lines_and_survives_truncation_replacement_and_long_lines() {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path();
        std::fs::create_dir(ws.join("logs")).unwrap();
        let path = log::log_path(ws);
        std::fs::write(
            &path,
            "2026-01-01T00:00:00Z start id=old\n2026-01-01T00:00:01Z end id=to",
        )
        .unwrap();
        let mut t = Tail::at_end(ws, None);
        let mut out = Vec::new();
        // The torn line that was there at start is not delivered, even once finished.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, b"rn\n2026-01-01T00:00:02Z start id=a agent=x").unwrap();
        assert!(!t.read_new(ws, &mut out));
        assert!(out.is_empty(), "a partial line is held back: {out:?}");
        let long = format!(
            "2026-01-01T00:00:03Z start id={}\n",
            "y".repeat(MAX_LINE * 2)
        );
        std::io::Write::write_all(
            &mut f,
            format!("\n{long}2026-01-01T00:00:04Z state id=b state=\"wai\\nting\u{1b}\" x=1\n")
                .as_bytes(),
        )
        .unwrap();
        while t.read_new(ws, &mut out) {}
        assert_eq!(ids(&out), ["a", "b"]);
        assert_eq!(out[1].event, "state");
        assert_eq!(out[1].get("state"), Some("wai\nting\u{1b}"));
        // Truncated, then replaced by another file: both read from their start.
        out.clear();
        std::fs::write(&path, "2026-01-01T00:00:05Z end id=c\n").unwrap();
        t.read_new(ws, &mut out);
        let tmp = ws.join("logs/new");
        std::fs::write(
            &tmp,
            "2026-01-01T00:00:06Z end id=d\n2026-01-01T00:00:07Z end id=e\n",
        )
        .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        t.read_new(ws, &mut out);
        assert_eq!(ids(&out), ["c", "d", "e"]);
    }

    #[test]
    fn since_replays_lines_at_or_after_it_and_symlinked_logs_are_not_read() {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path();
        std::fs::create_dir(ws.join("logs")).unwrap();
        let text = "2026-01-01T00:00:00Z start id=a\n2026-01-01T00:00:05Z end id=a\n2026-01-01T00:00:09Z start id=b\n";
        std::fs::write(log::log_path(ws), text).unwrap();
        let mut t = Tail::at_end(ws, timefmt::parse("2026-01-01T00:00:05Z"));
        let mut out = Vec::new();
        t.read_new(ws, &mut out);
        assert_eq!(ids(&out), ["a", "b"]);
        assert_eq!(out[0].event, "end");

        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("victim"), text).unwrap();
        std::fs::remove_file(log::log_path(ws)).unwrap();
        std::os::unix::fs::symlink(other.path().join("victim"), log::log_path(ws)).unwrap();
        let mut t = Tail::from_start();
        out.clear();
        assert!(!t.read_new(ws, &mut out));
        assert!(out.is_empty());
    }
}
