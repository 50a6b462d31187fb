//! Everything the CLI says: data on stdout, messages on stderr prefixed `[ctask] `, and
//! the mapping from errors to exit codes. Colours (only on a terminal, never with
//! `NO_COLOR` unless `--color always`) and `--quiet` are decided once by [`configure`].

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ctask_core::Error;
use ctask_core::workspace::TASK_FILE;

use crate::{Ctx, EXIT_USAGE};

/// Prefix of every message on stderr.
pub const PREFIX: &str = "[ctask] ";

/// Exit code of an error: active session 3, lock timeout 4, agent not found 127, any
/// other 1 (usage errors, 2, come from argument parsing).
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::ActiveSession { .. } => 3,
        Error::LockTimeout { .. } => 4,
        Error::AgentNotFound { .. } => 127,
        _ => 1,
    }
}

static QUIET: AtomicBool = AtomicBool::new(false);
static COLOR_STDOUT: AtomicBool = AtomicBool::new(false);
static COLOR_STDERR: AtomicBool = AtomicBool::new(false);

/// When to colour output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set (or `TERM` is `dumb`).
    #[default]
    Auto,
    /// Always, even when not on a terminal and despite `NO_COLOR`.
    Always,
    /// Never.
    Never,
}

/// Decides colours for stdout and stderr and whether informational messages are shown.
/// Called once, after the arguments are parsed.
pub fn configure(color: ColorWhen, quiet: bool) {
    let env_allows = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
    let decide = |tty: bool| match color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => tty && env_allows,
    };
    COLOR_STDOUT.store(decide(io::stdout().is_terminal()), Ordering::Relaxed);
    COLOR_STDERR.store(decide(io::stderr().is_terminal()), Ordering::Relaxed);
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A text style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Bold (headings).
    Bold,
    /// Dim (secondary details).
    Dim,
    /// Red (errors, problems).
    Red,
    /// Yellow (warnings).
    Yellow,
    /// Green (good news, live sessions).
    Green,
    /// Cyan (hints).
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Green => "32",
            Style::Cyan => "36",
        }
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if on && !text.is_empty() {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_owned()
    }
}

/// `text` in `style` when stdout is coloured, else unchanged.
pub fn paint_out(style: Style, text: &str) -> String {
    paint(COLOR_STDOUT.load(Ordering::Relaxed), style, text)
}

/// `text` in `style` when stderr is coloured, else unchanged.
pub fn paint_err(style: Style, text: &str) -> String {
    paint(COLOR_STDERR.load(Ordering::Relaxed), style, text)
}

/// Whether `c` is a control character: C0 (tab, newline and carriage return included),
/// DEL or C1.
fn is_control(c: char) -> bool {
    c.is_control()
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = match c {
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:04x}}}", c as u32),
    };
}

