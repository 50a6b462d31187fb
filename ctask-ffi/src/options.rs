//! The options JSON objects the exported functions accept. Every object refuses unknown
//! keys with a message naming the key; a NULL options pointer means "all defaults".

use std::collections::BTreeMap;
use std::path::PathBuf;

use ctask_core::session::launch;
use ctask_core::session::{CaptureOptions, Mode, OnActive, SessionOptions};
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
            root: self.root.as_deref().map(PathBuf::from),
            project_root: self.project_root.as_deref().map(PathBuf::from),
            ..Overrides::default()
        };
        Ok(Settings::from_env(&overrides)?)
    }
}

/// Options of `ctask_session_begin`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BeginOptions {
    agent: Option<String>,
    on_active: Option<OnActive>,
    force: Option<bool>,
    launch_dir: Option<String>,
    heartbeat: Option<bool>,
    heartbeat_seconds: Option<u64>,
    stale_after_seconds: Option<u64>,
    respect_ignore: Option<bool>,
    env: Option<BTreeMap<String, String>>,
    root: Option<String>,
    mode: Option<String>,
    // Keys of persistent mode; checked by hand so that a mistake names the key.
    argv: Option<Value>,
    supervisor: Option<Value>,
}

/// What `ctask_session_begin` is asked to do.
pub(crate) enum Begin {
    /// Begin a session in this process (the host runs the agent).
    Direct(SessionOptions),
    /// Start a detached persistent session: `argv` in tmux, owned by a supervisor.
    Persistent {
        opts: SessionOptions,
        argv: Vec<String>,
        /// The `ctask` executable (absolute): the supervisor and the pane's `__exec` helper.
        supervisor: PathBuf,
    },
}

/// Default label recorded as `agent` for sessions begun through the C API.
pub(crate) const DEFAULT_AGENT: &str = "library";

impl BeginOptions {
    /// What to begin, with the core's session options; unset values come from the
    /// configuration.
    pub fn into_begin(mut self, dir: &std::path::Path) -> FfiResult<Begin> {
        let mode = match self.mode.as_deref() {
            None => Mode::Direct,
            Some(m) => m
                .parse::<Mode>()
                .map_err(|e| Failure::from(e).with("key", "mode"))?,
        };
        match mode {
            Mode::Direct => {
                for (key, v) in [("argv", &self.argv), ("supervisor", &self.supervisor)] {
                    if v.is_some() {
                        return Err(Failure::invalid(format!(
                            "options_json: `{key}` belongs to persistent mode \
                             (\"mode\": \"persistent\")"
                        ))
                        .with("key", key));
                    }
                }
                self.into_session_options(dir).map(Begin::Direct)
            }
            Mode::Persistent => {
                let argv = persistent_argv(self.argv.take())?;
                let supervisor = resolve_supervisor(self.supervisor.take())?;
                if self.agent.is_none() {
                    self.agent = Some(argv[0].clone());
                }
                let opts = self.into_session_options(dir)?;
                Ok(Begin::Persistent {
                    opts,
                    argv,
                    supervisor,
                })
            }
        }
    }

    /// The core's session options for workspace `dir`, checked by the core's rules.
    fn into_session_options(self, dir: &std::path::Path) -> FfiResult<SessionOptions> {
        // The user's config.yaml and environment fill in what the options leave out.
        // It is always read: it names the user's hooks.
        let settings = Settings::from_env(&Overrides::default())?;
        let heartbeat_seconds = self
            .heartbeat_seconds
            .unwrap_or(settings.heartbeat_seconds.value);
        let stale_after_seconds = self
            .stale_after_seconds
            .unwrap_or(settings.stale_after_seconds.value);
        let defaults = SessionOptions::default();
        let opts = SessionOptions {
            agent: self.agent.unwrap_or_else(|| DEFAULT_AGENT.to_owned()),
            launch: None,
            agent_env: self.env.unwrap_or_default(),
            on_active: self.on_active.unwrap_or_default(),
            force: self.force.unwrap_or(false),
            launch_dir: self.launch_dir,
            heartbeat: self.heartbeat.unwrap_or(true),
            heartbeat_seconds,
            stale_after_seconds,
            capture: CaptureOptions {
                respect_ignore: self.respect_ignore.unwrap_or(true),
            },
            root: self.root.as_deref().map(PathBuf::from),
            summary_manifest_max: settings.summary_manifest_max.value,
            snapshots: ctask_core::snapshot::Settings::for_dir(&settings, dir),
            hooks: settings.hooks.value,
            ..defaults
        };
        opts.validate()?;
        Ok(opts)
    }
}

/// The `argv` of a persistent session: a non-empty array of strings.
fn persistent_argv(v: Option<Value>) -> FfiResult<Vec<String>> {
    let bad = |detail: &str| {
        Failure::invalid(format!("options_json: `argv`: {detail}")).with("key", "argv")
    };
    let v = v.ok_or_else(|| bad("required in persistent mode (the command to run in tmux)"))?;
    let argv: Vec<String> =
        serde_json::from_value(v).map_err(|_| bad("must be an array of strings"))?;
    if argv.is_empty() || argv[0].is_empty() {
        return Err(bad("must name a command"));
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(bad("arguments must not contain NUL"));
    }
    Ok(argv)
}

/// The `ctask` executable that supervises a persistent session: the `supervisor` option (a
/// path, or a name looked up on PATH), by default `ctask` found on PATH — the one place
/// where ctask is looked up by name (docs/design.md §4.9). Made absolute, because the tmux pane
/// runs it too, from another directory and with the tmux server's PATH.
fn resolve_supervisor(v: Option<Value>) -> FfiResult<PathBuf> {
    let bad = |detail: String| {
        Failure::invalid(format!("options_json: `supervisor`: {detail}")).with("key", "supervisor")
    };
    let name = match v {
        None => "ctask".to_owned(),
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(_) => return Err(bad("must be a non-empty string".into())),
    };
    let found = launch::find_program(&name).map_err(|_| {
        bad(if name.contains('/') {
            format!("{name} is not an executable file")
        } else {
            format!("no executable {name:?} on PATH; pass the path of the ctask executable")
        })
    })?;
    std::path::absolute(&found).map_err(|e| bad(format!("{}: {e}", found.display())))
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

/// Options of `ctask_set_state`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateOptions {
    /// `working`, `waiting`, `idle` or `done` (required).
    pub state: Option<String>,
    /// One line of plain text.
    pub message: Option<String>,
    /// The caller's session (`CTASK_SESSION_ID`).
    pub session_id: Option<String>,
    /// Lease expiry, for judging the owner.
    pub stale_after_seconds: Option<u64>,
}

impl StateOptions {
    /// The lease expiry: given, else from the environment and config file.
    pub fn stale_after(&self) -> FfiResult<u64> {
        StatusOptions {
            stale_after_seconds: self.stale_after_seconds,
        }
        .stale_after()
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
