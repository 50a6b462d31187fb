//! PyO3 layer of ctask: the extension module `ctask._ctask`.
//!
//! Only translation lives here; every piece of logic is in `ctask-core`.

use pyo3::prelude::*;

/// The extension module `ctask._ctask`.
#[pymodule]
fn _ctask(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", ctask_core::VERSION)?;
    Ok(())
}
