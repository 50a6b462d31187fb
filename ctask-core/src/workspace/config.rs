//! Resolved settings: `config.yaml`, environment variables and flags, each value knowing
//! where it came from.
//!
//! Precedence: flag > environment > config file > built-in default. The config file
//! (`$XDG_CONFIG_HOME/ctask/config.yaml`, else `~/.config/ctask/config.yaml`) is never
//! created by ctask; an unknown key in it is an error naming the key and the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsio;
use crate::workspace::taskfile::AgentSpec;

/// Environment variable naming the task root.
pub const ENV_ROOT: &str = "CTASK_ROOT";
/// Environment variable naming the project root.
pub const ENV_PROJECT_ROOT: &str = "CTASK_PROJECT_ROOT";
/// Environment variable naming the seed directory copied into every new workspace.
pub const ENV_SEED_DIR: &str = "CTASK_SEED_DIR";
/// Environment variable naming the seed directory copied into new projects.
pub const ENV_SEED_PROJECT_DIR: &str = "CTASK_SEED_PROJECT_DIR";
/// Environment variable naming the default agent.
pub const ENV_AGENT: &str = "CTASK_AGENT";
/// Environment variable naming the default session mode.
pub const ENV_SESSION_MODE: &str = "CTASK_SESSION_MODE";
/// Environment variable giving the heartbeat interval in seconds.
pub const ENV_HEARTBEAT_SECONDS: &str = "CTASK_HEARTBEAT_SECONDS";
/// Environment variable giving the lease expiry in seconds.
pub const ENV_STALE_AFTER_SECONDS: &str = "CTASK_STALE_AFTER_SECONDS";

/// Built-in heartbeat interval in seconds.
pub const DEFAULT_HEARTBEAT_SECONDS: u64 = 30;
/// Built-in lease expiry in seconds.
pub const DEFAULT_STALE_AFTER_SECONDS: u64 = 60;
/// Built-in bound on the end-manifest entries a summary carries.
pub const DEFAULT_SUMMARY_MANIFEST_MAX: usize = 20_000;

/// Where a resolved setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A command-line flag (or an explicit caller override).
    Flag,
    /// An environment variable.
    Env,
    /// The config file.
    Config,
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Env => "environment",
            Source::Config => "config file",
            Source::Default => "default",
        })
    }
}

/// A resolved value together with its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting<T> {
    /// The value in effect.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Setting<T> {
    fn new(value: T, source: Source) -> Self {
        Setting { value, source }
    }
}

/// How sessions run: the agent directly in the terminal, or inside tmux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    /// The agent runs as a child of ctask in the current terminal.
    #[default]
    Direct,
    /// The agent runs in a tmux session that survives the terminal.
    Persistent,
}

impl SessionMode {
    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Direct => "direct",
            SessionMode::Persistent => "persistent",
        }
    }
}

impl fmt::Display for SessionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "direct" => Ok(SessionMode::Direct),
            "persistent" => Ok(SessionMode::Persistent),
            other => Err(Error::invalid(format!(
                "unknown session mode {other:?}; expected \"direct\" or \"persistent\""
            ))),
        }
    }
}

/// Values given explicitly by the caller (command-line flags); they beat everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Task root.
    pub root: Option<PathBuf>,
    /// Project root.
    pub project_root: Option<PathBuf>,
    /// Seed directory for every new workspace.
    pub seed_dir: Option<PathBuf>,
    /// Seed directory for new projects.
    pub project_seed_dir: Option<PathBuf>,
    /// Default agent (plain-string rule).
    pub default_agent: Option<String>,
    /// Session mode.
    pub session_mode: Option<SessionMode>,
    /// Heartbeat interval in seconds.
    pub heartbeat_seconds: Option<u64>,
    /// Lease expiry in seconds.
    pub stale_after_seconds: Option<u64>,
}

/// The contents of `config.yaml`; every key optional, unknown keys refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Task root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Project root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_root: Option<String>,
    /// Seed directory for every new workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_dir: Option<String>,
    /// Seed directory for new projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_seed_dir: Option<String>,
    /// Default agent: a plain string or an agent map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_agent: Option<AgentSpec>,
    /// Session mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_mode: Option<SessionMode>,
    /// Heartbeat interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<u64>,
    /// Lease expiry in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_after_seconds: Option<u64>,
    /// The most end-manifest entries a summary carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_manifest_max: Option<usize>,
}

