//! PyO3 layer of ctask: the extension module `ctask._ctask`.
//!
//! Only translation lives here; every piece of logic is in `ctask-core` (and the command
//! line in `ctask-cli`). The pure-Python package `ctask` (in `python/ctask/`) re-exports
//! this module; its hand-kept stub `_ctask.pyi` is checked with `mypy.stubtest`.

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

use pyo3::prelude::*;

mod errors;
mod functions;
mod session;
mod types;
mod undo;
mod watch;

/// The extension module `ctask._ctask`.
#[pymodule]
fn _ctask(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", ctask_core::VERSION)?;
    errors::register(m)?;
    m.add_class::<session::PySession>()?;
    m.add_class::<types::PyWorkspace>()?;
    m.add_class::<types::PySummary>()?;
    m.add_class::<types::PyDiff>()?;
    m.add_class::<types::PyRename>()?;
    m.add_class::<types::PyLease>()?;
    m.add_class::<types::PyStatus>()?;
    m.add_class::<types::PyRunResult>()?;
    m.add_class::<types::PyPersistentSession>()?;
    m.add_class::<types::PyDiffReport>()?;
    m.add_class::<types::PyManifest>()?;
    m.add_class::<types::PyEntry>()?;
    m.add_class::<watch::PyWatcher>()?;
    m.add_class::<watch::PyEvent>()?;
    m.add_function(wrap_pyfunction!(watch::watch, m)?)?;
    m.add_function(wrap_pyfunction!(functions::run, m)?)?;
    m.add_function(wrap_pyfunction!(functions::status, m)?)?;
    m.add_function(wrap_pyfunction!(functions::set_state, m)?)?;
    m.add_function(wrap_pyfunction!(functions::capture_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(functions::diff, m)?)?;
    m.add_function(wrap_pyfunction!(functions::diff_since_last, m)?)?;
    m.add_function(wrap_pyfunction!(functions::resolve, m)?)?;
    m.add_function(wrap_pyfunction!(functions::list_workspaces, m)?)?;
    m.add_function(wrap_pyfunction!(functions::cli_main, m)?)?;
    m.add_class::<undo::PyUndoResult>()?;
    m.add_class::<undo::PyUndoItem>()?;
    m.add_class::<undo::PyHistoryEntry>()?;
    m.add_function(wrap_pyfunction!(undo::undo, m)?)?;
    m.add_function(wrap_pyfunction!(undo::history, m)?)?;
    Ok(())
}
