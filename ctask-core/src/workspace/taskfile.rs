//! `task.yaml`: the description of one workspace, and the agent spec it may carry.
//!
//! Unknown keys are kept on rewrite; absent values are omitted, never written as `null`;
//! a `schema_version` newer than [`SCHEMA_VERSION`] is refused.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_yaml_ng::{Mapping, Value};

use crate::error::{Error, Result};
use crate::fsio;

/// The `task.yaml` schema this ctask reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// Whether a workspace is a task or a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A task (the default when `type` is missing).
    #[default]
    Task,
    /// A project: its own git repository and a `<slug>/` launch directory.
    Project,
}

impl Kind {
    /// The name used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Project => "project",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "task" => Ok(Kind::Task),
            "project" => Ok(Kind::Project),
            other => Err(Error::invalid_option(
                "kind",
                format!("`kind` must be \"task\" or \"project\", not {other:?}"),
            )),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a workspace is in use or archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In use (the default).
    #[default]
    Active,
    /// Archived: hidden from `list` and name matching unless asked for.
    Archived,
}

impl Status {
    /// The name used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Archived => "archived",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of agent a workspace runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// Claude Code (runs `claude`).
    Claude,
    /// opencode (runs `opencode`).
    Opencode,
    /// Any other program, named by `command`.
    Custom,
}

impl AgentKind {
    /// The name used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Claude => "claude",
            AgentKind::Opencode => "opencode",
            AgentKind::Custom => "custom",
        }
    }
}

/// The agent of a workspace. In YAML either a plain string (`claude`, `opencode`, or any
/// other command, which makes a custom agent) or a map `{type, command, args, env}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSpec {
    /// The agent type.
    #[serde(rename = "type")]
    pub kind: AgentKind,
    /// The program to run; required for custom agents, overrides the built-in program
    /// for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments after the program.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Extra environment variables for the agent.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Keys of the agent map this ctask does not know; kept on rewrite.
    #[serde(flatten, skip_serializing_if = "Mapping::is_empty")]
    pub extra: Mapping,
}

impl AgentSpec {
    /// The plain-string rule: `claude` and `opencode` become that type, anything else a
    /// custom agent with that string as its command (one program, never split).
    pub fn from_plain(s: &str) -> AgentSpec {
        let s = s.trim();
        let (kind, command) = match s {
            "claude" => (AgentKind::Claude, None),
            "opencode" => (AgentKind::Opencode, None),
            other => (AgentKind::Custom, Some(other.to_string())),
        };
        AgentSpec {
            kind,
            command,
            args: Vec::new(),
            env: BTreeMap::new(),
            extra: Mapping::new(),
        }
    }

    /// [`AgentSpec::from_plain`] of an agent named by a caller (`-a`, Python's `agent=`):
    /// an empty or blank name is an [`Error::InvalidArgument`] about `agent`.
    pub fn parse_plain(s: &str) -> Result<AgentSpec> {
        if s.trim().is_empty() || s.contains('\0') {
            return Err(Error::invalid_option(
                "agent",
                "the agent must name a command (not empty)",
            ));
        }
        Ok(AgentSpec::from_plain(s))
    }

    /// The program this agent runs (before any PATH lookup).
    pub fn program(&self) -> Result<&str> {
        let program = match (&self.command, self.kind) {
            (Some(c), _) => c.as_str(),
            (None, AgentKind::Claude) => "claude",
            (None, AgentKind::Opencode) => "opencode",
            (None, AgentKind::Custom) => {
                return Err(Error::invalid("agent of type custom needs a command"));
            }
        };
        if program.trim().is_empty() {
            return Err(Error::invalid("agent command is empty"));
        }
        Ok(program)
    }

    /// The argv to launch: the program followed by `args`.
    pub fn argv(&self) -> Result<Vec<String>> {
        let mut argv = vec![self.program()?.to_string()];
        argv.extend(self.args.iter().cloned());
        Ok(argv)
    }

