//! `logs/sessions.log`: one line per event, `<RFC 3339 UTC> <event> key=value…`, appended
//! with one `write(2)` through descriptors that never follow a symlink.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::dirfd::{self, Dir};
use super::{crashpoint, timefmt};
use crate::error::{Error, Result};

/// The log's directory, relative to the workspace.
pub const LOG_DIR: &str = "logs";
/// The log's file name inside [`LOG_DIR`].
pub const LOG_FILE: &str = "sessions.log";

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// Timestamp as written.
    pub ts: String,
    /// `start`, `end`, `adopt`, `lease-removed`, …
    pub event: String,
    /// Key/value pairs in their written order (a JSON object).
    #[serde(serialize_with = "ordered_map")]
    pub fields: Vec<(String, String)>,
}

fn ordered_map<S: serde::Serializer>(fields: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

impl LogEntry {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Formats one line (with its newline) for `event` at `ts`.
pub fn format_line(ts: DateTime<Utc>, event: &str, fields: &[(&str, String)]) -> String {
    let mut line = format!("{} {}", timefmt::format(&ts), event);
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&quote(v));
    }
    line.push('\n');
    line
}

fn is_bare(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/@+-".contains(&b))
}

/// A value as written: bare when it matches `[A-Za-z0-9._:/@+-]+`, else double-quoted.
pub fn quote(v: &str) -> String {
    if is_bare(v) {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses one line; `None` for a line that does not follow the grammar.
pub fn parse_line(line: &str) -> Option<LogEntry> {
    let line = line.trim_end_matches(['\n', '\r']);
    let (ts, rest) = line.split_once(' ')?;
    timefmt::parse(ts)?;
    let (event, mut rest) = match rest.split_once(' ') {
        Some((e, r)) => (e, r),
        None => (rest, ""),
    };
    if event.is_empty() {
        return None;
    }
    let mut fields = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest.split_once('=')?;
        if key.is_empty() || key.contains(' ') {
            return None;
        }
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            unquote(quoted)?
        } else {
            match after.split_once(' ') {
                Some((v, r)) => (v.to_owned(), r),
                None => (after.to_owned(), ""),
            }
        };
        fields.push((key.to_owned(), value));
        rest = remaining;
    }
    Some(LogEntry {
        ts: ts.to_owned(),
        event: event.to_owned(),
        fields,
    })
}

/// Parses one line given as bytes (invalid UTF-8 replaced); `None` for a line that does
/// not follow the grammar. Any event name is accepted, known or not.
pub fn parse_bytes(line: &[u8]) -> Option<LogEntry> {
    parse_line(&String::from_utf8_lossy(line))
}

/// Reads a quoted value (after its opening quote); returns it and what follows.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The log file of workspace `ws`.
pub fn log_path(ws: &Path) -> PathBuf {
    ws.join(LOG_DIR).join(LOG_FILE)
}

/// Opens `logs/` of workspace `ws` without following a symlink (created when missing and
/// `create` is set); `Ok(None)` when it is missing.
pub fn open_dir(ws: &Path, create: bool) -> Result<Option<Dir>> {
    let dir = ws.join(LOG_DIR);
    match Dir::open(&dir) {
        Ok(d) => return Ok(Some(d)),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if !create {
        return Ok(None);
    }
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(&dir, e)),
    }
    Dir::open(&dir).map(Some)
}

