//! ctask-core: workspaces for AI-agent work and the recorded sessions around every visit.
//!
//! The core never prints, prompts or exits; the faces (CLI, C ABI, Python) translate its
//! results and its one [`Error`] type.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod error;
pub mod fsio;
pub mod fstype;
pub mod hooks;
pub mod host;
pub mod manage;
pub mod program;
pub mod session;
pub mod snapshot;
pub mod timefmt;
pub mod watch;
pub mod workspace;

pub use error::{Error, Result};

/// Version of ctask, as recorded in leases and summaries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
