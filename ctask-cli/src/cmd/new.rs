//! `ctask new`: create a workspace and print its absolute path.

use clap::Args;
use ctask_core::workspace::{AgentSpec, NewOptions, Workspace};

use crate::{Ctx, output};

/// Arguments of `ctask new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Title of the work (the slug is made from it; empty → task-HHMMSS).
    pub title: Option<String>,
    /// Category (tasks default to `general`; projects live flat in the project root).
    #[arg(short, long, value_name = "CAT")]
    pub category: Option<String>,
    /// Create a project: its own git repository and a launch directory named after it.
    #[arg(long)]
    pub project: bool,
    /// Agent to record: `claude`, `opencode`, or any other command.
    #[arg(short, long, value_name = "AGENT")]
    pub agent: Option<String>,
    /// Only create the workspace; do not start a session in it.
    #[arg(long)]
    pub no_launch: bool,
    /// Launch options (when not `--no-launch`).
    #[command(flatten)]
    pub launch: crate::cmd::launch::LaunchArgs,
}

/// Runs `ctask new`.
pub fn run(ctx: &Ctx, args: NewArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let agent = args
        .agent
        .as_deref()
        .map(AgentSpec::parse_plain)
        .transpose()?;
    let opts = NewOptions {
        title: args.title.unwrap_or_default(),
        category: args.category,
        project: args.project,
        agent,
    };
    if !args.no_launch {
        // The agent is resolved before anything is created: not found → nothing changed.
        let base = opts
            .agent
            .clone()
            .unwrap_or_else(|| settings.default_agent.value.clone());
        let (argv, _, _) = crate::cmd::launch::agent_argv(base, None, &args.launch)?;
        if let Some(program) = argv.first() {
            ctask_core::session::launch::find_program(program)?;
        }
    }
    let (ws, warnings) = Workspace::create_with_hooks(&settings, &opts)?;
    output::message(&format!(
        "created {} {} ({})",
        ws.task.kind, ws.dir_name, ws.task.category
    ));
    for w in &warnings {
        output::warn(w);
    }
    if args.no_launch {
        output::data(&ws.dir.display().to_string())?;
        return Ok(0);
    }
    output::message(&format!("workspace: {}", ws.dir.display()));
    crate::cmd::entry::launch(&settings, &ws, None, &args.launch, true)
}
