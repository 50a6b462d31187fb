//! `ctask completion`: print a completion script for a shell.

use std::io::{self, Write};

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use ctask_core::Error;

use crate::{Cli, Ctx};

/// Arguments of `ctask completion`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bash:  source <(ctask completion bash)\n  \
    zsh:   ctask completion zsh > \"${fpath[1]}/_ctask\"\n  \
    fish:  ctask completion fish > ~/.config/fish/completions/ctask.fish")]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Runs `ctask completion`.
pub fn run(ctx: &Ctx, args: CompletionArgs) -> ctask_core::Result<i32> {
    let mut script = Vec::new();
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, ctx.prog.as_str(), &mut script);
    let mut out = io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::io("standard output", e)),
    }
}