/// A name (file, path, title, host, agent, message from a file…) made safe for a terminal:
/// every control character — C0 including `\n`, `\r` and `\t`, DEL, C1 — is shown as an
/// escape (`\n`, `\x1b`, `\u{009b}`), so a name can neither drive the terminal nor fake
/// a line of output. Everything else is unchanged. JSON output never goes through this.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path made safe for a terminal like [`safe`]; bytes that are not UTF-8 are shown as
/// `\xNN` instead of being lost.
pub fn safe_path(path: &Path) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for chunk in path.as_os_str().as_encoded_bytes().utf8_chunks() {
        out.push_str(&safe(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Multi-line text for stderr made safe: the line breaks stay, every other control
/// character is escaped as by [`safe`] — except, when stderr is coloured, the colour
/// sequences [`paint`] makes.
fn safe_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_control(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(seq) = own_colour(rest).filter(|_| COLOR_STDERR.load(Ordering::Relaxed)) {
            out.push_str(seq);
            rest = &rest[seq.len()..];
            continue;
        }
        if c != '\n' && is_control(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The colour sequence of [`paint`] that `text` starts with, if any.
fn own_colour(text: &str) -> Option<&str> {
    let body = text.strip_prefix("\x1b[")?;
    let end = body.find('m')?;
    let code = &body[..end];
    let ours = code == "0"
        || [
            Style::Bold,
            Style::Dim,
            Style::Red,
            Style::Yellow,
            Style::Green,
            Style::Cyan,
        ]
        .iter()
        .any(|s| s.code() == code);
    ours.then(|| &text[..2 + end + 1])
}

/// Writes lines to stderr with the prefix. Any control character left in the text (a name
/// inside an error, a warning from the core) is escaped here, so none reaches the terminal.
fn emit(text: &str) {
    let text = safe_lines(text);
    let mut err = io::stderr().lock();
    for line in text.lines() {
        let _ = writeln!(err, "{PREFIX}{line}");
    }
}

/// Writes an informational message (one or more lines) to stderr, each line prefixed;
/// nothing with `--quiet`.
pub fn message(text: &str) {
    if !is_quiet() {
        emit(text);
    }
}

/// Writes a hint (what to do next) to stderr, after an error (shown with `--quiet` too).
pub fn hint_line(text: &str) {
    emit(&format!("{} {text}", paint_err(Style::Cyan, "hint:")));
}

/// Writes a warning to stderr (shown with `--quiet` too).
pub fn warn(text: &str) {
    emit(&format!("{} {text}", paint_err(Style::Yellow, "warning:")));
}

/// Writes data to stdout (a final newline is added). A reader that went away is not an
/// error; any other write failure is.
pub fn data(text: &str) -> ctask_core::Result<()> {
    let mut out = io::stdout().lock();
    let r = writeln!(out, "{text}").and_then(|()| out.flush());
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("standard output", e)),
    }
}

/// Writes an error message to stderr (shown with `--quiet` too).
pub fn error(text: &str) {
    emit(&format!("{} {text}", paint_err(Style::Red, "error:")));
}

/// The message of `e` for a terminal: its usual text, with every name in it (paths, the
/// query, details read from files) made safe as by [`safe`] and [`safe_path`]. Only the
/// line breaks of the message itself (the candidates of an ambiguous query) remain.
pub fn describe(e: &Error) -> String {
    match e {
        Error::Ambiguous { query, candidates } => {
            let list: Vec<String> = candidates
                .iter()
                .map(|p| format!("  {}", safe_path(p)))
                .collect();
            format!(
                "{} is ambiguous; it matches:\n{}",
                safe(&format!("{query:?}")),
                list.join("\n")
            )
        }
        Error::LockTimeout { path } => format!("timed out waiting for {}", safe_path(path)),
        Error::PathSecurity { path, detail } => {
            format!("refusing unsafe path {}: {}", safe_path(path), safe(detail))
        }
        Error::BadFormat { path, detail } => format!("{}: {}", safe_path(path), safe(detail)),
        Error::Io { path, source } => {
            format!("{}: {}", safe_path(path), safe(&source.to_string()))
        }
        other => safe(&other.to_string()).into_owned(),
    }
}

/// Prints `e` with a hint where one helps, and returns its exit code.
pub fn report_error(ctx: &Ctx, e: &Error) -> i32 {
    error(&describe(e));
    if let Some(hint) = hint(ctx, e) {
        hint_line(&hint);
    }
    exit_code(e)
}

fn hint(ctx: &Ctx, e: &Error) -> Option<String> {
    let prog = &ctx.prog;
    match e {
        Error::NotFound { query } if !query.contains('/') => Some(format!(
            "`{prog} list --all` shows every workspace, archived ones included"
        )),
        Error::Ambiguous { .. } => Some("name one by its directory name or its path".to_string()),
        Error::AgentNotFound { .. } => {
            let config = ctx
                .settings()
                .ok()
                .and_then(|s| s.config_path)
                .map_or_else(|| "config.yaml".to_owned(), |p| safe_path(&p));
            let env = format!("{}=COMMAND", ctask_core::workspace::config::ENV_AGENT);
            Some(format!(
                "install it, or choose another agent:\n  \
                 {:<24}for this launch\n  \
                 {:<24}in {config}, for every workspace whose task.yaml names no agent\n  \
                 {env:<24}in the environment, the same",
                "-a COMMAND", "default_agent: COMMAND"
            ))
        }
        Error::BadFormat { path, .. }
            if path.file_name() == Some(std::ffi::OsStr::new(TASK_FILE)) =>
        {
            let dir = path
                .parent()
                .and_then(Path::file_name)
                .map(|n| safe(&n.to_string_lossy()).into_owned())
                .unwrap_or_default();
            Some(format!(
                "fix or replace {} (the workspace is listed as broken until then), or remove \
                 the workspace with `{prog} delete {dir}`",
                safe_path(path)
            ))
        }
        _ => None,
    }
}

/// Prints a clap parse outcome (help and version on stdout, errors on stderr with the
/// prefix) and returns its exit code (0 for help/version, 2 for usage errors).
pub fn clap_error(e: &clap::Error) -> i32 {
    let text = e.render().to_string();
    if e.use_stderr() {
        let mut err = io::stderr().lock();
        let is_help = e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
        for (i, line) in text.trim_end().lines().enumerate() {
            if i == 0 && !is_help {
                let _ = writeln!(err, "{PREFIX}{line}");
            } else {
                let _ = writeln!(err, "{line}");
            }
        }
        if e.exit_code() == 0 { 0 } else { EXIT_USAGE }
    } else {
        let mut out = io::stdout().lock();
        let _ = write!(out, "{text}");
        let _ = out.flush();
        0
    }
}

/// Asks a yes/no question on the terminal (stderr + stdin); anything but y/yes is no.
pub fn confirm(question: &str) -> bool {
    {
        let mut err = io::stderr().lock();
        let _ = write!(err, "{PREFIX}{question} [y/N] ");
        let _ = err.flush();
    }
    let mut answer = String::new();
    if io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(safe("plain name.txt"), "plain name.txt");
        assert_eq!(
            safe("x\x1b]52;c;e\x07\x1b[2Jy"),
            "x\\x1b]52;c;e\\x07\\x1b[2Jy"
        );
        assert_eq!(safe("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(safe("del\x7f c1\u{9b}"), "del\\x7f c1\\u{009b}");
        assert_eq!(safe("é 日本"), "é 日本");
        let p = Path::new(OsStr::from_bytes(b"caf\xe9\x1b.txt"));
        assert_eq!(safe_path(p), "caf\\xe9\\x1b.txt");
    }

    #[test]
    fn errors_read_as_usual_with_names_made_safe() {
        use std::path::PathBuf;
        let plain = PathBuf::from("/r/ws/task.yaml");
        let cases = [
            Error::Ambiguous {
                query: "fix".into(),
                candidates: vec![PathBuf::from("/r/a"), PathBuf::from("/r/b")],
            },
            Error::LockTimeout {
                path: plain.clone(),
            },
            Error::security(&plain, "is a symbolic link"),
            Error::format(&plain, "missing field `slug`"),
            Error::io(&plain, std::io::Error::from(std::io::ErrorKind::NotFound)),
            Error::invalid("empty workspace query"),
            Error::NotFound {
                query: "nope".into(),
            },
        ];
        for e in &cases {
            assert_eq!(describe(e), e.to_string());
        }
        let odd = Error::format(
            Path::new(OsStr::from_bytes(b"/r/a\nb\xe9/task.yaml")),
            "bad\x1b[2J",
        );
        assert_eq!(describe(&odd), "/r/a\\nb\\xe9/task.yaml: bad\\x1b[2J");
        let amb = Error::Ambiguous {
            query: "x\ny".into(),
            candidates: vec![PathBuf::from("/r/a\nb")],
        };
        assert_eq!(
            describe(&amb),
            "\"x\\ny\" is ambiguous; it matches:\n  /r/a\\nb"
        );
    }

    #[test]
    fn stderr_text_keeps_line_breaks_only() {
        assert_eq!(safe_lines("a\nb\x1b[2J"), "a\nb\\x1b[2J");
        // Without colour on stderr even our own sequences are escaped.
        assert_eq!(safe_lines("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
    }
}
