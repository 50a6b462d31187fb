//! `ctask doctor`: settings with their sources, roots, tools, agents, the filesystem of
//! the root, and leases left behind. Exit 0 when healthy (no problem), 1 otherwise;
//! warnings do not count.

use clap::Args;
use ctask_core::session::liveness::State;
use ctask_core::session::status::status_of;
use ctask_core::workspace::config::{ConfigFile, config_path};
use ctask_core::workspace::{Found, SessionMode, Settings, discover};

mod checks;
mod report;

use crate::Ctx;
use crate::cmd::agents::{builtins, check_agent, source_name};
use crate::cmd::info::to_json;
use crate::output::{self};
use checks::*;
pub use report::*;

/// Arguments of `ctask doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctask doctor`.
pub fn run(ctx: &Ctx, args: DoctorArgs) -> ctask_core::Result<i32> {
    let env = |k: &str| std::env::var(k).ok();
    let report = examine(ctx, &env);
    if args.json {
        output::data(&to_json(&report)?)?;
    } else {
        output::data(&human(&report))?;
    }
    Ok(if report.healthy { 0 } else { 1 })
}

/// Gathers the report; never fails (every failure becomes a problem).
pub fn examine(ctx: &Ctx, env: &dyn Fn(&str) -> Option<String>) -> Report {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    // The config file on its own, so that its error is reported whatever else fails.
    let cfg_path = config_path(env);
    let mut config = ConfigReport {
        path: cfg_path.clone(),
        loaded: false,
        error: None,
    };
    if let Some(p) = &cfg_path {
        match ConfigFile::load(p) {
            Ok(found) => config.loaded = found.is_some(),
            Err(e) => {
                problems.push(format!("config file: {e}"));
                config.error = Some(e.to_string());
            }
        }
    }

    let settings = match Settings::resolve(&ctx.overrides, env) {
        Ok(s) => Some(s),
        Err(e) => {
            if config.error.is_none() {
                problems.push(format!("settings: {e}"));
            }
            match Settings::resolve_without_config(&ctx.overrides, env) {
                Ok(s) => {
                    warnings.push(
                        "the settings shown leave the config file out, because of the problem above"
                            .to_owned(),
                    );
                    Some(s)
                }
                Err(e2) => {
                    if e2.to_string() != e.to_string() || config.error.is_some() {
                        problems.push(format!("settings: {e2}"));
                    }
                    None
                }
            }
        }
    };

    let mut roots = Vec::new();
    let mut agents = Vec::new();
    let mut leases = Vec::new();
    let mut broken = Vec::new();
    let mut store_bytes = 0u64;
    if let Some(s) = &settings {
        for (name, path) in [
            ("root", &s.root.value),
            ("project_root", &s.project_root.value),
        ] {
            roots.push(check_root(name, path, &mut problems, &mut warnings));
        }
        let default = check_agent(&s.default_agent.value, source_name(s.default_agent.source));
        if !default.found {
            problems.push(format!(
                "default agent {}: {}",
                default.name,
                default.error.as_deref().unwrap_or("not found")
            ));
        }
        agents.push(AgentReport {
            default: true,
            check: default,
        });
        for b in builtins() {
            agents.push(AgentReport {
                default: false,
                check: check_agent(&b, "builtin"),
            });
        }
        for f in discover(s) {
            if let Found::Ok(w) = &f {
                store_bytes += ctask_core::snapshot::store_bytes(&w.dir).unwrap_or(0);
            }
            match f {
                Found::Broken { dir, error, .. } => {
                    warnings.push(format!("broken workspace: {error}"));
                    broken.push(dir);
                }
                Found::Ok(w) => match status_of(&w.dir, s.stale_after_seconds.value) {
                    Ok(st) if matches!(st.state, State::Stale | State::Unknown) => {
                        let what = format!(
                            "{} lease in {}{}",
                            st.state.as_str(),
                            w.dir.display(),
                            st.diagnostic
                                .as_deref()
                                .map(|d| format!(": {d}"))
                                .unwrap_or_default()
                        );
                        if st.state == State::Unknown {
                            problems.push(format!(
                                "{what} (ctask never reclaims it; remove .ctask/session.json once no session runs there)"
                            ));
                        } else {
                            warnings.push(format!("{what} (the next session there reclaims it)"));
                        }
                        leases.push(LeaseReport {
                            path: w.dir.clone(),
                            state: st.state.as_str(),
                            diagnostic: st.diagnostic,
                        });
                    }
                    Ok(_) => {}
                    Err(e) => warnings.push(format!("cannot probe {}: {e}", w.dir.display())),
                },
            }
        }
    }

    let persistent = settings
        .as_ref()
        .is_some_and(|s| s.session_mode.value == SessionMode::Persistent);
    let tmux = check_tmux();
    if !tmux.usable {
        let why = match &tmux.version {
            Some(v) => format!("tmux {v} is too old; persistent sessions need tmux 3.2 or newer"),
            None if tmux.found => "tmux does not report its version".to_owned(),
            None => "tmux is not installed; persistent sessions need tmux 3.2 or newer".to_owned(),
        };
        if persistent {
            problems.push(format!("{why} (session_mode is persistent)"));
        } else {
            warnings.push(why);
        }
    }
    let git = check_git();
    if !git.found {
        warnings.push("git is not installed; new projects get no git repository".to_owned());
    }

    Report {
        healthy: problems.is_empty(),
        version: ctask_core::VERSION,
        config,
        settings: settings.as_ref().map(settings_report),
        roots,
        tools: vec![tmux, git],
        agents,
        leases,
        broken,
        snapshot_store_bytes: store_bytes,
        problems,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use serde_json::json;

    #[test]
    fn values_show_plainly() {
        assert_eq!(show_value(&Value::Null), "-");
        assert_eq!(show_value(&json!("x")), "x");
        assert_eq!(show_value(&json!(30)), "30");
        assert_eq!(
            show_value(&json!({"type": "custom", "command": "aider", "args": ["--yes"]})),
            "aider --yes"
        );
        assert_eq!(show_value(&json!({"type": "claude"})), "claude");
    }
}
