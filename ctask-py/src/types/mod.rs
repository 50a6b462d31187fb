//! Result classes: thin, immutable Python views of the core's result types, each with a
//! `__repr__` that shows its fields.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

mod manifest;
mod session;
mod workspace;

pub use manifest::*;
pub use session::*;
pub use workspace::*;

/// A field name and its value, for `__repr__`.
type Field<'py> = (&'static str, Bound<'py, PyAny>);

/// `Name(field=repr(value), …)`.
pub(crate) fn repr_of(name: &str, fields: &[Field<'_>]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        parts.push(format!("{k}={}", v.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

pub(crate) fn any<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
    v.into_bound_py_any(py)
}
