//! Typed manifests, their entries, diffs and renames.

use super::*;
use crate::errors::IntoPyResult;
use chrono::{DateTime, Utc};
use ctask_core::session::manifest::{Entry, Kind as EntryKind, Manifest};
use ctask_core::session::{Diff, Rename};
use pyo3::types::PyType;
use std::sync::Arc;

pub(crate) fn renames(py: Python<'_>, r: &[Rename]) -> PyResult<Vec<Py<PyRename>>> {
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
    /// Permission bits (`st_mode & 0o7777`); None in manifests of earlier versions.
    #[getter]
    fn mode(&self) -> Option<u32> {
        self.0.mode
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
