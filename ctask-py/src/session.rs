//! `ctask.Session`: a context manager around a core session.
//!
//! The class is `frozen`: every mutable piece sits behind a `Mutex`, and the core handle
//! in an `Arc`, so `heartbeat()` may be called from any thread while another one is in
//! `__exit__`. Blocking work (begin, end) runs with the GIL released.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use ctask_core::session::{
    DetectedVia, EndReason, Ending, OnActive, Session as CoreSession, SessionOptions, SummaryBrief,
};
use ctask_core::workspace::{Overrides, Settings};
use pyo3::exceptions::{PyRuntimeError, PySystemExit, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::errors::{self, CtaskError, IntoPyResult};
use crate::types::{PyDiff, PyLease, PySummary};

/// How the session was asked for; fixed at construction.
#[derive(Clone)]
pub struct Config {
    pub path: PathBuf,
    pub agent: String,
    pub on_active: OnActive,
    pub launch_dir: Option<String>,
    pub heartbeat: bool,
    pub env: BTreeMap<String, String>,
}

impl Config {
    /// The core options, with the intervals from the environment and config file (as the
    /// CLI does); `CTASK_ROOT` follows the core's rule.
    pub fn options(&self, launch: Option<Vec<String>>) -> ctask_core::Result<SessionOptions> {
        let settings = Settings::from_env(&Overrides::default())?;
        Ok(SessionOptions {
            agent: self.agent.clone(),
            launch,
            agent_env: self.env.clone(),
            on_active: self.on_active,
            launch_dir: self.launch_dir.clone(),
            heartbeat: self.heartbeat,
            heartbeat_seconds: settings.heartbeat_seconds.value,
            stale_after_seconds: settings.stale_after_seconds.value,
            summary_manifest_max: settings.summary_manifest_max.value,
            hooks: settings.hooks.value.clone(),
            snapshots: ctask_core::snapshot::Settings::for_dir(&settings, &self.path),
            ..SessionOptions::default()
        })
    }

    /// Checks the options by the core's rules (a `ValueError` naming the option).
    pub fn validate(&self) -> PyResult<()> {
        self.options(None)
            .and_then(|o| o.validate())
            .map_err(crate::errors::to_py)
    }
}

/// Parses `on_active` by the core's rule (a `ValueError` naming it).
pub fn on_active(value: &str) -> PyResult<OnActive> {
    value.parse().map_err(crate::errors::to_py)
}

/// Converts `launch_dir` (a string or path-like, or None).
pub fn launch_dir(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(v) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let p: PathBuf = v.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "launch_dir must be a str or os.PathLike, not {}",
            type_name(v)
        ))
    })?;
    p.to_str()
        .map(|s| Some(s.to_owned()))
        .ok_or_else(|| PyValueError::new_err("launch_dir must be valid UTF-8"))
}

/// Converts a workspace path argument, with a clear `TypeError`.
pub fn path_arg(value: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    value.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a str or os.PathLike, not {}",
            type_name(value)
        ))
    })
}

pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// How a block that raised is recorded.
fn exception_ending() -> Ending {
    Ending {
        reason: EndReason::Exception,
        detected_via: DetectedVia::ChildExit,
        exit_code: Some(1),
    }
}

/// Where the Python object is; once begun, whether the session is active or ended (and
/// whether this process owns it) is the core handle's state, never a copy.
#[derive(Default)]
enum Phase {
    #[default]
    New,
    Beginning,
    Begun(Arc<CoreSession>),
}

#[derive(Default)]
struct State {
    phase: Phase,
    exit_code: Option<i32>,
}

/// A recorded session in a workspace; use it as a context manager.
#[pyclass(name = "Session", module = "ctask._ctask", frozen)]
pub struct PySession {
    config: Config,
    state: Mutex<State>,
}

impl PySession {
    fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The core handle, once begun.
    fn handle(&self) -> PyResult<Arc<CoreSession>> {
        match &self.st().phase {
            Phase::Begun(s) => Ok(Arc::clone(s)),
            Phase::New | Phase::Beginning => Err(PyRuntimeError::new_err(
                "the session has not begun: use `with Session(...)` or call .begin()",
            )),
        }
    }

