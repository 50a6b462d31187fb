//! Sessions: lease, liveness, locks, heartbeat, manifest, diff, summary, log, begin/end, run.

pub mod diff;
pub mod lease;
pub mod manifest;
