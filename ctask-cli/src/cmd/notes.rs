//! `ctask notes`: print a workspace's `notes.md`, or open it in the user's editor.
//!
//! Printing never reads standard input: agents read other workspaces' notes this way.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use ctask_core::Error;
use ctask_core::workspace::{ResolveOptions, resolve};

use crate::{Ctx, output};

/// File name of a workspace's notes.
pub const NOTES_FILE: &str = "notes.md";

/// Arguments of `ctask notes`.
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// Directory name, slug, part of a slug, or a path (archived ones included).
    pub query: String,
    /// Open notes.md in $VISUAL (else $EDITOR) instead of printing it; needs a terminal.
    #[arg(short, long)]
    pub edit: bool,
}

/// Runs `ctask notes`.
pub fn run(ctx: &Ctx, args: NotesArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let ws = resolve(
        &settings,
        &args.query,
        ResolveOptions {
            include_archived: true,
        },
    )?;
    let path = notes_path(&ws.dir)?;
    if args.edit {
        return edit(&path);
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let mut out = io::stdout().lock();
    match out.write_all(&bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::io("standard output", e)),
    }
}

/// `notes.md` of workspace `dir`; refused when it is a symbolic link leading outside it.
fn notes_path(dir: &Path) -> ctask_core::Result<PathBuf> {
    let path = dir.join(NOTES_FILE);
    if let Ok(real) = path.canonicalize()
        && !real.starts_with(dir)
    {
        return Err(Error::security(
            &path,
            format!("leads outside the workspace (to {})", real.display()),
        ));
    }
    Ok(path)
}

/// The editor command: `$VISUAL`, else `$EDITOR`, split into words by POSIX shell rules.
pub fn editor_command(
    visual: Option<String>,
    editor: Option<String>,
) -> ctask_core::Result<Vec<String>> {
    let (name, value) = match (
        visual.filter(|v| !v.trim().is_empty()),
        editor.filter(|v| !v.trim().is_empty()),
    ) {
        (Some(v), _) => ("VISUAL", v),
        (None, Some(e)) => ("EDITOR", e),
        (None, None) => {
            return Err(Error::invalid(
                "no editor: set $VISUAL or $EDITOR (e.g. EDITOR=vi)",
            ));
        }
    };
    let words = shell_words::split(&value).map_err(|e| {
        Error::invalid(format!("${name}={value:?} cannot be split into words: {e}"))
    })?;
    if words.is_empty() {
        return Err(Error::invalid(format!("${name} names no command")));
    }
    Ok(words)
}

fn edit(path: &Path) -> ctask_core::Result<i32> {
    if !(io::stdin().is_terminal() && io::stdout().is_terminal()) {
        return Err(Error::invalid(
            "notes --edit needs a terminal; without one, read the notes with `notes` (no --edit)",
        ));
    }
    let words = editor_command(std::env::var("VISUAL").ok(), std::env::var("EDITOR").ok())?;
    let (program, rest) = match words.split_first() {
        Some(split) => split,
        None => return Err(Error::invalid("no editor command")),
    };
    let status = std::process::Command::new(program)
        .args(rest)
        .arg(path)
        .status();
    match status {
        Ok(s) if s.success() => Ok(0),
        Ok(s) => {
            let code = s.code().unwrap_or(1);
            output::warn(&format!("editor {program:?} exited with {code}"));
            Ok(code)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            output::error(&format!("editor {program:?} not found"));
            Ok(127)
        }
        Err(e) => Err(Error::invalid(format!(
            "cannot run editor {program:?}: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::editor_command;

    #[test]
    fn visual_wins_and_quotes_are_honoured() {
        let w = editor_command(Some("code --wait".into()), Some("vi".into())).unwrap();
        assert_eq!(w, ["code", "--wait"]);
        let w = editor_command(None, Some("'/opt/my editor/bin/ed' -n".into())).unwrap();
        assert_eq!(w, ["/opt/my editor/bin/ed", "-n"]);
        let w = editor_command(Some("  ".into()), Some("nano".into())).unwrap();
        assert_eq!(w, ["nano"]);
    }

    #[test]
    fn bad_or_missing_editors_are_errors() {
        assert!(editor_command(None, None).is_err());
        assert!(editor_command(Some("vi 'unclosed".into()), None).is_err());
    }
}
