//! `ctask completion`: print a shell's completion script, and answer the completion
//! requests that script makes.
//!
//! The scripts are thin: on every TAB the shell runs `ctask` again with the words typed so far
//! and [`COMPLETE_VAR`] naming the shell, and [`complete_from_env`] answers with the
//! candidates (subcommands, flags, values, and workspace slugs for QUERY arguments). So the
//! candidates always match the installed binary and the workspaces on disk.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::env::Shells;
use clap_complete::{ArgValueCandidates, CompletionCandidate, Shell};
use ctask_core::Error;
use ctask_core::workspace::{Found, Overrides, Settings, Status, discover};

use crate::{Cli, Ctx, output};

/// Environment variable that turns a run of `ctask` into a completion request; its value
/// names the shell. Set only by the completion scripts.
pub const COMPLETE_VAR: &str = "_CTASK_COMPLETE";

/// Arguments of `ctask completion`.
#[derive(Debug, Args)]
#[command(after_help = "Without SHELL, lists the shells.\n\nExamples:\n  \
    bash:  source <(ctask completion bash)\n  \
    zsh:   ctask completion zsh > \"${fpath[1]}/_ctask\"\n  \
    fish:  ctask completion fish > ~/.config/fish/completions/ctask.fish\n\n\
    The script runs ctask on every TAB: workspace slugs are completed for QUERY arguments.")]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Option<Shell>,
    /// The command the script runs to complete (default: ctask as it was invoked).
    #[arg(long, value_name = "COMMAND")]
    pub completer: Option<String>,
}

/// Runs `ctask completion`.
pub fn run(ctx: &Ctx, args: CompletionArgs) -> ctask_core::Result<i32> {
    let mut text = Vec::new();
    match args.shell {
        None => {
            for name in Shells::builtins().names() {
                text.extend_from_slice(name.as_bytes());
                text.push(b'\n');
            }
        }
        Some(shell) => {
            let name = shell.to_string();
            let completer = args
                .completer
                .unwrap_or_else(|| invoked_as(&ctx.invoked_as));
            script(&name, &ctx.prog, &completer, &mut text)?;
        }
    }
    let mut out = io::stdout().lock();
    match out.write_all(&text).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::io("standard output", e)),
    }
}

/// How the script should run ctask: a bare name stays a name (looked up on `PATH`), a
/// relative path is made absolute.
fn invoked_as(argv0: &Path) -> String {
    if argv0.components().count() > 1
        && argv0.is_relative()
        && let Ok(cwd) = std::env::current_dir()
    {
        return cwd.join(argv0).to_string_lossy().into_owned();
    }
    argv0.to_string_lossy().into_owned()
}

/// Writes the completion script of `shell` for the command `bin`, calling `completer`.
fn script(shell: &str, bin: &str, completer: &str, buf: &mut Vec<u8>) -> ctask_core::Result<()> {
    let shells = Shells::builtins();
    let Some(sh) = shells.completer(shell) else {
        return Err(Error::invalid(format!("no completion support for {shell}")));
    };
    sh.write_registration(COMPLETE_VAR, bin, bin, completer, buf)
        .map_err(|e| Error::io("completion script", e))?;
    if shell == "zsh" {
        // Saved as `_ctask` in $fpath, the file is autoloaded as the completion function
        // itself: complete at once then (sourced, it only registers).
        let func = format!("_clap_dynamic_completer_{}", bin.replace('-', "_"));
        let name = format!("_{bin}");
        buf.extend_from_slice(
            format!("if [ \"$funcstack[1]\" = {name:?} ]; then\n    {func} \"$@\"\nfi\n")
                .as_bytes(),
        );
    }
    Ok(())
}

/// Answers a completion request when [`COMPLETE_VAR`] is set: prints the candidates for the
/// words in `args` and returns the exit code; `None` for an ordinary run.
pub fn complete_from_env(args: &[OsString]) -> Option<i32> {
    match std::env::var_os(COMPLETE_VAR) {
        Some(v) if !v.is_empty() && v != "0" => {}
        _ => return None,
    }
    let root = root_flag(args);
    let factory = move || with_query_candidates(Cli::command(), root.clone());
    let cwd = std::env::current_dir().ok();
    match clap_complete::CompleteEnv::with_factory(factory)
        .var(COMPLETE_VAR)
        .try_complete(args.to_vec(), cwd.as_deref())
    {
        Ok(true) => Some(0),
        Ok(false) => None,
        Err(e) => Some(output::clap_error(&e)),
    }
}

/// The value of a `--root DIR` / `--root=DIR` already typed on the command line.
fn root_flag(args: &[OsString]) -> Option<PathBuf> {
    // The shell's words follow the first `--`; a later `--` ends the options.
    let words: Vec<&OsString> = args
        .iter()
        .skip_while(|a| *a != "--")
        .skip(1)
        .take_while(|a| *a != "--")
        .collect();
    let mut root = None;
    for (i, w) in words.iter().enumerate() {
        let w = w.to_string_lossy();
        if w == "--root" {
            root = words.get(i + 1).map(PathBuf::from);
        } else if let Some(v) = w.strip_prefix("--root=") {
            root = Some(PathBuf::from(v));
        }
    }
    root
}

/// `cmd` with workspace-name candidates on every argument named `query` (archived
/// workspaces for `restore`, the others otherwise).
pub fn with_query_candidates(cmd: clap::Command, root: Option<PathBuf>) -> clap::Command {
    let archived = cmd.get_name() == "restore";
    let query_root = root.clone();
    // In place: `mut_arg` would move the argument behind the other positionals.
    let cmd = cmd.mut_args(move |a| {
        if a.get_id() != "query" {
            return a;
        }
        let root = query_root.clone();
        a.add(ArgValueCandidates::new(move || {
            query_candidates(root.clone(), archived)
        }))
    });
    cmd.mut_subcommands(move |sub| with_query_candidates(sub, root.clone()))
}

/// The names a QUERY can take: each workspace's slug; when several workspaces share it, the
/// directory name, or the path when that is shared too (the same name in two categories).
/// The title is the description.
fn query_candidates(root: Option<PathBuf>, archived: bool) -> Vec<CompletionCandidate> {
    let overrides = Overrides {
        root,
        ..Overrides::default()
    };
    let Ok(settings) = Settings::from_env(&overrides) else {
        return Vec::new();
    };
    let found: Vec<_> = discover(&settings)
        .into_iter()
        .filter(|f| (f.status() == Status::Archived) == archived)
        .collect();
    found
        .iter()
        .map(|f| {
            let unique =
                |name: fn(&Found) -> &str| found.iter().filter(|g| name(g) == name(f)).count() == 1;
            let value = if unique(Found::slug) {
                f.slug().to_string()
            } else if unique(Found::dir_name) {
                f.dir_name().to_string()
            } else {
                f.dir().to_string_lossy().into_owned()
            };
            let title = f.info().title;
            CompletionCandidate::new(value).help((!title.is_empty()).then(|| title.into()))
        })
        .collect()
}
