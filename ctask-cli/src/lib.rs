//! The `ctask` command line as a library: [`main`] takes the arguments and returns the exit code.
//!
//! Parsing is done by clap; every command lives in [`cmd`]; messages, hints and the mapping
//! from [`ctask_core::Error`] to exit codes live in [`output`].

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ctask_core::workspace::{Overrides, Settings};

pub mod cmd;
pub mod host;
pub mod output;
pub mod signals;

pub use host::Host;

/// Exit code of a usage error.
pub const EXIT_USAGE: i32 = 2;

/// `ctask`: a named workspace for every piece of AI-agent work, and a recorded session
/// around every visit.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "A named workspace for every piece of AI-agent work, and a recorded session around every visit.",
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Task root (beats CTASK_ROOT and the config file).
    #[arg(long, global = true, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub root: Option<PathBuf>,

    /// When to colour output (never with NO_COLOR unless `always`).
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: output::ColorWhen,

    /// Print no informational messages on stderr (warnings and errors still show).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every `ctask` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new workspace and print its path.
    New(cmd::new::NewArgs),
    /// List workspaces (archived ones with --all).
    List(cmd::list::ListArgs),
    /// Describe one workspace.
    Info(cmd::info::InfoArgs),
    /// Print the absolute path of a workspace.
    Path(cmd::path::PathArgs),
    /// Start a session in a workspace and launch its agent.
    Resume(cmd::entry::ResumeArgs),
    /// Resume the workspace whose last session ended most recently.
    Last(cmd::entry::LastArgs),
    /// Start a session in a workspace with a shell.
    Open(cmd::entry::OpenArgs),
    /// Attach to a workspace's persistent (tmux) session, adopting or starting it as needed.
    Attach(cmd::entry::AttachArgs),
    /// Show who is in a workspace now, and its last session.
    Status(cmd::status::StatusArgs),
    /// Report what the agent is doing: working, waiting, idle or done.
    State(cmd::state::StateArgs),
    /// Show what changed since the last session ended.
    Diff(cmd::diff::DiffArgs),
    /// Show a workspace's session log.
    Log(cmd::log::LogArgs),
    /// List recorded sessions, newest first, and whether each can be undone.
    History(cmd::undo::HistoryArgs),
    /// Give back a recorded session's changes (all or nothing; again = redo).
    Undo(cmd::undo::UndoArgs),
    /// Print a stored content of a file, as a session found or left it.
    Show(cmd::undo::ShowArgs),
    /// Print a workspace's notes.md (or open it in $VISUAL/$EDITOR with --edit).
    Notes(cmd::notes::NotesArgs),
    /// Archive a workspace: hidden from list and name matching until restored.
    Archive(cmd::archive::ArchiveArgs),
    /// Restore an archived workspace.
    Restore(cmd::archive::RestoreArgs),
    /// Delete a workspace and everything in it (asks first).
    Delete(cmd::delete::DeleteArgs),
    /// Check settings, roots, tools, agents, the filesystem and leases.
    Doctor(cmd::doctor::DoctorArgs),
    /// Check which agent a workspace would launch and whether it is found.
    Agents(cmd::agents::AgentsArgs),
    /// Print a shell completion script.
    Completion(cmd::completion::CompletionArgs),
    /// Stream live events (session start/end, state, created, archived, deleted).
    Watch(cmd::watch::WatchArgs),
    /// Internal: the tmux pane's command (load the env file, exec the agent).
    #[command(name = "__exec", hide = true)]
    Exec(cmd::hidden::ExecArgs),
    /// Internal: the supervisor that owns a persistent session.
    #[command(name = "__supervise", hide = true)]
    Supervise(cmd::hidden::SuperviseArgs),
    /// Internal: write the manual pages into a directory (used by `make install`).
    #[command(name = "__man", hide = true)]
    Man(cmd::man::ManArgs),
}

/// What every command gets: the name ctask was invoked as and the global flags.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// File name of argv\[0\], used in hints.
    pub prog: String,
    /// argv\[0\] as given (how completion scripts run ctask again).
    pub invoked_as: PathBuf,
    /// Values given by global flags.
    pub overrides: Overrides,
}

impl Ctx {
    /// Resolves the settings (flags > environment > config file > defaults).
    pub fn settings(&self) -> ctask_core::Result<Settings> {
        Settings::from_env(&self.overrides)
    }
}

/// Runs the CLI with `args` (the first one is the program name) and returns the exit code,
/// in a process of its own: the `ctask` binary, re-entered as [`Host::this_executable`].
pub fn main(args: Vec<OsString>) -> i32 {
    main_with(args, Host::this_executable())
}

/// Runs the CLI with `args` inside `host` (e.g. a Python interpreter) and returns the exit
/// code. Whatever re-enters ctask (the supervisor, the tmux pane's helper) runs
/// `host.self_cmd`; signal dispositions the command changes are restored before it returns.
pub fn main_with(args: Vec<OsString>, host: Host) -> i32 {
    let _restore = signals::Saved::capture();
    host::set(host);
    if let Some(code) = cmd::completion::complete_from_env(&args) {
        return code;
    }
    let prog = args
        .first()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "ctask".to_string());
    let invoked_as = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ctask"));
    let command = Cli::command()
        .bin_name(prog.clone())
        .display_name(prog.clone());
    let cli = match command
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return output::clap_error(&e),
    };
    output::configure(cli.color, cli.quiet);
    let ctx = Ctx {
        prog,
        invoked_as,
        overrides: Overrides {
            root: cli.root.clone(),
            ..Overrides::default()
        },
    };
    match cmd::run(&ctx, cli.command) {
        Ok(code) => code,
        Err(e) => output::report_error(&ctx, &e),
    }
}
