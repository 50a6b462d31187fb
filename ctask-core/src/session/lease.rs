//! The lease (`.ctask/session.json`): who owns a workspace now.

use serde::{Deserialize, Serialize};

/// Contents of `session.json`. Unknown keys are ignored on read; absent values are omitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// `<hostname>-<pid>-<YYYYMMDDTHHMMSSZ>-<4 hex>`.
    pub session_id: String,
    /// Owner process id.
    pub pid: u32,
    /// Host the owner runs on.
    pub hostname: String,
}

/// Who owns a busy workspace (carried by [`crate::Error::ActiveSession`]).
pub type Owner = Lease;
