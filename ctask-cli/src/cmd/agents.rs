//! `ctask agents check`: which agent a workspace would launch and whether it is found.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use ctask_core::session::launch::find_program;
use ctask_core::workspace::{AgentSpec, ResolveOptions, Source, resolve};
use serde::Serialize;

use crate::Ctx;
use crate::cmd::info::to_json;
use crate::output::{self, Style};

/// Exit code when the checked agent is not found (the same as a launch would give).
pub const EXIT_NOT_FOUND: i32 = 127;

/// Arguments of `ctask agents`.
#[derive(Debug, Args)]
pub struct AgentsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AgentsAction,
}

/// Subcommands of `ctask agents`.
#[derive(Debug, Subcommand)]
pub enum AgentsAction {
    /// Show which agent a workspace would launch (without QUERY: the default agent and
    /// the built-in ones) and whether its program is found on PATH. Exit 127 when not.
    Check(CheckArgs),
}

/// Arguments of `ctask agents check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directory name, slug, part of a slug, or a path (archived ones included).
    pub query: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// One agent and whether its program is found.
#[derive(Debug, Clone, Serialize)]
pub struct AgentCheck {
    /// Short label: the agent type, or a custom agent's command.
    pub name: String,
    /// Where the agent comes from: `task.yaml`, `builtin`, or the source of the
    /// `default_agent` setting (`flag`, `env`, `config`, `default`).
    pub source: String,
    /// The agent as configured.
    pub agent: AgentSpec,
    /// The program that would be run (before the PATH lookup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Whether the program is found and executable.
    pub found: bool,
    /// Where it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Why it cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Looks `spec` up on PATH the way a launch would.
pub fn check_agent(spec: &AgentSpec, source: &str) -> AgentCheck {
    let mut c = AgentCheck {
        name: spec.label(),
        source: source.to_owned(),
        agent: spec.clone(),
        program: None,
        found: false,
        path: None,
        error: None,
    };
    match spec.program() {
        Ok(p) => {
            c.program = Some(p.to_owned());
            match find_program(p) {
                Ok(path) => {
                    c.found = true;
                    c.path = Some(path);
                }
                Err(e) => c.error = Some(e.to_string()),
            }
        }
        Err(e) => c.error = Some(e.to_string()),
    }
    c
}

/// The name of a setting's source as used in JSON (`flag`, `env`, `config`, `default`).
pub fn source_name(s: Source) -> &'static str {
    match s {
        Source::Flag => "flag",
        Source::Env => "env",
        Source::Config => "config",
        Source::Default => "default",
    }
}

/// The built-in agents.
pub fn builtins() -> Vec<AgentSpec> {
    vec![
        AgentSpec::from_plain("claude"),
        AgentSpec::from_plain("opencode"),
    ]
}

#[derive(Serialize)]
struct WorkspaceAgent<'a> {
    workspace: PathBuf,
    #[serde(flatten)]
    check: &'a AgentCheck,
}

#[derive(Serialize)]
struct DefaultAgents<'a> {
    default: &'a AgentCheck,
    builtins: &'a [AgentCheck],
}

/// Runs `ctask agents …`.
pub fn run(ctx: &Ctx, args: AgentsArgs) -> ctask_core::Result<i32> {
    match args.action {
        AgentsAction::Check(a) => check(ctx, a),
    }
}

fn check(ctx: &Ctx, args: CheckArgs) -> ctask_core::Result<i32> {
    let settings = ctx.settings()?;
    let default_source = source_name(settings.default_agent.source);
    if let Some(q) = &args.query {
        let ws = resolve(
            &settings,
            q,
            ResolveOptions {
                include_archived: true,
            },
        )?;
        let c = match &ws.task.agent {
            Some(a) => check_agent(a, "task.yaml"),
            None => check_agent(&settings.default_agent.value, default_source),
        };
        if args.json {
            output::data(&to_json(&WorkspaceAgent {
                workspace: ws.dir.clone(),
                check: &c,
            })?)?;
        } else {
            output::data(&format!("{}: {}", output::safe(&ws.dir_name), line(&c)))?;
        }
        return Ok(if c.found { 0 } else { EXIT_NOT_FOUND });
    }
    let default = check_agent(&settings.default_agent.value, default_source);
    let builtins: Vec<AgentCheck> = builtins()
        .iter()
        .map(|b| check_agent(b, "builtin"))
        .collect();
    if args.json {
        output::data(&to_json(&DefaultAgents {
            default: &default,
            builtins: &builtins,
        })?)?;
    } else {
        let mut lines = vec![format!("default: {}", line(&default))];
        lines.extend(builtins.iter().map(|b| format!("builtin: {}", line(b))));
        output::data(&lines.join("\n"))?;
    }
    Ok(if default.found { 0 } else { EXIT_NOT_FOUND })
}

/// One human line: `claude (from task.yaml) → /usr/bin/claude` or `… not found`; names
/// made safe for a terminal.
fn line(c: &AgentCheck) -> String {
    let name = output::safe(&c.name);
    let what = match &c.program {
        Some(p) if *p != c.name => format!("{name} ({}, from {})", output::safe(p), c.source),
        _ => format!("{name} (from {})", c.source),
    };
    match (&c.path, &c.error) {
        (Some(p), _) => format!(
            "{what} {} {}",
            output::paint_out(Style::Green, "found"),
            output::safe_path(p)
        ),
        (None, Some(e)) => format!(
            "{what} {}: {}",
            output::paint_out(Style::Red, "not found"),
            output::safe(e)
        ),
        (None, None) => format!("{what} {}", output::paint_out(Style::Red, "not found")),
    }
}