/// Opens `sessions.log` inside the open `logs/` directory without following a link.
fn open_in(dir: &Dir, write: bool) -> Result<Option<File>> {
    let flags = if write {
        libc::O_RDWR | libc::O_APPEND | libc::O_CREAT
    } else {
        libc::O_RDONLY
    } | libc::O_NONBLOCK;
    let path = dir.join(LOG_FILE);
    let file = match dir.open_file(LOG_FILE, flags, 0o644) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !write => return Ok(None),
        Err(e) => return Err(dirfd::nofollow_error(&path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
    if !meta.is_file() {
        return Err(Error::security(&path, "is not a regular file"));
    }
    Ok(Some(file))
}

/// Opens `logs/` (created when missing) and `sessions.log` in it without following links.
fn open_log(ws: &Path, write: bool) -> Result<Option<File>> {
    match open_dir(ws, write)? {
        Some(dir) => open_in(&dir, write),
        None => Ok(None),
    }
}

/// Opens the log of workspace `ws` for reading without following a symlink at `logs/` or
/// `sessions.log`; `Ok(None)` when it is missing, a path-security error when either is a
/// link or the log is not a regular file.
pub fn open_read(ws: &Path) -> Result<Option<File>> {
    open_log(ws, false)
}

/// Appends one event line to the log of workspace `ws` with a single `write(2)`, first
/// repairing a missing trailing newline left by an interrupted append.
pub fn append(ws: &Path, ts: DateTime<Utc>, event: &str, fields: &[(&str, String)]) -> Result<()> {
    append_text(ws, format_line(ts, event, fields)).map_err(AppendError::into_error)
}

/// Why an append failed, and whether its line may nevertheless be in the log.
#[derive(Debug)]
pub struct AppendError {
    /// The error.
    pub error: Error,
    /// The line was written (whole or in part) before the failure, e.g. its `fsync` failed:
    /// readers may see it.
    pub maybe_written: bool,
}

impl AppendError {
    /// The error alone.
    pub fn into_error(self) -> Error {
        self.error
    }
}

/// One event for [`append_all`]: timestamp, event name, fields.
pub type Event<'a> = (DateTime<Utc>, &'a str, &'a [(&'a str, String)]);

