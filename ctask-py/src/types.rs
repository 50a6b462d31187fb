//! Result classes: thin, immutable Python views of the core's result types, each with a
//! `__repr__` that shows its fields.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ctask_core::session::manifest::{Entry, Kind as EntryKind, Manifest};
use ctask_core::session::persistent::Started;
use ctask_core::session::status::{DiffReport, StatusReport};
use ctask_core::session::{Diff, Lease, Rename, RunResult, SummaryBrief};
use ctask_core::workspace::WorkspaceInfo;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::errors::IntoPyResult;

/// A field name and its value, for `__repr__`.
type Field<'py> = (&'static str, Bound<'py, PyAny>);

/// `Name(field=repr(value), …)`.
fn repr_of(name: &str, fields: &[Field<'_>]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        parts.push(format!("{k}={}", v.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

fn any<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
    v.into_bound_py_any(py)
}

fn renames(py: Python<'_>, r: &[Rename]) -> PyResult<Vec<Py<PyRename>>> {
    r.iter().map(|r| Py::new(py, PyRename(r.clone()))).collect()
}

// ----------------------------------------------------------------------------------------

/// A path that moved: deleted at `from_`, added at `to` with the same content.
#[pyclass(name = "Rename", module = "ctask._ctask", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyRename(pub Rename);

#[pymethods]
impl PyRename {
    #[new]
    #[pyo3(signature = (*, from_, to))]
    fn new(from_: String, to: String) -> Self {
        PyRename(Rename { from: from_, to })
    }
    /// The old path (`from` in JSON; `from` is a Python keyword).
    #[getter]
    fn from_(&self) -> &str {
        &self.0.from
    }
    /// The new path.
    #[getter]
    fn to(&self) -> &str {
        &self.0.to
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Rename",
            &[
                ("from_", any(py, &self.0.from)?),
                ("to", any(py, &self.0.to)?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// What changed between two manifests; every list sorted by path.
#[pyclass(name = "Diff", module = "ctask._ctask", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyDiff(pub Diff);

#[pymethods]
impl PyDiff {
    #[new]
    #[pyo3(signature = (*, added=Vec::new(), modified=Vec::new(), deleted=Vec::new(), renamed=Vec::new()))]
    fn new(
        added: Vec<String>,
        modified: Vec<String>,
        deleted: Vec<String>,
        renamed: Vec<PyRef<'_, PyRename>>,
    ) -> Self {
        PyDiff(Diff {
            added,
            modified,
            deleted,
            renamed: renamed.iter().map(|r| r.0.clone()).collect(),
        })
    }
    /// Paths that exist only now.
    #[getter]
    fn added(&self) -> Vec<String> {
        self.0.added.clone()
    }
    /// Paths whose content changed.
    #[getter]
    fn modified(&self) -> Vec<String> {
        self.0.modified.clone()
    }
    /// Paths that existed only before.
    #[getter]
    fn deleted(&self) -> Vec<String> {
        self.0.deleted.clone()
    }
    /// Deleted paths whose content reappeared under an added path.
    #[getter]
    fn renamed(&self, py: Python<'_>) -> PyResult<Vec<Py<PyRename>>> {
        renames(py, &self.0.renamed)
    }
    /// Whether nothing changed.
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Diff",
            &[
                ("added", any(py, &self.0.added)?),
                ("modified", any(py, &self.0.modified)?),
                ("deleted", any(py, &self.0.deleted)?),
                ("renamed", any(py, self.renamed(py)?)?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// A session's hand-off summary (as in `last-session-summary.json`, without its manifest).
#[pyclass(name = "Summary", module = "ctask._ctask", frozen)]
#[derive(Clone)]
pub struct PySummary(pub SummaryBrief);

#[pymethods]
impl PySummary {
    #[getter]
    fn session_id(&self) -> &str {
        &self.0.session_id
    }
    #[getter]
    fn hostname(&self) -> &str {
        &self.0.hostname
    }
    #[getter]
    fn agent(&self) -> &str {
        &self.0.agent
    }
    #[getter]
    fn mode(&self) -> &str {
        &self.0.mode
    }
    #[getter]
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    #[getter]
    fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    #[getter]
    fn duration_seconds(&self) -> i64 {
        self.0.duration_seconds
    }
    #[getter]
    fn files_added(&self) -> Vec<String> {
        self.0.files_added.clone()
    }
    #[getter]
    fn files_modified(&self) -> Vec<String> {
        self.0.files_modified.clone()
    }
    #[getter]
    fn files_deleted(&self) -> Vec<String> {
        self.0.files_deleted.clone()
    }
    #[getter]
    fn files_renamed(&self, py: Python<'_>) -> PyResult<Vec<Py<PyRename>>> {
        renames(py, &self.0.files_renamed)
    }
    #[getter]
    fn notes_updated(&self) -> bool {
        self.0.notes_updated
    }
    #[getter]
    fn end_reason(&self) -> Option<&'static str> {
        self.0.end_reason.map(|r| r.as_str())
    }
    #[getter]
    fn detected_via(&self) -> Option<&'static str> {
        self.0.detected_via.map(|d| d.as_str())
    }
    #[getter]
    fn exit_code(&self) -> Option<i32> {
        self.0.exit_code
    }
    #[getter]
    fn outside_changes(&self) -> Option<PyDiff> {
        self.0.outside_changes.clone().map(PyDiff)
    }
    #[getter]
    fn session_ownership(&self) -> Option<&str> {
        self.0.session_ownership.as_deref()
    }
    #[getter]
    fn ctask_version(&self) -> Option<&str> {
        self.0.ctask_version.as_deref()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let s = &self.0;
        repr_of(
            "Summary",
            &[
                ("session_id", any(py, &s.session_id)?),
                ("agent", any(py, &s.agent)?),
                ("mode", any(py, &s.mode)?),
                ("started_at", any(py, s.started_at)?),
                ("ended_at", any(py, s.ended_at)?),
                ("duration_seconds", any(py, s.duration_seconds)?),
                ("files_added", any(py, &s.files_added)?),
                ("files_modified", any(py, &s.files_modified)?),
                ("files_deleted", any(py, &s.files_deleted)?),
                ("files_renamed", any(py, self.files_renamed(py)?)?),
                ("notes_updated", any(py, s.notes_updated)?),
                ("end_reason", any(py, self.end_reason())?),
                ("detected_via", any(py, self.detected_via())?),
                ("exit_code", any(py, s.exit_code)?),
                ("outside_changes", any(py, self.outside_changes())?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// A lease (`session.json`): who owns a workspace.
#[pyclass(name = "Lease", module = "ctask._ctask", frozen)]
#[derive(Clone)]
pub struct PyLease(pub Lease);

#[pymethods]
impl PyLease {
    /// Rebuilds a lease from its JSON form (used by pickling).
    #[staticmethod]
    fn _from_json(text: &str) -> PyResult<PyLease> {
        serde_json::from_str(text)
            .map(PyLease)
            .map_err(|e| crate::errors::FormatError::new_err(format!("not a valid lease: {e}")))
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let json = serde_json::to_string(&slf.get().0).map_err(|e| {
            pyo3::exceptions::PyValueError::new_err(format!("cannot serialise lease: {e}"))
        })?;
        Ok((slf.get_type().getattr("_from_json")?, (json,)))
    }
    #[getter]
    fn session_id(&self) -> &str {
        &self.0.session_id
    }
    #[getter]
    fn pid(&self) -> u32 {
        self.0.pid
    }
    #[getter]
    fn hostname(&self) -> &str {
        &self.0.hostname
    }
    #[getter]
    fn user(&self) -> Option<&str> {
        self.0.user.as_deref()
    }
    #[getter]
    fn agent(&self) -> Option<&str> {
        self.0.agent.as_deref()
    }
    #[getter]
    fn mode(&self) -> &'static str {
        self.0.session_mode().as_str()
    }
    #[getter]
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    #[getter]
    fn heartbeat_at(&self) -> Option<DateTime<Utc>> {
        self.0.heartbeat_at
    }
    #[getter]
    fn heartbeat_seconds(&self) -> Option<u64> {
        self.0.heartbeat_seconds
    }
    #[getter]
    fn ctask_version(&self) -> Option<&str> {
        self.0.ctask_version.as_deref()
    }
    #[getter]
    fn tmux_session(&self) -> Option<&str> {
        self.0.tmux_session.as_deref()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let l = &self.0;
        repr_of(
            "Lease",
            &[
                ("session_id", any(py, &l.session_id)?),
                ("pid", any(py, l.pid)?),
                ("hostname", any(py, &l.hostname)?),
                ("user", any(py, &l.user)?),
                ("agent", any(py, &l.agent)?),
                ("mode", any(py, self.mode())?),
                ("started_at", any(py, l.started_at)?),
                ("heartbeat_at", any(py, l.heartbeat_at)?),
                ("heartbeat_seconds", any(py, l.heartbeat_seconds)?),
                ("ctask_version", any(py, &l.ctask_version)?),
                ("tmux_session", any(py, &l.tmux_session)?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// A workspace's session status (`ctask status --json`).
#[pyclass(name = "Status", module = "ctask._ctask", frozen)]
pub struct PyStatus(pub StatusReport);

#[pymethods]
impl PyStatus {
    /// `none`, `active`, `stale` or `unknown`.
    #[getter]
    fn state(&self) -> &'static str {
        self.0.state.as_str()
    }
    #[getter]
    fn mode(&self) -> Option<&'static str> {
        self.0.mode.map(|m| m.as_str())
    }
    #[getter]
    fn lease(&self) -> Option<PyLease> {
        self.0.lease.clone().map(PyLease)
    }
    #[getter]
    fn heartbeat_age_s(&self) -> Option<i64> {
        self.0.heartbeat_age_s
    }
    #[getter]
    fn tmux_session(&self) -> Option<&str> {
        self.0.tmux_session.as_deref()
    }
    #[getter]
    fn attached(&self) -> Option<bool> {
        self.0.attached
    }
    #[getter]
    fn diagnostic(&self) -> Option<&str> {
        self.0.diagnostic.as_deref()
    }
    #[getter]
    fn last_summary(&self) -> Option<PySummary> {
        self.0.last_summary.clone().map(PySummary)
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let s = &self.0;
        repr_of(
            "Status",
            &[
                ("state", any(py, self.state())?),
                ("mode", any(py, self.mode())?),
                ("lease", any(py, self.lease())?),
                ("heartbeat_age_s", any(py, s.heartbeat_age_s)?),
                ("tmux_session", any(py, &s.tmux_session)?),
                ("attached", any(py, s.attached)?),
                ("diagnostic", any(py, &s.diagnostic)?),
                ("last_summary", any(py, self.last_summary())?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// The result of `ctask.run`.
#[pyclass(name = "RunResult", module = "ctask._ctask", frozen)]
pub struct PyRunResult(pub RunResult);

#[pymethods]
impl PyRunResult {
    #[getter]
    fn session_id(&self) -> &str {
        &self.0.session_id
    }
    /// The agent's exit code (a signal n reads as 128+n).
    #[getter]
    fn exit_code(&self) -> i32 {
        self.0.exit_code
    }
    #[getter]
    fn summary(&self) -> PySummary {
        PySummary(self.0.summary.clone())
    }
    /// The workspace was new, nothing changed and the agent failed: it has been removed.
    #[getter]
    fn workspace_removed(&self) -> bool {
        self.0.workspace_removed
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "RunResult",
            &[
                ("session_id", any(py, &self.0.session_id)?),
                ("exit_code", any(py, self.0.exit_code)?),
                ("summary", any(py, self.summary())?),
                ("workspace_removed", any(py, self.0.workspace_removed)?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// A persistent session started detached (`ctask.run(..., mode="persistent")`): the agent
/// runs in tmux and a supervisor process owns the session and ends it when the agent exits.
#[pyclass(name = "PersistentSession", module = "ctask._ctask", frozen)]
pub struct PyPersistentSession {
    pub workspace: PathBuf,
    pub started: Started,
}

#[pymethods]
impl PyPersistentSession {
    #[getter]
    fn session_id(&self) -> &str {
        &self.started.session_id
    }
    /// The canonical workspace directory.
    #[getter]
    fn workspace(&self) -> PathBuf {
        self.workspace.clone()
    }
    /// The tmux session the agent runs in (attach with `tmux attach-session -t =NAME`).
    #[getter]
    fn tmux_session(&self) -> &str {
        &self.started.tmux_session
    }
    /// The pid of the supervisor that owns the session.
    #[getter]
    fn supervisor_pid(&self) -> u32 {
        self.started.supervisor_pid
    }
    /// An orphaned tmux session of this workspace was adopted instead of a new one created.
    #[getter]
    fn adopted(&self) -> bool {
        self.started.adopted
    }
    /// Warnings met while beginning (each is also issued with `warnings.warn`).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.started.warnings.clone()
    }
    /// The command that attaches a terminal to the session.
    fn attach_command(&self) -> Vec<String> {
        vec![
            "tmux".into(),
            "attach-session".into(),
            "-t".into(),
            format!("={}", self.started.tmux_session),
        ]
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "PersistentSession",
            &[
                ("session_id", any(py, &self.started.session_id)?),
                ("workspace", any(py, &self.workspace)?),
                ("tmux_session", any(py, &self.started.tmux_session)?),
                ("supervisor_pid", any(py, self.started.supervisor_pid)?),
                ("adopted", any(py, self.started.adopted)?),
                ("warnings", any(py, &self.started.warnings)?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// Changes since the last session ended (`ctask diff --json`).
#[pyclass(name = "DiffReport", module = "ctask._ctask", frozen)]
pub struct PyDiffReport(pub DiffReport);

#[pymethods]
impl PyDiffReport {
    /// `last_session` or `none`.
    #[getter]
    fn baseline(&self) -> &'static str {
        self.0.baseline
    }
    #[getter]
    fn baseline_session_id(&self) -> Option<&str> {
        self.0.baseline_session_id.as_deref()
    }
    #[getter]
    fn since(&self) -> Option<DateTime<Utc>> {
        self.0.since
    }
    #[getter]
    fn changes(&self) -> PyDiff {
        PyDiff(self.0.diff.clone())
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "DiffReport",
            &[
                ("baseline", any(py, self.0.baseline)?),
                ("baseline_session_id", any(py, &self.0.baseline_session_id)?),
                ("since", any(py, self.0.since)?),
                ("changes", any(py, self.changes())?),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// One path of a manifest.
#[pyclass(name = "ManifestEntry", module = "ctask._ctask", frozen)]
pub struct PyEntry(pub Entry);

#[pymethods]
impl PyEntry {
    /// Workspace-relative, `/`-separated path.
    #[getter]
    fn path(&self) -> &str {
        &self.0.path
    }
    #[getter]
    fn size(&self) -> u64 {
        self.0.size
    }
    /// Modification time (microseconds; `mtime_ns` has the full precision).
    #[getter]
    fn mtime(&self) -> DateTime<Utc> {
        self.0.mtime.to_datetime()
    }
    /// Modification time in nanoseconds since the Unix epoch.
    #[getter]
    fn mtime_ns(&self) -> i128 {
        i128::from(self.0.mtime.secs()) * 1_000_000_000 + i128::from(self.0.mtime.nanos())
    }
    /// SHA-256 of the content as hex (regular files that could be read).
    #[getter]
    fn sha256(&self) -> Option<String> {
        self.0.sha256_hex()
    }
    /// `file`, `symlink` or `other`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.0.kind {
            EntryKind::File => "file",
            EntryKind::Symlink => "symlink",
            EntryKind::Other => "other",
        }
    }
    /// The target of a symlink.
    #[getter]
    fn target(&self) -> Option<&str> {
        self.0.target.as_deref()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "ManifestEntry",
            &[
                ("path", any(py, &self.0.path)?),
                ("size", any(py, self.0.size)?),
                ("mtime", any(py, self.mtime())?),
                ("sha256", any(py, self.sha256())?),
                ("kind", any(py, self.kind())?),
                ("target", any(py, &self.0.target)?),
            ],
        )
    }
}

/// A snapshot of a workspace's files.
#[pyclass(name = "Manifest", module = "ctask._ctask", frozen)]
#[derive(Clone)]
pub struct PyManifest(pub Arc<Manifest>);

#[pymethods]
impl PyManifest {
    /// When the capture began.
    #[getter]
    fn captured_at(&self) -> DateTime<Utc> {
        self.0.captured_at
    }
    /// Every entry, sorted by path.
    #[getter]
    fn entries(&self) -> Vec<PyEntry> {
        self.0.entries.iter().cloned().map(PyEntry).collect()
    }
    /// Every listed path, sorted.
    fn paths(&self) -> Vec<String> {
        self.0.entries.iter().map(|e| e.path.clone()).collect()
    }
    /// The entry of `path`, if listed.
    fn get(&self, path: &str) -> Option<PyEntry> {
        self.0.get(path).cloned().map(PyEntry)
    }
    fn __contains__(&self, path: &str) -> bool {
        self.0.get(path).is_some()
    }
    fn __len__(&self) -> usize {
        self.0.entries.len()
    }
    /// The manifest as JSON (`{"captured_at": …, "files": […]}`, as `manifest-start.json`).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&*self.0).map_err(|e| {
            pyo3::exceptions::PyValueError::new_err(format!("cannot serialise manifest: {e}"))
        })
    }
    /// Reads a manifest from its JSON form.
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, text: &str) -> PyResult<Self> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| {
            crate::errors::FormatError::new_err(format!("not a valid manifest: {e}"))
        })?;
        let m = Manifest::from_entries(m.captured_at, m.entries, std::path::Path::new("<json>"))
            .py()?;
        Ok(PyManifest(Arc::new(m)))
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Manifest",
            &[
                ("captured_at", any(py, self.0.captured_at)?),
                (
                    "entries",
                    any(py, format!("<{} entries>", self.0.entries.len()))?,
                ),
            ],
        )
    }
}

// ----------------------------------------------------------------------------------------

/// A workspace directory and what its `task.yaml` says.
#[pyclass(name = "Workspace", module = "ctask._ctask", frozen)]
pub struct PyWorkspace(pub WorkspaceInfo);

fn parse_time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[pymethods]
impl PyWorkspace {
    /// Creates a new workspace (as `ctask new --no-launch`).
    #[staticmethod]
    #[pyo3(signature = (title, *, category=None, project=false, agent=None, root=None))]
    fn create(
        py: Python<'_>,
        title: String,
        category: Option<String>,
        project: bool,
        agent: Option<String>,
        root: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyWorkspace> {
        crate::functions::create_workspace(py, title, category, project, agent, root)
    }
    /// Opens the workspace at `path`.
    #[staticmethod]
    fn open(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PyWorkspace> {
        crate::functions::open_workspace(py, path)
    }
    /// The session status of this workspace.
    fn session_status(&self, py: Python<'_>) -> PyResult<PyStatus> {
        let dir = self.0.path.clone().into_pyobject(py)?;
        crate::functions::status(py, &dir, None)
    }
    /// Absolute path of the workspace directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.0.path.clone()
    }
    #[getter]
    fn dir_name(&self) -> &str {
        &self.0.dir_name
    }
    #[getter]
    fn slug(&self) -> &str {
        &self.0.slug
    }
    #[getter]
    fn title(&self) -> &str {
        &self.0.title
    }
    #[getter]
    fn category(&self) -> &str {
        &self.0.category
    }
    /// `task` or `project` (`type` in JSON).
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }
    /// `active` or `archived`.
    #[getter]
    fn status(&self) -> &'static str {
        self.0.status.as_str()
    }
    #[getter]
    fn created_at(&self) -> Option<DateTime<Utc>> {
        parse_time(&self.0.created_at)
    }
    #[getter]
    fn updated_at(&self) -> Option<DateTime<Utc>> {
        parse_time(&self.0.updated_at)
    }
    /// Launch directory relative to the workspace, when set.
    #[getter]
    fn launch_dir(&self) -> Option<&str> {
        self.0.launch_dir.as_deref()
    }
    /// The agent named in `task.yaml`.
    #[getter]
    fn agent(&self) -> Option<&str> {
        self.0.agent.as_deref()
    }
    /// Whether `task.yaml` cannot be read (`error` says why).
    #[getter]
    fn broken(&self) -> bool {
        self.0.broken
    }
    #[getter]
    fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The session state when this object was made (`active`, `stale`, `unknown`; None
    /// without a lease, or for a workspace made by `create`/`open`), as `ctask info` shows.
    #[getter]
    fn session_state(&self) -> Option<&str> {
        self.0.session.as_ref().map(|s| s.state.as_str())
    }
    /// When the last session ended (RFC 3339), as `ctask info` shows it; None if never.
    #[getter]
    fn last_ended_at(&self) -> Option<&str> {
        self.0.last_session.as_ref().map(|l| l.ended_at.as_str())
    }
    fn __fspath__(&self) -> String {
        self.0.path.to_string_lossy().into_owned()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let w = &self.0;
        repr_of(
            "Workspace",
            &[
                ("path", any(py, &w.path)?),
                ("dir_name", any(py, &w.dir_name)?),
                ("slug", any(py, &w.slug)?),
                ("title", any(py, &w.title)?),
                ("category", any(py, &w.category)?),
                ("kind", any(py, self.kind())?),
                ("status", any(py, self.status())?),
                ("created_at", any(py, self.created_at())?),
                ("updated_at", any(py, self.updated_at())?),
                ("launch_dir", any(py, &w.launch_dir)?),
                ("agent", any(py, &w.agent)?),
                ("broken", any(py, w.broken)?),
                ("error", any(py, &w.error)?),
            ],
        )
    }
}
