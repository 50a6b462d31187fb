//! Snapshots from Python: `ctask.undo(...)` and `ctask.history(...)` (docs/undo.md).

use chrono::{DateTime, Utc};
use ctask_core::session::SessionOptions;
use ctask_core::snapshot::{
    self, HistoryEntry, ItemStatus, UndoAction, UndoItem, UndoOptions, UndoReport,
};
use ctask_core::workspace::Workspace;
use pyo3::prelude::*;

use crate::errors::{self, IntoPyResult};
use crate::functions::settings;
use crate::session::path_arg;

/// One path of an undo.
#[pyclass(name = "UndoItem", module = "ctask._ctask", frozen)]
pub struct PyUndoItem(pub UndoItem);

fn action_name(a: UndoAction) -> &'static str {
    match a {
        UndoAction::Restore => "restore",
        UndoAction::Remove => "remove",
        UndoAction::Recreate => "recreate",
    }
}

fn status_name(s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Ok => "ok",
        ItemStatus::Unchanged => "unchanged",
        ItemStatus::Conflict => "conflict",
        ItemStatus::NotRestorable => "not_restorable",
    }
}

#[pymethods]
impl PyUndoItem {
    /// Workspace-relative path.
    #[getter]
    fn path(&self) -> &str {
        &self.0.path
    }
    /// `restore`, `remove` or `recreate`.
    #[getter]
    fn action(&self) -> &'static str {
        action_name(self.0.action)
    }
    /// `ok`, `unchanged`, `conflict` or `not_restorable`.
    #[getter]
    fn status(&self) -> &'static str {
        status_name(self.0.status)
    }
    /// Why it is a conflict or not restorable.
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// `force` stored its current content before overwriting it.
    #[getter]
    fn overwritten_kept(&self) -> bool {
        self.0.overwritten_kept
    }
    fn __repr__(&self) -> String {
        format!(
            "UndoItem(path={:?}, action={:?}, status={:?}, reason={:?})",
            self.0.path,
            self.action(),
            self.status(),
            self.0.reason
        )
    }
}

/// The result of `ctask.undo`.
#[pyclass(name = "UndoResult", module = "ctask._ctask", frozen)]
pub struct PyUndoResult(pub UndoReport);

#[pymethods]
impl PyUndoResult {
    /// The session whose changes were given back.
    #[getter]
    fn target(&self) -> &str {
        &self.0.target
    }
    /// Whether those were its outside changes.
    #[getter]
    fn outside(&self) -> bool {
        self.0.outside
    }
    /// Nothing was written (asked for).
    #[getter]
    fn dry_run(&self) -> bool {
        self.0.dry_run
    }
    /// The changes were given back (false when refused or in a dry run).
    #[getter]
    fn applied(&self) -> bool {
        self.0.applied
    }
    /// The undo's own session id (undo it to redo).
    #[getter]
    fn session_id(&self) -> Option<&str> {
        self.0.session_id.as_deref()
    }
    /// Every path concerned.
    #[getter]
    fn items(&self) -> Vec<PyUndoItem> {
        self.0.items.iter().cloned().map(PyUndoItem).collect()
    }
    /// The paths that stopped it (conflicts and contents not kept).
    #[getter]
    fn blocking(&self) -> Vec<PyUndoItem> {
        self.0.blocking().cloned().map(PyUndoItem).collect()
    }
    fn __repr__(&self) -> String {
        format!(
            "UndoResult(target={:?}, applied={}, dry_run={}, items={})",
            self.0.target,
            self.0.applied,
            self.0.dry_run,
            self.0.items.len()
        )
    }
}

/// One recorded session (`ctask.history`).
#[pyclass(name = "HistoryEntry", module = "ctask._ctask", frozen)]
pub struct PyHistoryEntry(pub HistoryEntry);

#[pymethods]
impl PyHistoryEntry {
    /// Its session id.
    #[getter]
    fn session_id(&self) -> &str {
        &self.0.session_id
    }
    /// `session` or `undo`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }
    /// Its agent label.
    #[getter]
    fn agent(&self) -> &str {
        &self.0.agent
    }
    /// When it began.
    #[getter]
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it ended.
    #[getter]
    fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    /// Paths it added, modified and deleted.
    #[getter]
    fn changes(&self) -> (usize, usize, usize) {
        let c = &self.0.changes;
        (c.added, c.modified, c.deleted)
    }
    /// Paths added, modified and deleted before it, while nobody was there.
    #[getter]
    fn outside(&self) -> (usize, usize, usize) {
        let c = &self.0.outside;
        (c.added, c.modified, c.deleted)
    }
    /// Whether every content its undo needs is kept.
    #[getter]
    fn restorable(&self) -> bool {
        self.0.restorable
    }
    /// Whether every content the undo of its outside changes needs is kept.
    #[getter]
    fn outside_restorable(&self) -> bool {
        self.0.outside_restorable
    }
    /// The paths whose old content is not kept.
    #[getter]
    fn not_restorable(&self) -> Vec<String> {
        self.0.not_restorable.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "HistoryEntry(session_id={:?}, kind={:?}, restorable={})",
            self.0.session_id,
            self.0.kind.as_str(),
            self.0.restorable
        )
    }
}

/// Gives back the changes of a recorded session of the workspace at `path` (default: the
/// last one that ended), all or nothing, as a session of its own.
#[pyfunction]
#[pyo3(signature = (path, session_id=None, paths=None, outside=false, dry_run=false, force=false))]
pub fn undo(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    session_id: Option<String>,
    paths: Option<Vec<String>>,
    outside: bool,
    dry_run: bool,
    force: bool,
) -> PyResult<PyUndoResult> {
    let dir = path_arg(path, "path")?;
    let opts = UndoOptions {
        session_id,
        outside,
        paths: paths.unwrap_or_default(),
        dry_run,
        force,
    };
    let report = py
        .detach(move || {
            let s = settings(None)?;
            let ws = Workspace::open(&dir)?;
            let sopts = SessionOptions {
                heartbeat_seconds: s.heartbeat_seconds.value,
                stale_after_seconds: s.stale_after_seconds.value,
                snapshots: snapshot::Settings::for_workspace(&s, &ws),
                ..SessionOptions::default()
            };
            snapshot::undo(&ws.dir, &opts, sopts)
        })
        .py()?;
    for w in &report.warnings {
        errors::warn(py, w)?;
    }
    Ok(PyUndoResult(report))
}

/// The recorded sessions of the workspace at `path`, newest first.
#[pyfunction]
pub fn history(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Vec<PyHistoryEntry>> {
    let dir = path_arg(path, "path")?;
    let report = py.detach(move || snapshot::history(&dir)).py()?;
    for w in &report.warnings {
        errors::warn(py, w)?;
    }
    Ok(report.sessions.into_iter().map(PyHistoryEntry).collect())
}
