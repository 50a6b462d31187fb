//! Typed results about sessions: summaries, leases, status, run results, persistent sessions, diff reports.

use super::*;
use chrono::{DateTime, Utc};
use ctask_core::session::persistent::Started;
use ctask_core::session::status::{DiffReport, StatusReport};
use ctask_core::session::{Lease, RunResult, SummaryBrief};
use std::path::PathBuf;

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
    /// What the agent says it is doing: `working`, `waiting`, `idle`, `done` (or None).
    #[getter]
    fn agent_state(&self) -> Option<&'static str> {
        self.0.agent_state.map(|a| a.as_str())
    }
    #[getter]
    fn agent_state_at(&self) -> Option<DateTime<Utc>> {
        self.0.agent_state_at
    }
    #[getter]
    fn agent_state_age_s(&self) -> Option<i64> {
        self.0.agent_state_age_s
    }
    #[getter]
    fn agent_message(&self) -> Option<&str> {
        self.0.agent_message.as_deref()
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
                ("agent_state", any(py, self.agent_state())?),
                ("agent_state_age_s", any(py, s.agent_state_age_s)?),
                ("agent_message", any(py, &s.agent_message)?),
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
