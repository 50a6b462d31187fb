//! Module-level functions: run, status, manifests and diffs, workspace look-ups, and the
//! `ctask` command line.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use ctask_core::session::manifest::{self, CaptureOptions};
use ctask_core::session::overview::{self, ListFilter};
use ctask_core::session::persistent;
use ctask_core::session::run::{RunHooks, run_with};
use ctask_core::session::{self, Mode, Session as CoreSession};
use ctask_core::workspace::{
    self, AgentSpec, Kind, NewOptions, Overrides, ResolveOptions, Settings, Workspace,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::{self, CtaskError, IntoPyResult};
use crate::session::{Config, launch_dir, on_active, path_arg, type_name};
use crate::types::{
    PyDiff, PyDiffReport, PyManifest, PyPersistentSession, PyRunResult, PyStatus, PyWorkspace,
};

/// Settings from the environment and config file, with an optional task root override.
pub fn settings(root: Option<PathBuf>) -> ctask_core::Result<Settings> {
    Settings::from_env(&Overrides {
        root,
        ..Overrides::default()
    })
}

fn opt_path(v: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<PathBuf>> {
    match v.filter(|v| !v.is_none()) {
        Some(v) => path_arg(v, what).map(Some),
        None => Ok(None),
    }
}

/// Collects the begin warnings of a run.
#[derive(Default)]
struct Collect(Vec<String>);

impl RunHooks for Collect {
    fn begun(&mut self, s: &CoreSession) {
        self.0 = s.warnings();
    }
}

/// What `run` returns: the ended session (direct mode) or the running one (persistent).
// Built once per call and moved straight into a Python object: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(IntoPyObject)]
pub enum RunOutcome {
    Direct(PyRunResult),
    Persistent(PyPersistentSession),
}

/// Direct mode: begins a session in `path`, runs `argv` in its launch directory with its
/// environment, ends the session with the exit status and returns the result. Persistent
/// mode: starts a detached persistent session (the agent in tmux, a supervisor owning the
/// session) and returns once the tmux session runs.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (path, argv, *, mode="direct", agent=None, on_active="error", launch_dir=None, heartbeat=true, env=None))]
pub fn run(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    argv: &Bound<'_, PyAny>,
    mode: &str,
    agent: Option<String>,
    on_active: &str,
    launch_dir: Option<&Bound<'_, PyAny>>,
    heartbeat: bool,
    env: Option<BTreeMap<String, String>>,
) -> PyResult<RunOutcome> {
    let persistent = mode.parse::<Mode>().map_err(errors::to_py)? == Mode::Persistent;
    if argv.is_instance_of::<pyo3::types::PyString>() {
        return Err(PyTypeError::new_err(
            "argv must be a sequence of str (an argument vector), not a single str",
        ));
    }
    let argv: Vec<String> = argv.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "argv must be a sequence of str, not {}",
            type_name(argv)
        ))
    })?;
    if argv.is_empty() {
        return Err(PyValueError::new_err("argv must not be empty"));
    }
    let label = agent.unwrap_or_else(|| argv[0].clone());
    let config = Config {
        path: path_arg(path, "path")?,
        agent: label,
        on_active: self::on_active(on_active)?,
        launch_dir: self::launch_dir(launch_dir)?,
        heartbeat,
        env: env.unwrap_or_default(),
    };
    config.validate()?;
    if persistent {
        return run_persistent(py, config, argv).map(RunOutcome::Persistent);
    }
    let (result, warnings) = py.detach(move || {
        let mut hooks = Collect::default();
        let r = config
            .options(None)
            .and_then(|opts| run_with(&config.path, &argv, opts, &mut hooks));
        (r, hooks.0)
    });
    for w in warnings {
        errors::warn(py, &w)?;
    }
    Ok(RunOutcome::Direct(PyRunResult(result.py()?)))
}

