//! What `ctask doctor` reports: the report's shape (also its `--json`) and its human form.

use crate::cmd::agents::AgentCheck;
use crate::output::{self, Style};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

/// One resolved setting: its value and where it came from.
#[derive(Debug, Serialize)]
pub struct SettingReport {
    /// The value in effect (`null` when unset).
    pub value: Value,
    /// `flag`, `env`, `config` or `default`.
    pub source: &'static str,
}

/// Every resolved setting.
#[derive(Debug, Serialize)]
pub struct SettingsReport {
    /// Task root.
    pub root: SettingReport,
    /// Project root.
    pub project_root: SettingReport,
    /// Seed directory of every new workspace.
    pub seed_dir: SettingReport,
    /// Seed directory of new projects.
    pub project_seed_dir: SettingReport,
    /// Agent of workspaces whose task.yaml names none.
    pub default_agent: SettingReport,
    /// Session mode.
    pub session_mode: SettingReport,
    /// Heartbeat interval in seconds.
    pub heartbeat_seconds: SettingReport,
    /// Lease expiry in seconds.
    pub stale_after_seconds: SettingReport,
    /// The most end-manifest entries a summary carries.
    pub summary_manifest_max: SettingReport,
}

/// The config file.
#[derive(Debug, Serialize)]
pub struct ConfigReport {
    /// Where it is looked for.
    pub path: Option<PathBuf>,
    /// Whether it exists and was read.
    pub loaded: bool,
    /// Why it cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A root directory.
#[derive(Debug, Serialize)]
pub struct RootReport {
    /// `root` or `project_root`.
    pub name: &'static str,
    /// Its path.
    pub path: PathBuf,
    /// Whether it exists.
    pub exists: bool,
    /// Whether ctask can create workspaces in it (or create it, when missing).
    pub writable: bool,
    /// Filesystem type (of the nearest existing directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    /// Whether that filesystem is a network one, where locks are unreliable.
    pub network_filesystem: bool,
}

/// An external program.
#[derive(Debug, Serialize)]
pub struct ToolReport {
    /// Program name.
    pub name: &'static str,
    /// Whether it is on PATH.
    pub found: bool,
    /// Where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Its version, as it reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Oldest usable version, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<String>,
    /// Found and recent enough.
    pub usable: bool,
}

/// An agent check, marked when it is the default agent.
#[derive(Debug, Serialize)]
pub struct AgentReport {
    /// Whether this is the configured default agent.
    pub default: bool,
    /// The check.
    #[serde(flatten)]
    pub check: AgentCheck,
}

/// A lease that is not a live session.
#[derive(Debug, Serialize)]
pub struct LeaseReport {
    /// Workspace directory.
    pub path: PathBuf,
    /// `stale` or `unknown`.
    pub state: &'static str,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
}

/// Everything `ctask doctor` found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// No problems (warnings allowed).
    pub healthy: bool,
    /// Version of ctask.
    pub version: &'static str,
    /// The config file.
    pub config: ConfigReport,
    /// Resolved settings (absent when they cannot be resolved at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsReport>,
    /// Both roots.
    pub roots: Vec<RootReport>,
    /// tmux and git.
    pub tools: Vec<ToolReport>,
    /// The default agent and the built-in ones.
    pub agents: Vec<AgentReport>,
    /// Stale and unknown leases under the roots.
    pub leases: Vec<LeaseReport>,
    /// Workspaces whose task.yaml cannot be read.
    pub broken: Vec<PathBuf>,
    /// What makes ctask fail; each one makes the exit code 1.
    pub problems: Vec<String>,
    /// What deserves attention but does not stop ctask.
    pub warnings: Vec<String>,
}