impl ConfigFile {
    /// Parses config text; errors name `path` and, for unknown keys, the key.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile> {
        serde_yaml_ng::from_str::<Option<ConfigFile>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| Error::format(path, e.to_string()))
    }

    /// Reads the config file; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<ConfigFile>> {
        let Some(bytes) = fsio::read_optional(path)? else {
            return Ok(None);
        };
        let text =
            String::from_utf8(bytes).map_err(|_| Error::format(path, "is not valid UTF-8 text"))?;
        ConfigFile::parse(&text, path).map(Some)
    }
}

/// Every setting ctask needs, resolved, each with its source.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Task root (`CTASK_ROOT`, default `~/ai-workspaces`).
    pub root: Setting<PathBuf>,
    /// Project root (`CTASK_PROJECT_ROOT`, default `<root>/projects`).
    pub project_root: Setting<PathBuf>,
    /// Seed directory copied into every new workspace (none by default).
    pub seed_dir: Setting<Option<PathBuf>>,
    /// Seed directory copied into new projects after `seed_dir` (none by default).
    pub project_seed_dir: Setting<Option<PathBuf>>,
    /// Agent of workspaces whose `task.yaml` names none (default `claude`).
    pub default_agent: Setting<AgentSpec>,
    /// Session mode (default `direct`).
    pub session_mode: Setting<SessionMode>,
    /// Heartbeat interval in seconds (default 30; at most half of `stale_after_seconds`).
    pub heartbeat_seconds: Setting<u64>,
    /// Age after which a foreign host's lease counts as expired (default 60).
    pub stale_after_seconds: Setting<u64>,
    /// The most end-manifest entries a summary carries (config file only, default 20 000);
    /// above it the summary records only their count.
    pub summary_manifest_max: Setting<usize>,
    /// Where the config file is looked for (`None` when neither `XDG_CONFIG_HOME` nor
    /// `HOME` is set).
    pub config_path: Option<PathBuf>,
    /// Whether that file existed and was read.
    pub config_loaded: bool,
}

/// The config file location for an environment: `$XDG_CONFIG_HOME/ctask/config.yaml`,
/// else `$HOME/.config/ctask/config.yaml`.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(xdg) = get("XDG_CONFIG_HOME").filter(|v| Path::new(v).is_absolute()) {
        return Some(PathBuf::from(xdg).join("ctask").join("config.yaml"));
    }
    get("HOME").map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("ctask")
            .join("config.yaml")
    })
}