/// How this interpreter runs the `ctask` command: `[sys.executable, "-m", "ctask"]` (never
/// a PATH lookup), with `-P` where Python has it (3.11+) so that a `ctask` module in the
/// tmux pane's directory (the launch directory) cannot shadow the installed package.
fn python_ctask(py: Python<'_>) -> PyResult<Vec<String>> {
    let exe: Option<String> = py.import("sys")?.getattr("executable")?.extract()?;
    let exe = exe.filter(|e| !e.is_empty()).ok_or_else(|| {
        CtaskError::new_err(
            "sys.executable is not set: cannot start the supervisor of a persistent session",
        )
    })?;
    let mut cmd = vec![exe];
    if py.version_info() >= (3, 11) {
        cmd.push("-P".into());
    }
    cmd.extend(["-m".to_owned(), "ctask".to_owned()]);
    Ok(cmd)
}

/// Starts a detached persistent session through a supervisor run by this interpreter.
fn run_persistent(
    py: Python<'_>,
    config: Config,
    argv: Vec<String>,
) -> PyResult<PyPersistentSession> {
    let ctask = python_ctask(py)?;
    let (workspace, started) = py
        .detach(move || {
            let opts = config.options(None)?;
            persistent::start(&config.path, argv, &opts, &ctask)
        })
        .py()?;
    for w in &started.warnings {
        errors::warn(py, w)?;
    }
    Ok(PyPersistentSession { workspace, started })
}

/// The session status of the workspace at `path` (writes nothing).
#[pyfunction]
#[pyo3(signature = (path, *, stale_after=None))]
pub fn status(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    stale_after: Option<u64>,
) -> PyResult<PyStatus> {
    let dir = path_arg(path, "path")?;
    py.detach(move || {
        let stale = match stale_after {
            Some(s) => s,
            None => settings(None)?.stale_after_seconds.value,
        };
        session::status(&dir, stale)
    })
    .py()
    .map(PyStatus)
}

/// Sets the agent state of the session in the workspace at `path` (`working`, `waiting`,
/// `idle` or `done`, with an optional one-line message). Allowed when `session_id` is the
/// lease's (the agent passes its `CTASK_SESSION_ID`) or the session's owner is alive;
/// returns the session id.
#[pyfunction]
#[pyo3(signature = (path, state, message=None, session_id=None))]
pub fn set_state(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    state: &str,
    message: Option<String>,
    session_id: Option<String>,
) -> PyResult<String> {
    let dir = path_arg(path, "path")?;
    let state: session::AgentState = state.parse().map_err(errors::to_py)?;
    py.detach(move || {
        let stale = settings(None)?.stale_after_seconds.value;
        let setter = session::state::Setter { session_id };
        session::set_state(&dir, state, message.as_deref(), &setter, stale)
    })
    .py()
    .map(|c| c.session_id)
}

/// Snapshots the files under `path`.
#[pyfunction]
#[pyo3(signature = (path, *, respect_ignore=true))]
pub fn capture_manifest(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    respect_ignore: bool,
) -> PyResult<PyManifest> {
    let dir = path_arg(path, "path")?;
    let capture = py
        .detach(move || manifest::capture(&dir, &CaptureOptions { respect_ignore }, None))
        .py()?;
    if capture.skipped_non_utf8 > 0 {
        errors::warn(
            py,
            &format!(
                "{} file name(s) are not valid UTF-8 and were left out of the manifest",
                capture.skipped_non_utf8
            ),
        )?;
    }
    Ok(PyManifest(Arc::new(capture.manifest)))
}

/// What changed from manifest `a` to manifest `b`.
#[pyfunction]
pub fn diff(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDiff> {
    let manifest_of = |v: &Bound<'_, PyAny>, what: &str| -> PyResult<PyManifest> {
        v.cast::<PyManifest>()
            .map(|m| m.get().clone())
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "{what} must be a Manifest (from capture_manifest), not {}",
                    type_name(v)
                ))
            })
    };
    let (a, b) = (manifest_of(a, "a")?, manifest_of(b, "b")?);
    Ok(PyDiff(py.detach(move || session::diff::diff(&a.0, &b.0))))
}

