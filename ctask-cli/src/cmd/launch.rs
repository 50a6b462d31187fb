//! What every launching command shares — the launch flags and the agent's argv — so the
//! entry commands (direct mode) and persistent mode both depend on it and not on each other.

use clap::Args;
use ctask_core::workspace::AgentSpec;

/// Options shared by every entry command.
#[derive(Debug, Args, Default, Clone)]
pub struct LaunchArgs {
    /// Share a busy workspace without asking, and skip the outside-changes warning.
    #[arg(long)]
    pub force: bool,
    /// Launch a shell instead of the agent.
    #[arg(long)]
    pub shell: bool,
    /// Run the agent as a child of ctask (the default unless configured otherwise).
    #[arg(long)]
    pub direct: bool,
    /// Run the agent in tmux, so it survives a closed terminal.
    #[arg(long, conflicts_with = "direct")]
    pub persistent: bool,
    /// Run the agent in tmux and return at once without attaching (implies --persistent).
    #[arg(long, conflicts_with = "direct")]
    pub detach: bool,
    /// Arguments replacing the agent's configured arguments for this launch.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// The argv, the label recorded as `agent`, and the agent's environment.
/// `base` is the workspace's agent; `agent` a `-a` override for this launch.
pub fn agent_argv(
    base: AgentSpec,
    agent: Option<&str>,
    l: &LaunchArgs,
) -> ctask_core::Result<(Vec<String>, String, AgentSpec)> {
    if l.shell {
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        let spec = AgentSpec::from_plain(&shell);
        return Ok((vec![shell], "shell".into(), spec));
    }
    let mut spec = match agent {
        Some(a) => AgentSpec::parse_plain(a)?,
        None => base,
    };
    if !l.args.is_empty() {
        spec.args = l.args.clone();
    }
    let argv = spec.argv()?;
    let label = argv.first().cloned().unwrap_or_default();
    Ok((argv, label, spec))
}
