//! The options JSON objects the exported functions accept. Every object refuses unknown
//! keys with a message naming the key; a NULL options pointer means "all defaults".

use std::collections::BTreeMap;
use std::path::PathBuf;

use ctask_core::session::{CaptureOptions, OnActive, SessionOptions};
use ctask_core::workspace::{AgentSpec, NewOptions, Overrides, ResolveOptions, Settings};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Failure, FfiResult};

/// Parses an options object; `None` (a NULL pointer) gives the defaults.
pub(crate) fn parse<T: DeserializeOwned + Default>(text: Option<&str>, arg: &str) -> FfiResult<T> {
    let Some(text) = text else {
        return Ok(T::default());
    };
    serde_json::from_str(text).map_err(|e| {
        Failure::invalid(format!("{arg}: {e}"))
            .with("argument", arg)
            .with("detail", e.to_string())
    })
}

/// Where workspaces live; both keys override the environment and the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RootOptions {
    pub root: Option<String>,
    pub project_root: Option<String>,
}

impl RootOptions {
    pub fn settings(&self) -> FfiResult<Settings> {
        let overrides = Overrides {
            root: non_empty_path(self.root.as_deref(), "root")?,
            project_root: non_empty_path(self.project_root.as_deref(), "project_root")?,
            ..Overrides::default()
        };
        Ok(Settings::from_env(&overrides)?)
    }
}

fn non_empty_path(v: Option<&str>, key: &str) -> FfiResult<Option<PathBuf>> {
    match v {
        Some(s) if s.trim().is_empty() => Err(Failure::invalid(format!(
            "options_json: `{key}` must not be empty"
        ))),
        Some(s) => Ok(Some(PathBuf::from(s))),
        None => Ok(None),
    }
}

/// Options of `ctask_session_begin`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BeginOptions {
    agent: Option<String>,
    on_active: Option<OnActiveOpt>,
    force: Option<bool>,
    launch_dir: Option<String>,
    heartbeat: Option<bool>,
    heartbeat_seconds: Option<u64>,
    stale_after_seconds: Option<u64>,
    respect_ignore: Option<bool>,
    env: Option<BTreeMap<String, String>>,
    root: Option<String>,
    mode: Option<String>,
    // Keys of persistent mode, recognised only to refuse them clearly.
    argv: Option<Value>,
    supervisor: Option<Value>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OnActiveOpt {
    Error,
    Coexist,
}

/// Default label recorded as `agent` for sessions begun through the C API.
pub(crate) const DEFAULT_AGENT: &str = "library";

impl BeginOptions {
    /// The core's session options; unset values come from the configuration.
    pub fn into_session_options(self) -> FfiResult<SessionOptions> {
        match self.mode.as_deref() {
            None | Some("direct") => {}
            Some("persistent") => {
                return Err(Failure::invalid(
                    "options_json: `mode`: persistent sessions are not available through the \
                     C API yet; only \"direct\" is supported",
                ));
            }
            Some(other) => {
                return Err(Failure::invalid(format!(
                    "options_json: `mode`: unknown session mode {other:?}; expected \"direct\""
                )));
            }
        }
        for (key, v) in [("argv", &self.argv), ("supervisor", &self.supervisor)] {
            if v.is_some() {
                return Err(Failure::invalid(format!(
                    "options_json: `{key}` belongs to persistent mode, which the C API does \
                     not support yet"
                )));
            }
        }
        let agent = self.agent.unwrap_or_else(|| DEFAULT_AGENT.to_owned());
        if agent.trim().is_empty() {
            return Err(Failure::invalid("options_json: `agent` must not be empty"));
        }
        let env = self.env.unwrap_or_default();
        for (k, v) in &env {
            if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
                return Err(Failure::invalid(format!(
                    "options_json: `env`: invalid environment variable {k:?}"
                )));
            }
        }
        let (heartbeat_seconds, stale_after_seconds) =
            match (self.heartbeat_seconds, self.stale_after_seconds) {
                (Some(h), Some(s)) => (h, s),
                (h, s) => {
                    let settings = Settings::from_env(&Overrides::default())?;
                    (
                        h.unwrap_or(settings.heartbeat_seconds.value),
                        s.unwrap_or(settings.stale_after_seconds.value),
                    )
                }
            };
        if heartbeat_seconds == 0 || heartbeat_seconds.saturating_mul(2) > stale_after_seconds {
            return Err(Failure::invalid(format!(
                "options_json: `heartbeat_seconds` ({heartbeat_seconds}) must be at least 1 and \
                 at most half of `stale_after_seconds` ({stale_after_seconds})"
            )));
        }
        let defaults = SessionOptions::default();
        Ok(SessionOptions {
            agent,
            launch: None,
            agent_env: env,
            on_active: match self.on_active {
                None | Some(OnActiveOpt::Error) => OnActive::Error,
                Some(OnActiveOpt::Coexist) => OnActive::Coexist,
            },
            force: self.force.unwrap_or(false),
            launch_dir: self.launch_dir,
            heartbeat: self.heartbeat.unwrap_or(true),
            heartbeat_seconds,
            stale_after_seconds,
            capture: CaptureOptions {
                respect_ignore: self.respect_ignore.unwrap_or(true),
            },
            root: non_empty_path(self.root.as_deref(), "root")?,
            ..defaults
        })
    }
}

/// Options of `ctask_workspace_create`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOptions {
    #[serde(default)]
    title: String,
    category: Option<String>,
    #[serde(default)]
    project: bool,
    agent: Option<AgentSpec>,
    root: Option<String>,
    project_root: Option<String>,
}

impl CreateOptions {
    pub fn split(self) -> (RootOptions, NewOptions) {
        (
            RootOptions {
                root: self.root,
                project_root: self.project_root,
            },
            NewOptions {
                title: self.title,
                category: self.category,
                project: self.project,
                agent: self.agent,
            },
        )
    }
}

/// Options of `ctask_workspace_resolve` and `ctask_workspace_list`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LookupOptions {
    /// Include archived workspaces.
    #[serde(default)]
    pub all: bool,
    root: Option<String>,
    project_root: Option<String>,
}

impl LookupOptions {
    pub fn settings(&self) -> FfiResult<Settings> {
        RootOptions {
            root: self.root.clone(),
            project_root: self.project_root.clone(),
        }
        .settings()
    }

    pub fn resolve_options(&self) -> ResolveOptions {
        ResolveOptions {
            include_archived: self.all,
        }
    }
}

/// Options of `ctask_workspace_status`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusOptions {
    stale_after_seconds: Option<u64>,
}

impl StatusOptions {
    pub fn stale_after(&self) -> FfiResult<u64> {
        match self.stale_after_seconds {
            Some(0) => Err(Failure::invalid(
                "options_json: `stale_after_seconds` must be at least 1",
            )),
            Some(s) => Ok(s),
            None => Ok(Settings::from_env(&Overrides::default())?
                .stale_after_seconds
                .value),
        }
    }
}

/// Options of `ctask_manifest_capture` and `ctask_workspace_diff`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaptureOpts {
    respect_ignore: Option<bool>,
}

impl CaptureOpts {
    pub fn capture_options(&self) -> CaptureOptions {
        CaptureOptions {
            respect_ignore: self.respect_ignore.unwrap_or(true),
        }
    }
}
