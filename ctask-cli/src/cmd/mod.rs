//! One module per command; [`run`] dispatches.

use ctask_core::Error;
use ctask_core::workspace::{Found, ResolveOptions, Settings, Status, resolve_found};

use crate::{Command, Ctx, output};

pub mod agents;
pub mod archive;
pub mod completion;
pub mod delete;
pub mod diff;
pub mod doctor;
pub mod entry;
pub mod hidden;
pub mod info;
pub mod launch;
pub mod list;
pub mod log;
pub mod man;
pub mod new;
pub mod notes;
pub mod path;
pub mod persistent;
pub mod state;
pub mod status;
pub mod undo;
pub mod watch;

/// Resolves `query` for a command that does not match archived workspaces (unless
/// `opts` says so), keeping a broken workspace as [`Found::Broken`]. When nothing but an
/// archived workspace matches, the error says so and how to reach it: `reach` is how this
/// command is told to include archived ones (`delete --all`), if it can be.
pub fn resolve_or_archived(
    ctx: &Ctx,
    settings: &Settings,
    query: &str,
    opts: ResolveOptions,
    reach: Option<&str>,
) -> ctask_core::Result<Found> {
    match resolve_found(settings, query, opts) {
        Err(Error::NotFound { query: q }) if !opts.include_archived => {
            let all = ResolveOptions {
                include_archived: true,
            };
            match resolve_found(settings, query, all) {
                Ok(f) if f.status() == Status::Archived => {
                    let name = output::safe(f.dir_name());
                    let prog = &ctx.prog;
                    let how = match reach {
                        Some(r) => format!("`{prog} {r} {name}` reaches it, or "),
                        None => String::new(),
                    };
                    Err(Error::invalid(format!(
                        "workspace {name} is archived; {how}`{prog} restore {name}` brings it back"
                    )))
                }
                _ => Err(Error::NotFound { query: q }),
            }
        }
        other => other,
    }
}

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
        Command::Supervise(a) => hidden::supervise(a),
        Command::Man(a) => man::run(a),
        Command::Status(a) => status::run(ctx, a),
        Command::State(a) => state::run(ctx, a),
        Command::Diff(a) => diff::run(ctx, a),
        Command::Log(a) => log::run(ctx, a),
        Command::History(a) => undo::history(ctx, a),
        Command::Undo(a) => undo::undo(ctx, a),
        Command::Show(a) => undo::show(ctx, a),
        Command::Notes(a) => notes::run(ctx, a),
        Command::Archive(a) => archive::archive(ctx, a),
        Command::Restore(a) => archive::restore(ctx, a),
        Command::Delete(a) => delete::run(ctx, a),
        Command::Doctor(a) => doctor::run(ctx, a),
        Command::Agents(a) => agents::run(ctx, a),
        Command::Completion(a) => completion::run(ctx, a),
        Command::Watch(a) => watch::run(ctx, a),
    }
}