/// Appends several event lines with a single `write(2)`: a kill leaves all or none of
/// them (a coexisting session's `start`/`end` pair must never be torn apart).
pub fn append_all(ws: &Path, lines: &[Event<'_>]) -> Result<()> {
    let text = lines
        .iter()
        .map(|(ts, event, fields)| format_line(*ts, event, fields))
        .collect();
    append_text(ws, text).map_err(AppendError::into_error)
}

/// Like [`append_in`], telling a failure before the write from one after it.
pub fn append_checked_in(
    dir: &Dir,
    ts: DateTime<Utc>,
    event: &str,
    fields: &[(&str, String)],
) -> std::result::Result<(), AppendError> {
    let path = dir.join(LOG_FILE);
    let file = open_in(dir, true)
        .and_then(|f| f.ok_or_else(|| Error::io(&path, io::ErrorKind::NotFound.into())))
        .map_err(|error| AppendError {
            error,
            maybe_written: false,
        })?;
    append_to(&file, &path, format_line(ts, event, fields))
}

/// Appends one event line through the open `logs/` directory `dir` (see [`append`]).
pub fn append_in(
    dir: &Dir,
    ts: DateTime<Utc>,
    event: &str,
    fields: &[(&str, String)],
) -> Result<()> {
    let file = open_in(dir, true)?
        .ok_or_else(|| Error::io(dir.join(LOG_FILE), io::ErrorKind::NotFound.into()))?;
    append_to(&file, &dir.join(LOG_FILE), format_line(ts, event, fields))
        .map_err(AppendError::into_error)
}

/// Appends several event lines at once through the open `logs/` directory `dir` (see
/// [`append_all`]).
pub fn append_all_in(dir: &Dir, lines: &[Event<'_>]) -> Result<()> {
    let text = lines
        .iter()
        .map(|(ts, event, fields)| format_line(*ts, event, fields))
        .collect();
    let file = open_in(dir, true)?
        .ok_or_else(|| Error::io(dir.join(LOG_FILE), io::ErrorKind::NotFound.into()))?;
    append_to(&file, &dir.join(LOG_FILE), text).map_err(AppendError::into_error)
}

fn append_text(ws: &Path, line: String) -> std::result::Result<(), AppendError> {
    let before = |error| AppendError {
        error,
        maybe_written: false,
    };
    let path = log_path(ws);
    let file = open_log(ws, true)
        .map_err(before)?
        .ok_or_else(|| before(Error::io(&path, io::ErrorKind::NotFound.into())))?;
    append_to(&file, &path, line)
}

fn append_to(file: &File, path: &Path, line: String) -> std::result::Result<(), AppendError> {
    let path = path.to_path_buf();
    let fault = crashpoint::fail(&format!("log.sync.{}", event_of(&line)));
    write_line(file, &path, line).map_err(|(error, maybe_written)| AppendError {
        error,
        maybe_written,
    })?;
    let synced = if fault {
        Err(io::Error::other("injected fsync failure"))
    } else {
        file.sync_data()
    };
    synced.map_err(|e| AppendError {
        error: Error::io(&path, e),
        maybe_written: true,
    })
}

/// The event of a formatted line (its second word).
fn event_of(line: &str) -> &str {
    line.split(' ').nth(1).unwrap_or("")
}

/// Writes `line` at the end of the open log with one `write(2)`, first repairing a missing
/// trailing newline. The flag of an error says whether some of it may have been written.
fn write_line(
    file: &File,
    path: &Path,
    mut line: String,
) -> std::result::Result<(), (Error, bool)> {
    let len = file
        .metadata()
        .map_err(|e| (Error::io(path, e), false))?
        .len();
    if len > 0 {
        let mut last = [0u8; 1];
        let n = std::os::unix::fs::FileExt::read_at(file, &mut last, len - 1).unwrap_or(0);
        if n == 1 && last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    let bytes = line.as_bytes();
    // One write(2); O_APPEND makes it land at the end.
    let n = match std::io::Write::write(&mut &*file, bytes) {
        Ok(n) => n,
        Err(e) => return Err((Error::io(path, e), false)),
    };
    if n != bytes.len() {
        let e = io::Error::new(io::ErrorKind::WriteZero, "short write to the session log");
        return Err((Error::io(path, e), n > 0));
    }
    Ok(())
}

/// The log's text, read without following symlinks (a missing log is empty).
pub fn read_text(ws: &Path) -> Result<String> {
    let path = log_path(ws);
    let Some(mut file) = open_log(ws, false)? else {
        return Ok(String::new());
    };
    let mut text = Vec::new();
    file.read_to_end(&mut text)
        .map_err(|e| Error::io(&path, e))?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Reads and parses every well-formed line of the log (a missing log is empty).
pub fn read(ws: &Path) -> Result<Vec<LogEntry>> {
    Ok(read_text(ws)?.lines().filter_map(parse_line).collect())
}

/// Size of the chunks [`scan_back`] reads.
const CHUNK: usize = 64 * 1024;
/// A line longer than this is skipped by [`scan_back`] (no event line comes near it).
pub const MAX_LINE: usize = 1024 * 1024;

/// Calls `f` with every well-formed line of the log, last line first, reading the file
/// from its end in chunks: memory stays bounded by [`MAX_LINE`] whatever the log's size,
/// and `f` stops the scan by returning `false`. A missing log has no lines.
pub fn scan_back(ws: &Path, mut f: impl FnMut(&LogEntry) -> bool) -> Result<()> {
    let path = log_path(ws);
    let Some(file) = open_log(ws, false)? else {
        return Ok(());
    };
    let mut pos = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    // Bytes of the line being assembled (its tail, read first), reversed chunk by chunk.
    let mut pending: Vec<u8> = Vec::new();
    let mut overlong = false;
    let mut buf = vec![0u8; CHUNK];
    let emit = |line: &[u8], f: &mut dyn FnMut(&LogEntry) -> bool| -> bool {
        match std::str::from_utf8(line).ok().and_then(parse_line) {
            Some(e) => f(&e),
            None => true,
        }
    };
    while pos > 0 {
        let n = (pos as usize).min(CHUNK);
        pos -= n as u64;
        read_exact_at(&file, &mut buf[..n], pos).map_err(|e| Error::io(&path, e))?;
        let chunk = &buf[..n];
        let mut end = n;
        while let Some(i) = chunk[..end].iter().rposition(|&b| b == b'\n') {
            let piece = &chunk[i + 1..end];
            if !overlong && pending.len() + piece.len() <= MAX_LINE {
                let mut line = piece.to_vec();
                line.extend_from_slice(&pending);
                if !line.is_empty() && !emit(&line, &mut f) {
                    return Ok(());
                }
            }
            pending.clear();
            overlong = false;
            end = i;
        }
        let head = &chunk[..end];
        if overlong || pending.len() + head.len() > MAX_LINE {
            pending.clear();
            overlong = true;
        } else {
            let mut p = head.to_vec();
            p.extend_from_slice(&pending);
            pending = p;
        }
    }
    if !overlong && !pending.is_empty() {
        emit(&pending, &mut f);
    }
    Ok(())
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut off: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    while !buf.is_empty() {
        match file.read_at(buf, off) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether the log has a `start` and an `end` line of session `id`, read from the log's
/// end (see [`scan_back`]). Lines dated more than a day before `since` (the session's
/// start) end the search: its lines cannot be older than it.
pub fn lines_of(ws: &Path, id: &str, since: Option<DateTime<Utc>>) -> Result<(bool, bool)> {
    let floor = since.map(|t| t - chrono::Duration::days(1));
    let (mut start, mut end) = (false, false);
    scan_back(ws, |e| {
        if e.get("id") == Some(id) {
            match e.event.as_str() {
                "start" => start = true,
                "end" => end = true,
                _ => {}
            }
        }
        let older = floor.is_some_and(|f| timefmt::parse(&e.ts).is_some_and(|t| t < f));
        let done = start && end;
        !(done || older)
    })?;
    Ok((start, end))
}

/// Whether the log has a line of `event` with `id=<id>`.
pub fn has_event(entries: &[LogEntry], event: &str, id: &str) -> bool {
    entries
        .iter()
        .any(|e| e.event == event && e.get("id") == Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        let ts = timefmt::parse("2026-11-24T10:02:11Z").unwrap();
        let line = format_line(
            ts,
            "end",
            &[
                ("id", "h-1-x".into()),
                ("agent", "my agent \"q\"\nx\\".into()),
                ("exit", "0".into()),
            ],
        );
        assert_eq!(
            line,
            "2026-11-24T10:02:11Z end id=h-1-x agent=\"my agent \\\"q\\\"\\nx\\\\\" exit=0\n"
        );
        let e = parse_line(&line).unwrap();
        assert_eq!(e.event, "end");
        assert_eq!(e.get("agent"), Some("my agent \"q\"\nx\\"));
        assert_eq!(e.get("exit"), Some("0"));
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn scan_back_reads_every_line_from_the_end_across_chunks() {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path();
        let ts = timefmt::now_secs();
        // Lines that straddle chunk boundaries, one over-long line, a torn last line.
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format_line(ts, "start", &[("id", format!("s{i}"))]));
            if i == 1500 {
                text.push_str(&"x".repeat(MAX_LINE + 10));
                text.push('\n');
            }
        }
        text.push_str("2026-01-01T00:00:00Z end id=torn");
        std::fs::create_dir(ws.join("logs")).unwrap();
        std::fs::write(log_path(ws), &text).unwrap();
        let mut ids = Vec::new();
        scan_back(ws, |e| {
            ids.push(e.get("id").unwrap_or("").to_owned());
            true
        })
        .unwrap();
        let mut expected: Vec<String> = (0..3000).map(|i| format!("s{i}")).collect();
        expected.push("torn".into());
        expected.reverse();
        assert_eq!(ids, expected);
        assert_eq!(lines_of(ws, "s0", None).unwrap(), (true, false));
        assert_eq!(lines_of(ws, "nope", Some(ts)).unwrap(), (false, false));
    }

    #[test]
    fn append_all_writes_every_line_at_once() {
        let d = tempfile::tempdir().unwrap();
        let ts = timefmt::now_secs();
        let start = [("id", "c".to_owned()), ("role", "coexist".to_owned())];
        let end = [("id", "c".to_owned()), ("exit", "0".to_owned())];
        append_all(d.path(), &[(ts, "start", &start), (ts, "end", &end)]).unwrap();
        let entries = read(d.path()).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(has_event(&entries, "start", "c") && has_event(&entries, "end", "c"));
    }

    #[test]
    fn append_repairs_missing_newline_and_refuses_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path();
        std::fs::create_dir(ws.join("logs")).unwrap();
        std::fs::write(log_path(ws), "2026-01-01T00:00:00Z start id=a agent=x").unwrap();
        append(ws, timefmt::now_secs(), "end", &[("id", "a".into())]).unwrap();
        let entries = read(ws).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(has_event(&entries, "end", "a"));

        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("victim"), "x").unwrap();
        std::fs::remove_file(log_path(ws)).unwrap();
        std::os::unix::fs::symlink(other.path().join("victim"), log_path(ws)).unwrap();
        let err = append(ws, timefmt::now_secs(), "end", &[]).unwrap_err();
        assert!(matches!(err, Error::PathSecurity { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(other.path().join("victim")).unwrap(),
            "x"
        );
    }
}
