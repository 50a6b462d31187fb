//! `.ctask/index`: the last end manifest (the baseline and hash cache) in the binary layout
//! of [`manifest::binary`], naming the session that wrote it. Derived state: losing it costs
//! speed, never correctness (docs/design.md §4.1, §4.5).

use chrono::{DateTime, Utc};

use super::dirfd::Dir;
use super::manifest::binary::{self, Named, Role};
use super::manifest::{self, Entry};
use super::paths;
use crate::error::Result;
use crate::fsio;

/// What reading the index found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexFile {
    /// There is no index.
    Absent,
    /// A usable index.
    Present(Box<Named>),
    /// An index that cannot be used (foreign version, corrupt, too large); the detail says why.
    Unusable(String),
}

/// Reads the index of the workspace whose `.ctask/` directory is `ctask_dir`, in one
/// bounded read. Only an I/O error other than "not found" is an error.
pub fn read(ctask_dir: &std::path::Path) -> Result<IndexFile> {
    let path = ctask_dir.join(paths::INDEX);
    let bytes = match fsio::read_optional_capped(&path, manifest::MAX_MANIFEST_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(IndexFile::Absent),
        Err(crate::Error::BadFormat { detail, .. }) => return Ok(IndexFile::Unusable(detail)),
        Err(e) => return Err(e),
    };
    Ok(match binary::decode(&bytes, Role::Index) {
        Ok(n) => IndexFile::Present(Box::new(n)),
        Err(e) => IndexFile::Unusable(e.to_string()),
    })
}

/// Writes the index of session `session_id` (its end manifest `entries`, captured at
/// `captured_at`) atomically through the `.ctask/` directory descriptor `dir`. Its rename
/// is made durable by the summary's write that follows in the same directory (an index
/// that did not survive a power loss names an older session and is ignored).
pub fn write_in(
    dir: &Dir,
    session_id: &str,
    captured_at: &DateTime<Utc>,
    entries: &[Entry],
) -> Result<()> {
    dir.replace_with(paths::INDEX, |w| {
        binary::write_to(w, Role::Index, session_id, captured_at, entries)
    })
}
