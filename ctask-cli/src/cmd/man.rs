//! `ctask __man DIR`: write the manual pages (`ctask.1` and one per subcommand, such as
//! `ctask-new.1` and `ctask-agents-check.1`) generated from the command definitions.
//! `make install` runs it; it is hidden because users read the pages, not make them.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use ctask_core::Error;

use crate::Cli;

/// Arguments of `ctask __man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created when missing).
    pub dir: PathBuf,
}

/// Runs `ctask __man`.
pub fn run(args: ManArgs) -> ctask_core::Result<i32> {
    std::fs::create_dir_all(&args.dir).map_err(|e| Error::io(&args.dir, e))?;
    let cmd = Cli::command().bin_name("ctask").display_name("ctask");
    clap_mangen::generate_to(cmd, &args.dir).map_err(|e| Error::io(&args.dir, e))?;
    Ok(0)
}