pub(super) fn human(r: &Report) -> String {
    let ok = || output::paint_out(Style::Green, "ok  ");
    let bad = || output::paint_out(Style::Red, "FAIL");
    let meh = || output::paint_out(Style::Yellow, "warn");
    let head = |t: &str| output::paint_out(Style::Bold, t);
    let mut out = vec![format!("{} {}", head("ctask"), r.version)];

    out.push(String::new());
    out.push(head("config file"));
    let cfg = match (&r.config.path, r.config.loaded, &r.config.error) {
        (None, _, _) => "  (none: neither XDG_CONFIG_HOME nor HOME is set)".to_owned(),
        (Some(p), _, Some(e)) => format!("  {} {}: {e}", bad(), p.display()),
        (Some(p), true, None) => format!("  {} {} (read)", ok(), p.display()),
        (Some(p), false, None) => {
            format!("  {} (not present; built-in defaults apply)", p.display())
        }
    };
    out.push(cfg);

    if let Some(s) = &r.settings {
        out.push(String::new());
        out.push(head("settings"));
        let rows = [
            ("root", &s.root),
            ("project_root", &s.project_root),
            ("seed_dir", &s.seed_dir),
            ("project_seed_dir", &s.project_seed_dir),
            ("default_agent", &s.default_agent),
            ("session_mode", &s.session_mode),
            ("heartbeat_seconds", &s.heartbeat_seconds),
            ("stale_after_seconds", &s.stale_after_seconds),
            ("summary_manifest_max", &s.summary_manifest_max),
        ];
        let values: Vec<String> = rows.iter().map(|(_, v)| show_value(&v.value)).collect();
        let vw = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
        for ((k, v), shown) in rows.iter().zip(&values) {
            out.push(format!(
                "  {k:<19} {shown:<vw$}  {}",
                output::paint_out(Style::Dim, &format!("({})", v.source))
            ));
        }
    }

    if !r.roots.is_empty() {
        out.push(String::new());
        out.push(head("roots"));
        for root in &r.roots {
            let fs = root.filesystem.as_deref().unwrap_or("filesystem unknown");
            let (mark, state) = match (root.exists, root.writable) {
                (true, true) => (ok(), "writable"),
                (true, false) => (bad(), "not writable"),
                (false, true) => (meh(), "missing, can be created"),
                (false, false) => (bad(), "missing, cannot be created"),
            };
            let mark = if root.network_filesystem && root.writable {
                meh()
            } else {
                mark
            };
            out.push(format!(
                "  {mark} {:<12} {} ({state}; {fs})",
                root.name,
                root.path.display()
            ));
        }
    }

    out.push(String::new());
    out.push(head("tools"));
    for t in &r.tools {
        let mark = if t.usable { ok() } else { meh() };
        let detail = match (&t.path, &t.version) {
            (Some(p), Some(v)) => format!("{v} ({})", p.display()),
            (Some(p), None) => format!("version unknown ({})", p.display()),
            (None, _) => "not found".to_owned(),
        };
        out.push(format!("  {mark} {:<5} {detail}", t.name));
    }

    if !r.agents.is_empty() {
        out.push(String::new());
        out.push(head("agents"));
        for a in &r.agents {
            let c = &a.check;
            let mark = match (c.found, a.default) {
                (true, _) => ok(),
                (false, true) => bad(),
                (false, false) => meh(),
            };
            let role = if a.default {
                format!("default, from {}", c.source)
            } else {
                "built-in".to_owned()
            };
            let place = match &c.path {
                Some(p) => p.display().to_string(),
                None => "not found".to_owned(),
            };
            out.push(format!("  {mark} {} ({role}): {place}", c.name));
        }
    }

    out.push(String::new());
    out.push(head("leases"));
    if r.leases.is_empty() {
        out.push(format!("  {} no stale or unknown leases", ok()));
    }
    for l in &r.leases {
        let mark = if l.state == "unknown" { bad() } else { meh() };
        out.push(format!(
            "  {mark} {} {}",
            l.state,
            output::safe_path(&l.path)
        ));
    }

    if !r.warnings.is_empty() {
        out.push(String::new());
        out.push(head("warnings"));
        out.extend(
            r.warnings
                .iter()
                .map(|w| format!("  {} {}", meh(), output::safe(w))),
        );
    }
    if !r.problems.is_empty() {
        out.push(String::new());
        out.push(head("problems"));
        out.extend(
            r.problems
                .iter()
                .map(|p| format!("  {} {}", bad(), output::safe(p))),
        );
    }
    out.push(String::new());
    out.push(if r.healthy {
        output::paint_out(Style::Green, "healthy")
    } else {
        output::paint_out(
            Style::Red,
            &format!(
                "{} problem{}",
                r.problems.len(),
                if r.problems.len() == 1 { "" } else { "s" }
            ),
        )
    });
    out.join("\n")
}

/// A setting's value for people: strings bare, `null` as `-`, an agent as its argv.
pub(super) fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            let kind = m.get("type").and_then(Value::as_str).unwrap_or("?");
            let mut words: Vec<String> = vec![
                m.get("command")
                    .and_then(Value::as_str)
                    .unwrap_or(kind)
                    .to_owned(),
            ];
            if let Some(Value::Array(args)) = m.get("args") {
                words.extend(args.iter().map(|a| a.as_str().unwrap_or("?").to_owned()));
            }
            words.join(" ")
        }
        other => other.to_string(),
    }
}
