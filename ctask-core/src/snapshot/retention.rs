//! Retention: the history records of the last `snapshot_keep_sessions` sessions are kept,
//! and the objects they and the current baseline name, oldest records dropped first while
//! the store is above `snapshot_max_bytes`; never an object the baseline names.

use std::collections::HashSet;

use super::Settings;
use super::history;
use super::store::Store;
use crate::error::Result;
use crate::session::dirfd::Dir;
use crate::session::manifest::Entry;
use crate::session::paths::WRITE_LOCK;
use crate::session::writelock::{self, WriteLock};

/// Collects under `write.lock`; `baseline` is the end manifest just written. Runs only when
/// something may be due: there are more records than kept, or objects were written and the
/// store is above its bound.
pub(crate) fn collect(ctask: &Dir, store: &Store, s: &Settings, baseline: &[Entry]) -> Result<()> {
    let records_on_disk = match ctask.stat(history::HISTORY_DIR)? {
        Some(_) => ctask.open_sub(history::HISTORY_DIR, false)?.names()?.len(),
        None => 0,
    };
    // Nothing is due while no record is to go and the store is within its bound: every
    // content stored since the last collection is named by the baseline or a record.
    if records_on_disk <= s.keep_sessions
        && (store.written() == 0 || store.total_bytes()? <= s.max_bytes)
    {
        return Ok(());
    }
    let _guard = WriteLock::acquire_in(ctask, WRITE_LOCK, writelock::OUTLAST)?;
    store.sweep_temp();
    let records = history::read_all_named(ctask)?;
    let cat = store.catalog()?;
    let mut live: HashSet<[u8; 32]> = baseline.iter().filter_map(|e| e.sha256).collect();
    let base_bytes: u64 = live.iter().filter_map(|h| cat.size(h)).sum();
    let mut used = base_bytes;
    let mut kept = 0usize;
    let mut drop_ids = Vec::new();
    for (id, r) in &records {
        let Ok(r) = r else {
            // An unreadable record names nothing: it goes once it is among the oldest.
            if kept >= s.keep_sessions {
                drop_ids.push(id.clone());
            }
            continue;
        };
        if kept >= s.keep_sessions {
            drop_ids.push(id.clone());
            continue;
        }
        let new: Vec<[u8; 32]> = r
            .hashes
            .iter()
            .filter(|h| !live.contains(*h))
            .copied()
            .collect();
        let extra: u64 = new.iter().filter_map(|h| cat.size(h)).sum();
        if used + extra > s.max_bytes && kept > 0 {
            drop_ids.push(id.clone());
            kept = s.keep_sessions; // everything older goes too
            continue;
        }
        used += extra;
        live.extend(new);
        kept += 1;
    }
    for id in &drop_ids {
        history::remove(ctask, id)?;
    }
    store.retain(&cat, &live)
}
