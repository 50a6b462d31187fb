//! One module per command; [`run`] dispatches.

use crate::{Command, Ctx};

pub mod info;
pub mod list;
pub mod new;
pub mod path;

/// Runs `command` and returns its exit code.
pub fn run(ctx: &Ctx, command: Command) -> ctask_core::Result<i32> {
    match command {
        Command::New(a) => new::run(ctx, a),
        Command::List(a) => list::run(ctx, a),
        Command::Info(a) => info::run(ctx, a),
        Command::Path(a) => path::run(ctx, a),
    }
}
