//! The typed description of a workspace.

use super::*;
use chrono::{DateTime, Utc};
use ctask_core::workspace::WorkspaceInfo;
use std::path::PathBuf;

// ----------------------------------------------------------------------------------------

/// A workspace directory and what its `task.yaml` says.
#[pyclass(name = "Workspace", module = "ctask._ctask", frozen)]
pub struct PyWorkspace(pub WorkspaceInfo);

pub(crate) fn parse_time(s: &Option<String>) -> Option<DateTime<Utc>> {
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
    /// The agent state of the session when this object was made (`working`, `waiting`,
    /// `idle`, `done`; None when unset or without a session).
    #[getter]
    fn agent_state(&self) -> Option<&str> {
        self.0.session.as_ref()?.agent_state.as_deref()
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
