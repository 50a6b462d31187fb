//! One module per command; [`run`] dispatches.

use crate::{Command, Ctx};

pub mod agents;
pub mod archive;
pub mod completion;
pub mod delete;
pub mod diff;
pub mod doctor;
pub mod entry;
pub mod hidden;
pub mod info;
pub mod list;
pub mod log;
pub mod man;
pub mod new;
pub mod notes;
pub mod path;
pub mod persistent;
pub mod status;

/// Runs `command` and returns its exit code.
pub fn run(ctx: &Ctx, command: Command) -> ctask_core::Result<i32> {
    match command {
        Command::New(a) => new::run(ctx, a),
        Command::List(a) => list::run(ctx, a),
        Command::Info(a) => info::run(ctx, a),
        Command::Path(a) => path::run(ctx, a),
        Command::Resume(a) => entry::resume(ctx, a),
        Command::Last(a) => entry::last_cmd(ctx, a),
        Command::Open(a) => entry::open(ctx, a),
        Command::Attach(a) => entry::attach(ctx, a),
        Command::Exec(a) => hidden::exec(a),
        Command::Supervise => hidden::supervise(),
        Command::Man(a) => man::run(a),
        Command::Status(a) => status::run(ctx, a),
        Command::Diff(a) => diff::run(ctx, a),
        Command::Log(a) => log::run(ctx, a),
        Command::Notes(a) => notes::run(ctx, a),
        Command::Archive(a) => archive::archive(ctx, a),
        Command::Restore(a) => archive::restore(ctx, a),
        Command::Delete(a) => delete::run(ctx, a),
        Command::Doctor(a) => doctor::run(ctx, a),
        Command::Agents(a) => agents::run(ctx, a),
        Command::Completion(a) => completion::run(ctx, a),
    }
}