    fn do_begin(&self, py: Python<'_>) -> PyResult<()> {
        {
            let mut st = self.st();
            match st.phase {
                Phase::New => st.phase = Phase::Beginning,
                _ => {
                    return Err(PyRuntimeError::new_err(
                        "this Session has already begun; create a new one for another visit",
                    ));
                }
            }
        }
        let config = self.config.clone();
        let result = py.detach(move || {
            let opts = config.options(None)?;
            CoreSession::begin(&config.path, opts)
        });
        let mut st = self.st();
        match result {
            Ok(s) => {
                let warnings = s.warnings();
                st.phase = Phase::Begun(Arc::new(s));
                drop(st);
                for w in warnings {
                    if let Err(e) = errors::warn(py, &w) {
                        // Warnings turned into errors: the block will not run, so the
                        // session ends at once, recorded like a block that raised.
                        let _ = self.do_end(py, exception_ending());
                        return Err(e);
                    }
                }
                Ok(())
            }
            Err(e) => {
                st.phase = Phase::New;
                Err(errors::to_py(e))
            }
        }
    }

    /// Ends with `ending` unless already ended; returns the summary.
    fn do_end(&self, py: Python<'_>, ending: Ending) -> PyResult<SummaryBrief> {
        let handle = {
            let st = self.st();
            match &st.phase {
                Phase::Begun(h) => Arc::clone(h),
                Phase::New | Phase::Beginning => {
                    return Err(PyRuntimeError::new_err("the session has not begun"));
                }
            }
        };
        let outcome = py.detach(move || handle.end(ending)).py()?;
        self.st().exit_code = outcome.summary.exit_code;
        Ok(outcome.summary)
    }

    /// Whether this process is not the one that began the session (a forked child).
    fn foreign(&self) -> bool {
        match &self.st().phase {
            Phase::Begun(h) => h.outcome().is_none() && !h.in_owner_process(),
            Phase::New | Phase::Beginning => false,
        }
    }
}

#[pymethods]
impl PySession {
    #[new]
    #[pyo3(signature = (path, *, agent="python", on_active="error", launch_dir=None, heartbeat=true, env=None))]
    fn new(
        path: &Bound<'_, PyAny>,
        agent: &str,
        on_active: &str,
        launch_dir: Option<&Bound<'_, PyAny>>,
        heartbeat: bool,
        env: Option<BTreeMap<String, String>>,
    ) -> PyResult<Self> {
        let config = Config {
            path: path_arg(path, "path")?,
            agent: agent.to_owned(),
            on_active: self::on_active(on_active)?,
            launch_dir: self::launch_dir(launch_dir)?,
            heartbeat,
            env: env.unwrap_or_default(),
        };
        config.validate()?;
        Ok(PySession {
            config,
            state: Mutex::new(State::default()),
        })
    }

    /// Begins the session (what `with` does); returns the session.
    fn begin(slf: &Bound<'_, Self>) -> PyResult<Py<Self>> {
        slf.get().do_begin(slf.py())?;
        Ok(slf.clone().unbind())
    }

    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<Py<Self>> {
        Self::begin(slf)
    }

    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyType>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let _ = traceback;
        if self.foreign() {
            // A forked copy: never ends (or touches) the parent's session.
            return Ok(false);
        }
        let ending = match (exc_type, exc_value) {
            (None, _) => Ending::child_exit(self.st().exit_code.unwrap_or(0)),
            (Some(t), v) if t.is_subclass_of::<PySystemExit>()? => {
                let code = v
                    .and_then(|v| v.getattr("code").ok())
                    .map(|c| {
                        if c.is_none() {
                            0
                        } else {
                            c.extract::<i32>().unwrap_or(1)
                        }
                    })
                    .unwrap_or(0);
                Ending::child_exit(code)
            }
            (Some(_), _) => exception_ending(),
        };
        let raised = exc_type.is_some();
        match self.do_end(py, ending) {
            Ok(_) => Ok(false),
            // Let the block's own exception propagate; say what went wrong at end.
            Err(e) if raised => {
                errors::warn(py, &format!("ending the session failed: {}", e.value(py)))?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let to_thread = slf.py().import("asyncio")?.getattr("to_thread")?;
        to_thread.call1((slf.getattr("__enter__")?,))
    }

    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __aexit__<'py>(
        slf: &Bound<'py, Self>,
        exc_type: &Bound<'py, PyAny>,
        exc_value: &Bound<'py, PyAny>,
        traceback: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let to_thread = slf.py().import("asyncio")?.getattr("to_thread")?;
        to_thread.call1((slf.getattr("__exit__")?, exc_type, exc_value, traceback))
    }