impl Settings {
    /// Resolves every setting from `overrides`, the environment given by `env` (which
    /// also supplies `HOME` and `XDG_CONFIG_HOME`) and the config file. An empty
    /// environment variable counts as unset.
    pub fn resolve(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings> {
        Settings::resolve_inner(overrides, env, true)
    }

    /// [`Settings::resolve`] without reading the config file: flags, environment and
    /// defaults only (`config_loaded` is false). For diagnostics that must go on when the
    /// config file itself is broken.
    pub fn resolve_without_config(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings> {
        Settings::resolve_inner(overrides, env, false)
    }

    fn resolve_inner(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        read_config: bool,
    ) -> Result<Settings> {
        let config_path = config_path(env);
        let file = match &config_path {
            Some(p) if read_config => ConfigFile::load(p)?,
            _ => None,
        };
        let config_loaded = file.is_some();
        let layers = Layers {
            env,
            home: env("HOME").filter(|v| !v.is_empty()),
            file: file.unwrap_or_default(),
            file_path: config_path.clone().unwrap_or_default(),
        };
        let file = &layers.file;
        let root = match layers.path(&overrides.root, ENV_ROOT, "root", &file.root)? {
            Some(s) => s,
            None => {
                let Some(h) = &layers.home else {
                    return Err(Error::invalid(format!(
                        "cannot find the workspace root: HOME is not set; set {ENV_ROOT}"
                    )));
                };
                Setting::new(PathBuf::from(h).join("ai-workspaces"), Source::Default)
            }
        };
        let project_root = layers
            .path(
                &overrides.project_root,
                ENV_PROJECT_ROOT,
                "project_root",
                &file.project_root,
            )?
            .unwrap_or_else(|| Setting::new(root.value.join("projects"), Source::Default));
        let seed_dir = optional(layers.path(
            &overrides.seed_dir,
            ENV_SEED_DIR,
            "seed_dir",
            &file.seed_dir,
        )?);
        let project_seed_dir = optional(layers.path(
            &overrides.project_seed_dir,
            ENV_SEED_PROJECT_DIR,
            "project_seed_dir",
            &file.project_seed_dir,
        )?);
        let default_agent = layers.default_agent(overrides);
        let session_mode = layers.session_mode(overrides)?;
        let heartbeat_seconds = layers.seconds(
            overrides.heartbeat_seconds,
            ENV_HEARTBEAT_SECONDS,
            file.heartbeat_seconds,
            DEFAULT_HEARTBEAT_SECONDS,
        )?;
        let stale_after_seconds = layers.seconds(
            overrides.stale_after_seconds,
            ENV_STALE_AFTER_SECONDS,
            file.stale_after_seconds,
            DEFAULT_STALE_AFTER_SECONDS,
        )?;
        check_intervals(&heartbeat_seconds, &stale_after_seconds)?;
        let summary_manifest_max = match file.summary_manifest_max {
            Some(n) => Setting::new(n, Source::Config),
            None => Setting::new(DEFAULT_SUMMARY_MANIFEST_MAX, Source::Default),
        };
        Ok(Settings {
            root,
            project_root,
            seed_dir,
            project_seed_dir,
            default_agent,
            session_mode,
            heartbeat_seconds,
            stale_after_seconds,
            summary_manifest_max,
            config_path,
            config_loaded,
        })
    }

    /// [`Settings::resolve`] against the real process environment.
    pub fn from_env(overrides: &Overrides) -> Result<Settings> {
        Settings::resolve(overrides, &|k| std::env::var(k).ok())
    }

    /// Settings for a given task root and nothing else configured: every other value is
    /// its built-in default and no config file is read. Meant for library callers that
    /// manage their own roots.
    pub fn with_root(root: &Path) -> Result<Settings> {
        let overrides = Overrides {
            root: Some(root.to_path_buf()),
            ..Overrides::default()
        };
        Settings::resolve(&overrides, &|_| None)
    }
}

/// The layers a setting comes from, below the flags: the environment, the config file and
/// the built-in default (the flag itself is passed to each lookup).
struct Layers<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    home: Option<String>,
    file: ConfigFile,
    file_path: PathBuf,
}

impl Layers<'_> {
    /// A non-empty environment variable.
    fn get(&self, k: &str) -> Option<String> {
        (self.env)(k).filter(|v| !v.is_empty())
    }

    /// A path setting: flag, environment, config file; `None` when none gives it.
    fn path(
        &self,
        flag: &Option<PathBuf>,
        env_name: &str,
        key: &str,
        cfg: &Option<String>,
    ) -> Result<Option<Setting<PathBuf>>> {
        let home = self.home.as_deref();
        if let Some(p) = flag {
            if p.as_os_str().is_empty() {
                return Err(Error::invalid_option(
                    key,
                    format!("`{key}` must not be empty"),
                ));
            }
            return Ok(Some(Setting::new(absolute(p, home, key)?, Source::Flag)));
        }
        if let Some(v) = self.get(env_name) {
            let p = absolute(Path::new(&v), home, env_name)?;
            return Ok(Some(Setting::new(p, Source::Env)));
        }
        if let Some(v) = cfg {
            let p = config_path_value(v, home, key, &self.file_path)?;
            return Ok(Some(Setting::new(p, Source::Config)));
        }
        Ok(None)
    }

    /// A number of seconds: flag, environment (a whole number), config file, default.
    fn seconds(
        &self,
        flag: Option<u64>,
        env_name: &str,
        cfg: Option<u64>,
        default: u64,
    ) -> Result<Setting<u64>> {
        if let Some(v) = flag {
            return Ok(Setting::new(v, Source::Flag));
        }
        if let Some(v) = self.get(env_name) {
            let n = v.trim().parse::<u64>().map_err(|_| {
                Error::invalid(format!(
                    "{env_name}={v:?}: expected a whole number of seconds"
                ))
            })?;
            return Ok(Setting::new(n, Source::Env));
        }
        if let Some(v) = cfg {
            return Ok(Setting::new(v, Source::Config));
        }
        Ok(Setting::new(default, Source::Default))
    }

