//! Live events: `Watcher` (iterator; the async iterator is added by `ctask.watch` in
//! Python) and the typed `Event` it yields.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ctask_core::watch::{Body, Event, WatchOptions, Watcher};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::IntoPyResult;
use crate::functions::settings;
use crate::session::{path_arg, type_name};
use crate::types::{any, repr_of};

/// Longest wait with the GIL released before signals (Ctrl-C) are looked at again.
const SLICE: Duration = Duration::from_millis(200);

/// One live event of one workspace.
#[pyclass(name = "Event", module = "ctask._ctask", frozen)]
pub struct PyEvent(pub Event);

#[pymethods]
impl PyEvent {
    /// `start`, `end`, `adopt`, `lease-removed`, `state`, `hook`, … or `created`,
    /// `archived`, `restored`, `deleted`.
    #[getter]
    fn event(&self) -> &str {
        self.0.name()
    }
    /// The log line's timestamp (None for a synthesised change).
    #[getter]
    fn ts(&self) -> Option<&str> {
        match &self.0.body {
            Body::Log(e) => Some(&e.ts),
            Body::Change { .. } => None,
        }
    }
    /// When a synthesised change was seen (None for a log line).
    #[getter]
    fn at(&self) -> Option<&str> {
        match &self.0.body {
            Body::Log(_) => None,
            Body::Change { at, .. } => Some(at),
        }
    }
    /// The log line's `key=value` fields (empty for a change).
    #[getter]
    fn fields(&self) -> BTreeMap<String, String> {
        self.0.fields().iter().cloned().collect()
    }
    /// Absolute path of the workspace.
    #[getter]
    fn workspace(&self) -> String {
        self.0.workspace.to_string_lossy().into_owned()
    }
    #[getter]
    fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The event as one JSON object (the shape of `ctask watch --json`).
    fn to_json(&self) -> String {
        self.0.to_json()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Event",
            &[
                ("event", any(py, self.event())?),
                ("ts", any(py, self.ts())?),
                ("at", any(py, self.at())?),
                ("fields", any(py, self.fields())?),
                ("workspace", any(py, self.workspace())?),
                ("slug", any(py, self.slug())?),
            ],
        )
    }
}

/// A live stream of events; iterate it (blocking, the GIL released while waiting) or call
/// `next(timeout)`. Safe to use from several threads (one waits at a time).
#[pyclass(name = "Watcher", module = "ctask._ctask")]
pub struct PyWatcher {
    inner: Arc<Mutex<Option<Watcher>>>,
}

fn since_arg(v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DateTime<Utc>>> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = v.cast::<PyString>() {
        let s: String = s.extract()?;
        let s = s.as_str();
        return ctask_core::timefmt::parse(s)
            .map(Some)
            .ok_or_else(|| PyValueError::new_err(format!("since: {s:?} is not an RFC 3339 time")));
    }
    v.extract::<DateTime<Utc>>().map(Some).map_err(|_| {
        PyTypeError::new_err(format!(
            "since must be a str (RFC 3339) or an aware datetime, not {}",
            type_name(v)
        ))
    })
}

#[pymethods]
impl PyWatcher {
    /// Starts watching `roots_or_paths` (workspace directories or roots; default: the task
    /// root and the project root), replaying log lines dated at or after `since` first.
    #[new]
    #[pyo3(signature = (roots_or_paths=None, since=None, poll=false, poll_interval=0.5))]
    fn new(
        py: Python<'_>,
        roots_or_paths: Option<&Bound<'_, PyAny>>,
        since: Option<&Bound<'_, PyAny>>,
        poll: bool,
        poll_interval: f64,
    ) -> PyResult<Self> {
        if !(poll_interval.is_finite() && poll_interval >= 0.001) {
            return Err(PyValueError::new_err(format!(
                "poll_interval must be at least 0.001 seconds, not {poll_interval}"
            )));
        }
        let mut opts = WatchOptions {
            since: since_arg(since)?,
            poll,
            poll_interval: Duration::from_secs_f64(poll_interval),
            ..WatchOptions::default()
        };
        match roots_or_paths.filter(|v| !v.is_none()) {
            Some(v) => {
                if v.cast::<PyString>().is_ok() || v.hasattr("__fspath__")? {
                    return Err(PyTypeError::new_err(
                        "roots_or_paths must be a sequence of paths, not a single path",
                    ));
                }
                let items: Vec<Bound<'_, PyAny>> = v.try_iter()?.collect::<PyResult<_>>()?;
                for item in &items {
                    opts.add_path(path_arg(item, "roots_or_paths item")?);
                }
                if items.is_empty() {
                    return Err(PyValueError::new_err("roots_or_paths must not be empty"));
                }
            }
            None => {
                let s = settings(None).py()?;
                opts.roots = vec![s.root.value, s.project_root.value];
            }
        }
        let w = py.detach(move || Watcher::new(opts)).py()?;
        Ok(PyWatcher {
            inner: Arc::new(Mutex::new(Some(w))),
        })
    }

    /// The next event, waiting at most `timeout` seconds (None: until one comes); None when
    /// none came in time. Ctrl-C interrupts the wait.
    #[pyo3(signature = (timeout=None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyEvent>> {
        let deadline = match timeout {
            // A timeout too long to represent (or infinite) is no timeout.
            Some(t) if t >= 0.0 => Duration::try_from_secs_f64(t)
                .ok()
                .and_then(|d| Instant::now().checked_add(d)),
            Some(t) => {
                return Err(PyValueError::new_err(format!(
                    "timeout must be a non-negative number of seconds, not {t}"
                )));
            }
            None => None,
        };
        loop {
            let slice = deadline.map_or(SLICE, |d| {
                d.saturating_duration_since(Instant::now()).min(SLICE)
            });
            let inner = self.inner.clone();
            let got = py.detach(move || {
                let mut guard = inner.lock().unwrap_or_else(|p| p.into_inner());
                match guard.as_mut() {
                    Some(w) => w.next_event(slice).map(Some),
                    None => Ok(None),
                }
            });
            match got.py()? {
                None => return Err(PyRuntimeError::new_err("the watcher is closed")),
                Some(Some(e)) => return Ok(Some(PyEvent(e))),
                Some(None) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// Whether the watcher polls (asked to, or because inotify could not be used).
    #[getter]
    fn polling(&self) -> bool {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().is_none_or(Watcher::is_polling)
    }

    /// Stops watching; later calls of `next` raise RuntimeError.
    fn close(&self, py: Python<'_>) {
        let inner = self.inner.clone();
        py.detach(move || {
            let w = inner.lock().unwrap_or_else(|p| p.into_inner()).take();
            drop(w);
        });
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyEvent>> {
        self.next(py, None)
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// An awaitable of the next event: waits in a worker thread in short slices, so a
    /// cancelled task leaves no thread blocked for long.
    fn __anext__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let helper = slf.py().import("ctask._aio")?.getattr("next_event")?;
        helper.call1((slf,))
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close(py);
    }
}

/// Starts a [`PyWatcher`]: `ctask.watch(roots_or_paths=None, since=None, poll=False)`.
#[pyfunction]
#[pyo3(signature = (roots_or_paths=None, since=None, poll=false, poll_interval=0.5))]
pub fn watch(
    py: Python<'_>,
    roots_or_paths: Option<&Bound<'_, PyAny>>,
    since: Option<&Bound<'_, PyAny>>,
    poll: bool,
    poll_interval: f64,
) -> PyResult<PyWatcher> {
    PyWatcher::new(py, roots_or_paths, since, poll, poll_interval)
}
