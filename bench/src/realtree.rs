//! The tree of real files: a copy of regular files from large source trees of the machine
//! (package sources, C headers, shared data, toolchain documentation), taken in sorted
//! order until the wanted count, so the same machine gives the same tree every run.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::trees::Writer;

/// Files larger than this are left out (a handful of multi-megabyte archives or images
/// would otherwise dominate the bytes).
pub const MAX_FILE: u64 = 4 << 20;

/// One source tree: the name of its copy inside the workspace, what it is (for the report,
/// without machine paths) and where it is on this machine.
#[derive(Debug, Clone)]
pub struct Source {
    /// Directory name of its copy.
    pub name: &'static str,
    /// Generic description.
    pub what: &'static str,
    /// Where it is.
    pub path: PathBuf,
}

/// What was copied from one source.
#[derive(Debug, Clone, Default)]
pub struct Copied {
    /// Generic description of the source.
    pub what: String,
    /// Regular files copied.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The sources, in the order they are taken from: `BENCH_REAL_SOURCES` (colon-separated
/// directories) or the usual large trees of a Rust development machine that exist here.
pub fn sources(env: Option<&str>) -> Vec<Source> {
    if let Some(list) = env {
        return list
            .split(':')
            .filter(|p| !p.is_empty())
            .map(|p| Source {
                name: "given",
                what: "a directory given in BENCH_REAL_SOURCES",
                path: PathBuf::from(p),
            })
            .collect();
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut v = Vec::new();
    if let Some(h) = &home {
        v.push(Source {
            name: "crates",
            what: "the Cargo registry's unpacked crate sources",
            path: h.join(".cargo/registry/src"),
        });
    }
    v.push(Source {
        name: "include",
        what: "the system's C headers",
        path: "/usr/include".into(),
    });
    v.push(Source {
        name: "share",
        what: "the system's shared data files (documentation, locales, icons, …)",
        path: "/usr/share".into(),
    });
    if let Some(h) = &home
        && let Ok(rd) = fs::read_dir(h.join(".rustup/toolchains"))
    {
        let mut t: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        t.sort();
        if let Some(doc) = t.iter().map(|p| p.join("share/doc")).find(|p| p.is_dir()) {
            v.push(Source {
                name: "rust-doc",
                what: "the Rust toolchain's HTML documentation",
                path: doc,
            });
        }
    }
    v.push(Source {
        name: "lib",
        what: "the system's libraries",
        path: "/usr/lib".into(),
    });
    v.into_iter().filter(|s| s.path.is_dir()).collect()
}

/// Copies up to `files` regular files (each at most [`MAX_FILE`] bytes, readable, with a
/// UTF-8 name without control characters) from `sources` into `root/<name>/…`, skipping
/// symlinks, special files and `.git` directories.
pub fn copy(root: &Path, sources: &[Source], files: u64) -> io::Result<(Writer, Vec<Copied>)> {
    let mut w = Writer::new();
    let mut done = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        if w.files >= files {
            break;
        }
        let dest = root.join(if s.name == "given" {
            format!("given{i}")
        } else {
            s.name.to_string()
        });
        let before = (w.files, w.bytes);
        copy_dir(&s.path, &dest, files, &mut w)?;
        done.push(Copied {
            what: s.what.to_string(),
            files: w.files - before.0,
            bytes: w.bytes - before.1,
        });
    }
    Ok((w, done))
}

fn plain_name(n: &OsStr) -> bool {
    std::str::from_utf8(n.as_bytes()).is_ok_and(|s| !s.chars().any(char::is_control))
}

/// Depth-first, names sorted, until `w` holds `limit` files.
fn copy_dir(src: &Path, dest: &Path, limit: u64, w: &mut Writer) -> io::Result<()> {
    let Ok(rd) = fs::read_dir(src) else {
        return Ok(());
    };
    let mut names: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        if w.files >= limit {
            return Ok(());
        }
        let name = e.file_name();
        if !plain_name(&name) || name == ".git" {
            continue;
        }
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            copy_dir(&e.path(), &dest.join(&name), limit, w)?;
        } else if t.is_file() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.len() > MAX_FILE {
                continue;
            }
            // Unreadable files (permissions) are left out.
            let Ok(content) = fs::read(e.path()) else {
                continue;
            };
            w.write(&dest.join(&name), &content)?;
        }
    }
    Ok(())
}