    /// The default agent: flag, `CTASK_AGENT`, `default_agent`, `claude`.
    fn default_agent(&self, overrides: &Overrides) -> Setting<AgentSpec> {
        if let Some(a) = &overrides.default_agent {
            Setting::new(AgentSpec::from_plain(a), Source::Flag)
        } else if let Some(a) = self.get(ENV_AGENT) {
            Setting::new(AgentSpec::from_plain(&a), Source::Env)
        } else if let Some(a) = &self.file.default_agent {
            Setting::new(a.clone(), Source::Config)
        } else {
            Setting::new(AgentSpec::from_plain("claude"), Source::Default)
        }
    }

    /// The session mode: flag, `CTASK_SESSION_MODE`, `session_mode`, direct.
    fn session_mode(&self, overrides: &Overrides) -> Result<Setting<SessionMode>> {
        Ok(if let Some(m) = overrides.session_mode {
            Setting::new(m, Source::Flag)
        } else if let Some(m) = self.get(ENV_SESSION_MODE) {
            let m = m
                .parse::<SessionMode>()
                .map_err(|e| Error::invalid(format!("{ENV_SESSION_MODE}: {e}")))?;
            Setting::new(m, Source::Env)
        } else if let Some(m) = self.file.session_mode {
            Setting::new(m, Source::Config)
        } else {
            Setting::new(SessionMode::Direct, Source::Default)
        })
    }
}

/// An optional path setting (absent → `None` from the default).
fn optional(s: Option<Setting<PathBuf>>) -> Setting<Option<PathBuf>> {
    match s {
        Some(s) => Setting::new(Some(s.value), s.source),
        None => Setting::new(None, Source::Default),
    }
}

/// The heartbeat is at least 1 s and at most half of `stale_after`, each named with its
/// source when it is not.
fn check_intervals(heartbeat: &Setting<u64>, stale_after: &Setting<u64>) -> Result<()> {
    if heartbeat.value == 0 {
        return Err(Error::invalid_option(
            "heartbeat_seconds",
            format!(
                "heartbeat_seconds (from {}) must be at least 1",
                heartbeat.source
            ),
        ));
    }
    if heartbeat.value.saturating_mul(2) > stale_after.value {
        return Err(Error::invalid_option(
            "heartbeat_seconds",
            format!(
                "heartbeat_seconds ({}, from {}) must be at most half of stale_after_seconds ({}, from {})",
                heartbeat.value, heartbeat.source, stale_after.value, stale_after.source
            ),
        ));
    }
    Ok(())
}

/// Expands a leading `~` and makes a path from a flag or the environment absolute
/// (relative to the current directory).
fn absolute(p: &Path, home: Option<&str>, what: &str) -> Result<PathBuf> {
    let p = expand_home(p, home, what)?;
    if p.is_absolute() {
        return Ok(p);
    }
    std::path::absolute(&p).map_err(|e| Error::invalid(format!("{what}: {}: {e}", p.display())))
}

/// A path from the config file: `~` expanded, and it must then be absolute.
fn config_path_value(v: &str, home: Option<&str>, key: &str, file: &Path) -> Result<PathBuf> {
    let p = expand_home(Path::new(v), home, key).map_err(|e| Error::format(file, e.to_string()))?;
    if !p.is_absolute() {
        return Err(Error::format(
            file,
            format!("key `{key}`: {v:?} must be an absolute path (or start with ~/)"),
        ));
    }
    Ok(p)
}

fn expand_home(p: &Path, home: Option<&str>, what: &str) -> Result<PathBuf> {
    let Ok(rest) = p.strip_prefix("~") else {
        return Ok(p.to_path_buf());
    };
    match home {
        Some(h) => Ok(PathBuf::from(h).join(rest)),
        None => Err(Error::invalid(format!(
            "{what}: cannot expand {:?}: HOME is not set",
            p.display().to_string()
        ))),
    }
}
