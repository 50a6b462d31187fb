//! The baseline: what the workspace was when its last session ended, read from
//! `.ctask/index` when the index names the same session as the last summary, else from the
//! summary's `end_manifest` (docs/design.md §4.5). Summaries are read for their brief
//! fields; the manifest is parsed from JSON only when the index cannot serve.

use std::path::Path;

use super::index::{self, IndexFile};
use super::manifest::{CaptureOptions, Entry, Manifest};
use super::paths::CtaskPaths;
use super::summary::{self, Omitted, SummaryBrief, SummaryFile};
use crate::error::Result;

/// A baseline manifest and what it may serve as.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The manifest (entries a foreign manifest lists that today's rules exclude are dropped).
    pub manifest: Manifest,
    /// Whether it may serve as a hash cache (never one written by another tool).
    pub cache: bool,
    /// Whether it came from `.ctask/index` (else from the summary's `end_manifest`).
    pub from_index: bool,
}

/// The last summary (brief) and the baseline it stands for.
#[derive(Debug, Clone, Default)]
pub struct Last {
    /// The last ended session's summary, without its end manifest.
    pub summary: Option<SummaryBrief>,
    /// Its end manifest; `None` when there is no usable one.
    pub baseline: Option<Baseline>,
}

/// Reads the last summary and its baseline. Problems (an unreadable summary, a missing,
/// foreign or corrupt index, an index naming another session) are warnings, never errors.
pub fn load(
    paths: &CtaskPaths,
    ws: &Path,
    opts: &CaptureOptions,
    warnings: &mut Vec<String>,
) -> Result<Last> {
    let summary = match summary::read::<Omitted>(&paths.summary)? {
        SummaryFile::Absent => return Ok(Last::default()),
        SummaryFile::Present(s) => *s,
        SummaryFile::Unreadable(detail) => {
            warnings.push(format!(
                "{} is unreadable ({detail}); proceeding without a baseline",
                paths.summary.display()
            ));
            return Ok(Last::default());
        }
    };
    let why = match index::read(&paths.dir)? {
        IndexFile::Present(named) if named.session_id == summary.session_id => {
            return Ok(Last {
                summary: Some(summary),
                baseline: Some(Baseline {
                    cache: !named.manifest.is_foreign(),
                    manifest: named.manifest,
                    from_index: true,
                }),
            });
        }
        IndexFile::Present(named) => format!(
            "names session {}, the last summary {}",
            named.session_id, summary.session_id
        ),
        IndexFile::Absent => "is missing".to_owned(),
        IndexFile::Unusable(detail) => format!("is unusable: {detail}"),
    };
    let index_path = paths.index.display();
    if let Some(n) = summary.end_manifest_omitted {
        warnings.push(format!(
            "{index_path} {why}, and the summary leaves out its end manifest ({n} entries): \
             proceeding without a baseline"
        ));
        return Ok(Last {
            summary: Some(summary),
            baseline: None,
        });
    }
    // The index cannot serve: parse the summary's end manifest.
    let mut full = match summary::read::<Vec<Entry>>(&paths.summary)? {
        SummaryFile::Present(s) if s.session_id == summary.session_id => *s,
        _ => {
            warnings.push(format!(
                "{} changed while it was read; proceeding without a baseline",
                paths.summary.display()
            ));
            return Ok(Last {
                summary: Some(summary),
                baseline: None,
            });
        }
    };
    let native = full.end_manifest_captured_at.is_some();
    // Only a summary of ours that should have had an index is worth a warning; one written
    // by the reference tool never has one.
    if native {
        warnings.push(format!(
            "{index_path} {why}; using the summary's end manifest as the baseline"
        ));
    }
    let brief = full.brief();
    let mut m = full.take_end_manifest();
    let foreign = !native || m.is_foreign();
    if foreign {
        m.retain_included(ws, opts);
    }
    Ok(Last {
        summary: Some(brief),
        baseline: Some(Baseline {
            manifest: m,
            cache: !foreign,
            from_index: false,
        }),
    })
}
