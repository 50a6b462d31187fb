//! `ctask doctor`: settings with their sources, roots, tools, agents, the filesystem of
//! the root, and leases left behind. Exit 0 when healthy (no problem), 1 otherwise;
//! warnings do not count.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use clap::Args;
use ctask_core::session::launch::find_program;
use ctask_core::session::liveness::State;
use ctask_core::session::status::status_of;
use ctask_core::session::tmux;
use ctask_core::workspace::config::{ConfigFile, config_path};
use ctask_core::workspace::{Found, SessionMode, Setting, Settings, discover};
use serde::Serialize;
use serde_json::Value;

use crate::Ctx;
use crate::cmd::agents::{AgentCheck, builtins, check_agent, source_name};
use crate::cmd::info::to_json;
use crate::output::{self, Style};

/// Arguments of `ctask doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

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
        problems,
        warnings,
    }
}

fn setting<T: Serialize>(s: &Setting<T>) -> SettingReport {
    SettingReport {
        value: serde_json::to_value(&s.value).unwrap_or(Value::Null),
        source: source_name(s.source),
    }
}

fn settings_report(s: &Settings) -> SettingsReport {
    SettingsReport {
        root: setting(&s.root),
        project_root: setting(&s.project_root),
        seed_dir: setting(&s.seed_dir),
        project_seed_dir: setting(&s.project_seed_dir),
        default_agent: setting(&s.default_agent),
        session_mode: setting(&s.session_mode),
        heartbeat_seconds: setting(&s.heartbeat_seconds),
        stale_after_seconds: setting(&s.stale_after_seconds),
    }
}

fn check_root(
    name: &'static str,
    path: &Path,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> RootReport {
    let exists = path.exists();
    // The nearest existing directory decides writability and the filesystem.
    let existing = path.ancestors().find(|p| p.exists()).unwrap_or(path);
    let writable = existing.is_dir() && is_writable(existing);
    if exists && !path.is_dir() {
        problems.push(format!("{name} {} is not a directory", path.display()));
    } else if exists && !writable {
        problems.push(format!("{name} {} is not writable", path.display()));
    } else if !exists && !writable {
        problems.push(format!(
            "{name} {} does not exist and cannot be created ({} is not writable)",
            path.display(),
            existing.display()
        ));
    } else if !exists {
        warnings.push(format!(
            "{name} {} does not exist yet (the first `new` creates it)",
            path.display()
        ));
    }
    let fs = ctask_core::fstype::filesystem_type(existing);
    let network = fs.as_ref().is_some_and(|f| f.network);
    if let Some(f) = fs.as_ref().filter(|f| f.network) {
        warnings.push(format!(
            "{name} {} is on {}: file locks are unreliable there, so two sessions may not see each other",
            path.display(),
            f.name
        ));
    }
    RootReport {
        name,
        path: path.to_path_buf(),
        exists,
        writable,
        filesystem: fs.map(|f| f.name),
        network_filesystem: network,
    }
}

fn is_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Runs `program args…` and returns the first line of its output.
fn version_line(program: &Path, args: &[&str]) -> Option<String> {
    let out = Process::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
}

fn check_tmux() -> ToolReport {
    let path = find_program("tmux").ok();
    let line = path.as_deref().and_then(|p| version_line(p, &["-V"]));
    let usable = line
        .as_deref()
        .and_then(tmux::parse_version)
        .is_some_and(|v| v >= tmux::MIN_VERSION);
    let version = line.map(|l| l.trim_start_matches("tmux ").to_owned());
    let (major, minor) = tmux::MIN_VERSION;
    ToolReport {
        name: "tmux",
        found: path.is_some(),
        path,
        version,
        minimum: Some(format!("{major}.{minor}")),
        usable,
    }
}

fn check_git() -> ToolReport {
    let path = find_program("git").ok();
    let version = path
        .as_deref()
        .and_then(|p| version_line(p, &["--version"]))
        .map(|l| l.trim_start_matches("git version ").to_owned());
    ToolReport {
        name: "git",
        found: path.is_some(),
        usable: path.is_some(),
        path,
        version,
        minimum: None,
    }
}

fn human(r: &Report) -> String {
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
fn show_value(v: &Value) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
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