    /// A short human label: the agent type, or the command of a custom agent.
    pub fn label(&self) -> String {
        match (&self.command, self.kind) {
            (Some(c), AgentKind::Custom) => c.clone(),
            _ => self.kind.as_str().to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for AgentSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AgentSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an agent name or a map {type, command, args, env}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<AgentSpec, E> {
                if s.trim().is_empty() {
                    return Err(E::custom("agent must not be empty"));
                }
                Ok(AgentSpec::from_plain(s))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<AgentSpec, A::Error> {
                let m: AgentMapRaw =
                    Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let kind = match (m.kind, &m.command) {
                    (Some(k), _) => k,
                    (None, Some(_)) => AgentKind::Custom,
                    (None, None) => {
                        return Err(de::Error::custom("agent map needs `type` or `command`"));
                    }
                };
                if kind == AgentKind::Custom
                    && m.command.as_deref().is_none_or(|c| c.trim().is_empty())
                {
                    return Err(de::Error::custom("agent of type custom needs a `command`"));
                }
                Ok(AgentSpec {
                    kind,
                    command: m.command,
                    args: m.args,
                    env: m.env,
                    extra: m.extra,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct AgentMapRaw {
    #[serde(rename = "type", default)]
    kind: Option<AgentKind>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(flatten)]
    extra: Mapping,
}

/// The `workspace:` section of `task.yaml` (`{mode: native}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceSection {
    /// How the workspace is stored; ctask creates `native` ones.
    #[serde(default = "native")]
    pub mode: String,
    /// Keys this ctask does not know; kept on rewrite.
    #[serde(flatten, skip_serializing_if = "Mapping::is_empty")]
    pub extra: Mapping,
}

fn native() -> String {
    "native".to_string()
}

impl Default for WorkspaceSection {
    fn default() -> Self {
        WorkspaceSection {
            mode: native(),
            extra: Mapping::new(),
        }
    }
}

/// The contents of `task.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFile {
    /// Schema of the file; always [`SCHEMA_VERSION`] when written by this ctask.
    #[serde(default = "schema_version")]
    pub schema_version: u64,
    /// The `workspace:` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<WorkspaceSection>,
    /// Human title.
    pub title: String,
    /// Slug (including any collision suffix).
    pub slug: String,
    /// Category (the directory under the root for tasks).
    #[serde(default)]
    pub category: String,
    /// Task or project (`type` in the file; missing means task).
    #[serde(rename = "type", default)]
    pub kind: Kind,
    /// Active or archived.
    #[serde(default)]
    pub status: Status,
    /// Creation time (RFC 3339, UTC).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::timefmt::strict"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change of this file (RFC 3339, UTC).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::timefmt::strict"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    /// Directory the agent starts in, relative to the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_dir: Option<String>,
    /// The agent; absent means the configured default agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentSpec>,
    /// Keys this ctask does not know; kept on rewrite.
    #[serde(flatten)]
    pub extra: Mapping,
}

fn schema_version() -> u64 {
    SCHEMA_VERSION
}

impl TaskFile {
    /// A new task file for `title`/`slug`/`category`, created and updated now.
    pub fn new(title: &str, slug: &str, category: &str, kind: Kind) -> TaskFile {
        let now = crate::timefmt::now_secs();
        TaskFile {
            schema_version: SCHEMA_VERSION,
            workspace: Some(WorkspaceSection::default()),
            title: title.to_string(),
            slug: slug.to_string(),
            category: category.to_string(),
            kind,
            status: Status::Active,
            created_at: Some(now),
            updated_at: Some(now),
            launch_dir: None,
            agent: None,
            extra: Mapping::new(),
        }
    }

    /// Parses `task.yaml` text; every error is a [`Error::BadFormat`] naming `path`.
    pub fn parse(text: &str, path: &Path) -> Result<TaskFile> {
        if text.trim().is_empty() {
            return Err(Error::format(path, "is empty"));
        }
        let value: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| Error::format(path, format!("is not valid YAML: {e}")))?;
        let Value::Mapping(map) = &value else {
            return Err(Error::format(path, "is not a YAML map of keys"));
        };
        let in_section = map
            .get("workspace")
            .and_then(Value::as_mapping)
            .is_some_and(|w| w.contains_key("hooks"));
        if map.contains_key("hooks") || in_section {
            return Err(Error::format(
                path,
                "has a `hooks` key, which is refused: hooks run programs, and a workspace                  must never make ctask run one; put hooks in your own config.yaml",
            ));
        }
        if let Some(v) = map.get("schema_version") {
            match v.as_u64() {
                Some(n) if n > SCHEMA_VERSION => {
                    return Err(Error::format(
                        path,
                        format!(
                            "schema_version {n} is newer than this ctask understands \
                             ({SCHEMA_VERSION}); upgrade ctask"
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    return Err(Error::format(path, "schema_version is not a whole number"));
                }
            }
        }
        serde_yaml_ng::from_str(text).map_err(|e| Error::format(path, e.to_string()))
    }

    /// Reads and parses `task.yaml` at `path`. A missing, unreadable, non-UTF-8 or
    /// malformed file is an [`Error::BadFormat`] naming it.
    pub fn load(path: &Path) -> Result<TaskFile> {
        let bytes = match fsio::read_optional(path) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(Error::format(path, "does not exist")),
            Err(Error::Io { source, .. }) => {
                return Err(Error::format(path, format!("cannot be read: {source}")));
            }
            Err(e) => return Err(e),
        };
        let text =
            String::from_utf8(bytes).map_err(|_| Error::format(path, "is not valid UTF-8 text"))?;
        TaskFile::parse(&text, path)
    }

    /// The YAML text of this file.
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml_ng::to_string(self)
            .map_err(|e| Error::invalid(format!("cannot serialise task.yaml: {e}")))
    }

    /// Writes this file to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self
            .to_yaml()
            .map_err(|e| Error::format(path, e.to_string()))?;
        fsio::write_atomic(path, text.as_bytes())
    }

    /// Sets `updated_at` to now.
    pub fn touch(&mut self) {
        self.updated_at = Some(crate::timefmt::now_secs());
    }
}

/// RFC 3339 formatting used in files: UTC, whole seconds, `Z`.
pub fn format_time(t: &DateTime<Utc>) -> String {
    crate::timefmt::format(t)
}