/// What changed in the workspace at `path` since its last session ended (as `ctask diff`).
#[pyfunction]
#[pyo3(signature = (path, *, respect_ignore=true))]
pub fn diff_since_last(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    respect_ignore: bool,
) -> PyResult<PyDiffReport> {
    let dir = path_arg(path, "path")?;
    let report = py
        .detach(move || session::diff_since_last(&dir, &CaptureOptions { respect_ignore }))
        .py()?;
    for w in &report.warnings {
        errors::warn(py, w)?;
    }
    Ok(PyDiffReport(report))
}

/// Resolves `query` (a directory name, slug, slug fragment, or a path containing `/`) to
/// one workspace.
#[pyfunction]
#[pyo3(signature = (query, *, root=None, include_archived=false))]
pub fn resolve(
    py: Python<'_>,
    query: String,
    root: Option<&Bound<'_, PyAny>>,
    include_archived: bool,
) -> PyResult<PyWorkspace> {
    let root = opt_path(root, "root")?;
    py.detach(move || {
        let s = settings(root)?;
        let ws = workspace::resolve(&s, &query, ResolveOptions { include_archived })?;
        Ok(overview::describe(&ws, s.stale_after_seconds.value))
    })
    .py()
    .map(PyWorkspace)
}

/// Every workspace under the task and project roots, most recently updated first (the
/// order and filters of `ctask list`). Broken ones (an unreadable `task.yaml`) are included
/// with `broken=True`.
#[pyfunction]
#[pyo3(signature = (*, root=None, include_archived=false, category=None, kind=None, limit=None))]
pub fn list_workspaces(
    py: Python<'_>,
    root: Option<&Bound<'_, PyAny>>,
    include_archived: bool,
    category: Option<String>,
    kind: Option<String>,
    limit: Option<usize>,
) -> PyResult<Vec<PyWorkspace>> {
    let root = opt_path(root, "root")?;
    let kind = kind
        .as_deref()
        .map(str::parse::<Kind>)
        .transpose()
        .map_err(errors::to_py)?;
    let filter = ListFilter {
        include_archived,
        category,
        kind,
        limit,
    };
    let infos = py
        .detach(move || settings(root).map(|s| overview::list(&s, &filter)))
        .py()?;
    Ok(infos.into_iter().map(PyWorkspace).collect())
}

/// Creates a workspace (as `ctask new --no-launch`).
pub fn create_workspace(
    py: Python<'_>,
    title: String,
    category: Option<String>,
    project: bool,
    agent: Option<String>,
    root: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyWorkspace> {
    let root = opt_path(root, "root")?;
    let agent = agent
        .as_deref()
        .map(AgentSpec::parse_plain)
        .transpose()
        .map_err(errors::to_py)?;
    py.detach(move || {
        let s = settings(root)?;
        let opts = NewOptions {
            title,
            category,
            project,
            agent,
        };
        Workspace::create_with_hooks(&s, &opts)
    })
    .py()
    .and_then(|(w, warnings)| {
        for m in &warnings {
            errors::warn(py, m)?;
        }
        Ok(PyWorkspace(w.info()))
    })
}

/// Opens the workspace at `path`.
pub fn open_workspace(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PyWorkspace> {
    let dir = path_arg(path, "path")?;
    py.detach(move || Workspace::open(&dir))
        .py()
        .map(|w| PyWorkspace(w.info()))
}

/// Runs the `ctask` command line with `argv` (the first item is the program name) and
/// returns its exit code. Used by the `ctask` console script and `python -m ctask`; the CLI
/// re-enters ctask (supervisor, tmux pane helper) through this interpreter.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<String>) -> PyResult<i32> {
    let host = ctask_cli::Host::command(python_ctask(py)?);
    let args: Vec<OsString> = argv.into_iter().map(OsString::from).collect();
    Ok(py.detach(move || ctask_cli::main_with(args, host)))
}
