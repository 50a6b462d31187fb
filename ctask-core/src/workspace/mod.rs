//! Workspaces: roots, naming, `task.yaml`, seeding, discovery, query resolution, config.
//!
//! A workspace is a directory holding `task.yaml` under one of the two roots
//! (tasks: `<root>/<category>/<YYYY-MM-DD>_<slug>/`, projects:
//! `<project_root>/<YYYY-MM-DD>_<slug>/`).

pub mod config;
pub mod create;
pub mod discover;
pub mod info;
pub mod listing;
mod model;
pub mod resolve;
pub mod slug;
pub mod taskfile;

pub use config::{Overrides, SessionMode, Setting, Settings, Source};
pub use create::NewOptions;
pub use discover::{Found, discover};
pub use info::{LastSessionBrief, SessionBrief, WorkspaceInfo};
pub use model::{TASK_FILE, Workspace};
pub use resolve::{ResolveOptions, resolve, resolve_found};
pub use taskfile::{AgentKind, AgentSpec, Kind, Status, TaskFile};