    /// Ends the session with `exit_code` (default: `.exit_code`, else 0) and returns its
    /// summary. Idempotent: a second call returns the first summary and writes nothing.
    #[pyo3(signature = (exit_code=None))]
    fn end(&self, py: Python<'_>, exit_code: Option<i32>) -> PyResult<PySummary> {
        if self.foreign() {
            return Err(CtaskError::new_err(
                "this session belongs to the process that began it (this is a forked copy)",
            ));
        }
        if let Some(c) = exit_code {
            self.st().exit_code = Some(c);
        }
        let code = self.st().exit_code.unwrap_or(0);
        self.do_end(py, Ending::child_exit(code)).map(PySummary)
    }

    /// Writes the heartbeat now. Safe from any thread; a no-op once ended or when
    /// coexisting.
    fn heartbeat(&self, py: Python<'_>) -> PyResult<()> {
        let h = self.handle()?;
        py.detach(move || h.heartbeat()).py()
    }

    /// The workspace directory as given.
    #[getter]
    fn path(&self) -> PathBuf {
        self.config.path.clone()
    }
    #[getter]
    fn agent(&self) -> &str {
        &self.config.agent
    }
    /// The session id.
    #[getter]
    fn id(&self) -> PyResult<String> {
        Ok(self.handle()?.id())
    }
    /// The canonical workspace directory.
    #[getter]
    fn workspace(&self) -> PyResult<PathBuf> {
        Ok(self.handle()?.workspace())
    }
    /// Absolute directory the agent should start in.
    #[getter]
    fn launch_dir(&self) -> PyResult<PathBuf> {
        Ok(self.handle()?.launch_dir())
    }
    /// The `CTASK_*` variables (and `env` given to the constructor) for the agent.
    #[getter]
    fn env<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.handle()?.env() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
    /// Whether this session holds the lease (False when coexisting).
    #[getter]
    fn owns_lease(&self) -> PyResult<bool> {
        Ok(self.handle()?.owns_lease())
    }
    /// The live owner's lease, when this session coexists with it.
    #[getter]
    fn owner(&self) -> PyResult<Option<PyLease>> {
        Ok(self.handle()?.owner().map(PyLease))
    }
    /// Files changed outside any session since the last one ended (None: no baseline).
    #[getter]
    fn outside_changes(&self) -> PyResult<Option<PyDiff>> {
        Ok(self.handle()?.outside_changes().map(PyDiff))
    }
    /// The previous session's summary.
    #[getter]
    fn last_summary(&self) -> PyResult<Option<PySummary>> {
        Ok(self.handle()?.last_summary().map(PySummary))
    }
    /// Warnings met while beginning (also issued with `warnings.warn`).
    #[getter]
    fn warnings(&self) -> PyResult<Vec<String>> {
        Ok(self.handle()?.warnings())
    }
    /// The exit code recorded at end (default 0; 1 when the block raised).
    #[getter]
    fn get_exit_code(&self) -> Option<i32> {
        self.st().exit_code
    }
    #[setter]
    fn set_exit_code(&self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let Some(v) = value else {
            return Err(PyTypeError::new_err("exit_code cannot be deleted"));
        };
        let code = if v.is_none() {
            None
        } else if v.is_instance_of::<pyo3::types::PyBool>() {
            return Err(PyTypeError::new_err("exit_code must be an int, not bool"));
        } else {
            Some(v.extract::<i32>().map_err(|_| {
                PyTypeError::new_err(format!("exit_code must be an int, not {}", type_name(v)))
            })?)
        };
        let mut st = self.st();
        if matches!(&st.phase, Phase::Begun(h) if h.outcome().is_some()) {
            return Err(PyRuntimeError::new_err("the session has already ended"));
        }
        st.exit_code = code;
        Ok(())
    }
    /// The summary, once the session has ended (None before).
    #[getter]
    fn summary(&self) -> Option<PySummary> {
        match &self.st().phase {
            Phase::Begun(h) => h.outcome().map(|o| PySummary(o.summary)),
            Phase::New | Phase::Beginning => None,
        }
    }
    /// `new`, `active` or `ended`.
    #[getter(state)]
    fn get_state(&self) -> &'static str {
        match &self.st().phase {
            Phase::New | Phase::Beginning => "new",
            Phase::Begun(h) if h.outcome().is_some() => "ended",
            Phase::Begun(_) => "active",
        }
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = self.handle().ok().map(|h| h.id());
        Ok(format!(
            "Session(path={}, agent={}, id={}, state={})",
            self.config.path.clone().into_pyobject(py)?.repr()?,
            self.config.agent.clone().into_pyobject(py)?.repr()?,
            id.into_pyobject(py)?.repr()?,
            self.get_state().into_pyobject(py)?.repr()?,
        ))
    }
}
