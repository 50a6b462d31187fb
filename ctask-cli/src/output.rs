//! Everything the CLI says: data on stdout, messages on stderr prefixed `[ctask] `, and
//! the mapping from errors to exit codes.

use std::io::{self, Write};

use ctask_core::Error;

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

/// Writes a message (one or more lines) to stderr, each line prefixed.
pub fn message(text: &str) {
    let mut err = io::stderr().lock();
    for line in text.lines() {
        let _ = writeln!(err, "{PREFIX}{line}");
    }
}

/// Writes a warning to stderr.
pub fn warn(text: &str) {
    message(&format!("warning: {text}"));
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

/// Prints `e` with a hint where one helps, and returns its exit code.
pub fn report_error(ctx: &Ctx, e: &Error) -> i32 {
    message(&format!("error: {e}"));
    if let Some(hint) = hint(ctx, e) {
        message(&format!("hint: {hint}"));
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
        Error::AgentNotFound { .. } => Some(format!(
            "install it, or choose another agent with `{prog} new -a COMMAND`"
        )),
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
