//! The exception classes of `ctask._ctask` and the translation of core errors into them.

use std::ffi::CString;

use ctask_core::Error;
use ctask_core::session::Lease;
use pyo3::BoundObject;
use pyo3::exceptions::{PyException, PyOSError, PyUserWarning, PyValueError};
use pyo3::prelude::*;

use crate::types::PyLease;

pyo3::create_exception!(
    ctask._ctask,
    CtaskError,
    PyException,
    "Base class of every error ctask raises."
);
pyo3::create_exception!(
    ctask._ctask,
    ActiveSessionError,
    CtaskError,
    "A live session owns the workspace (attributes: pid, hostname, session_id, owner)."
);
pyo3::create_exception!(
    ctask._ctask,
    LockTimeoutError,
    CtaskError,
    "write.lock could not be taken in time (attribute: path)."
);
pyo3::create_exception!(
    ctask._ctask,
    PathSecurityError,
    CtaskError,
    "A path escapes the workspace or goes through a symlink (attributes: path, detail)."
);
pyo3::create_exception!(
    ctask._ctask,
    WorkspaceNotFoundError,
    CtaskError,
    "No workspace matches the query or path (attribute: query)."
);
pyo3::create_exception!(
    ctask._ctask,
    AmbiguousQueryError,
    CtaskError,
    "The query matches several workspaces (attributes: query, candidates)."
);
pyo3::create_exception!(
    ctask._ctask,
    AgentNotFoundError,
    CtaskError,
    "The command to launch is not on PATH (attribute: command)."
);
pyo3::create_exception!(
    ctask._ctask,
    FormatError,
    CtaskError,
    "A file does not have the expected format (attributes: path, detail)."
);
pyo3::create_exception!(
    ctask._ctask,
    TmuxError,
    CtaskError,
    "tmux is missing, too old or failed (attribute: detail)."
);
pyo3::create_exception!(
    ctask._ctask,
    HookError,
    CtaskError,
    "A before_begin hook of the user's config failed; the session was not begun (attributes: hook, program, exit)."
);
pyo3::create_exception!(
    ctask._ctask,
    CtaskWarning,
    PyUserWarning,
    "A problem ctask met and worked around (e.g. an unreadable summary file)."
);

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("CtaskError", py.get_type::<CtaskError>())?;
    m.add("ActiveSessionError", py.get_type::<ActiveSessionError>())?;
    m.add("LockTimeoutError", py.get_type::<LockTimeoutError>())?;
    m.add("PathSecurityError", py.get_type::<PathSecurityError>())?;
    m.add(
        "WorkspaceNotFoundError",
        py.get_type::<WorkspaceNotFoundError>(),
    )?;
    m.add("AmbiguousQueryError", py.get_type::<AmbiguousQueryError>())?;
    m.add("AgentNotFoundError", py.get_type::<AgentNotFoundError>())?;
    m.add("FormatError", py.get_type::<FormatError>())?;
    m.add("TmuxError", py.get_type::<TmuxError>())?;
    m.add("HookError", py.get_type::<HookError>())?;
    m.add("CtaskWarning", py.get_type::<CtaskWarning>())?;
    Ok(())
}

/// A core error as the matching Python exception, its attributes set.
pub fn to_py(e: Error) -> PyErr {
    Python::attach(|py| match build(py, e) {
        Ok(err) | Err(err) => err,
    })
}

/// The exception for `e`; `Err` carries a failure to build it (itself a `PyErr`).
fn build(py: Python<'_>, e: Error) -> PyResult<PyErr> {
    let message = e.to_string();
    match e {
        Error::NotFound { query } => with_attrs(
            py,
            WorkspaceNotFoundError::new_err(message),
            &[("query", obj(py, query)?)],
        ),
        Error::Ambiguous { query, candidates } => with_attrs(
            py,
            AmbiguousQueryError::new_err(message),
            &[
                ("query", obj(py, query)?),
                ("candidates", obj(py, candidates)?),
            ],
        ),
        Error::ActiveSession { owner } => active_session(py, message, *owner),
        Error::LockTimeout { path } => with_attrs(
            py,
            LockTimeoutError::new_err(message),
            &[("path", obj(py, path)?)],
        ),
        Error::PathSecurity { path, detail } => with_attrs(
            py,
            PathSecurityError::new_err(message),
            &[("path", obj(py, path)?), ("detail", obj(py, detail)?)],
        ),
        Error::AgentNotFound { command } => with_attrs(
            py,
            AgentNotFoundError::new_err(message),
            &[("command", obj(py, command)?)],
        ),
        Error::BadFormat { path, detail } => with_attrs(
            py,
            FormatError::new_err(message),
            &[("path", obj(py, path)?), ("detail", obj(py, detail)?)],
        ),
        Error::Tmux { detail } => with_attrs(
            py,
            TmuxError::new_err(message),
            &[("detail", obj(py, detail)?)],
        ),
        Error::Hook {
            name,
            program,
            exit,
            ..
        } => with_attrs(
            py,
            HookError::new_err(message),
            &[
                ("hook", obj(py, name)?),
                ("program", obj(py, program)?),
                ("exit", obj(py, exit)?),
            ],
        ),
        Error::InvalidArgument { .. } => Ok(PyValueError::new_err(message)),
        Error::Io { path, source } => {
            let err = with_attrs(
                py,
                CtaskError::new_err(message),
                &[("path", obj(py, path.clone())?)],
            )?;
            let cause = match source.raw_os_error() {
                Some(errno) => PyOSError::new_err((errno, source.to_string(), path)),
                None => PyOSError::new_err(source.to_string()),
            };
            err.set_cause(py, Some(cause));
            Ok(err)
        }
    }
}

fn active_session(py: Python<'_>, message: String, owner: Lease) -> PyResult<PyErr> {
    let attrs = [
        ("pid", obj(py, owner.pid)?),
        ("hostname", obj(py, owner.hostname.clone())?),
        ("session_id", obj(py, owner.session_id.clone())?),
        ("owner", Bound::new(py, PyLease(owner))?.into_any()),
    ];
    with_attrs(py, ActiveSessionError::new_err(message), &attrs)
}

/// A Rust value as a Python object.
fn obj<'py, T>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>>
where
    T: IntoPyObject<'py>,
    PyErr: From<T::Error>,
{
    Ok(v.into_pyobject(py)?.into_any().into_bound())
}

/// `err` with `attrs` set on its exception value.
fn with_attrs(py: Python<'_>, err: PyErr, attrs: &[(&str, Bound<'_, PyAny>)]) -> PyResult<PyErr> {
    let value = err.value(py);
    for (name, v) in attrs {
        value.setattr(*name, v)?;
    }
    Ok(err)
}

/// Shorthand: a core result into a Python one.
pub trait IntoPyResult<T> {
    /// Maps the error with [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for ctask_core::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// Issues a [`CtaskWarning`] with `message` (interior NULs are replaced).
pub fn warn(py: Python<'_>, message: &str) -> PyResult<()> {
    let text = CString::new(message.replace('\0', "\u{fffd}")).unwrap_or_default();
    PyErr::warn(py, &py.get_type::<CtaskWarning>(), &text, 1)
}
