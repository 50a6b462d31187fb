//! What a session launches and where: the agent resolved on PATH, the launch directory
//! (kept inside the workspace) and the child's environment.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The launch directory of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchDir {
    /// Absolute path the agent starts in.
    pub abs: PathBuf,
    /// The same, relative to the workspace ("" for the workspace root).
    pub rel: String,
    /// Set when the configured directory was unusable and the root is used instead.
    pub warning: Option<String>,
}

/// Resolves `rel` inside `ws_dir`. Absolute paths, `..` components and symlinks leading
/// outside the workspace are refused; a missing or non-directory target falls back to the
/// workspace root with a warning.
pub fn resolve_launch_dir(ws_dir: &Path, rel: Option<&str>) -> Result<LaunchDir> {
    let root = LaunchDir {
        abs: ws_dir.to_path_buf(),
        rel: String::new(),
        warning: None,
    };
    let Some(rel) = rel.map(str::trim).filter(|r| !r.is_empty() && *r != ".") else {
        return Ok(root);
    };
    let rel_path = Path::new(rel);
    if rel_path.is_absolute() {
        return Err(Error::security(
            rel_path,
            "launch_dir must be relative to the workspace",
        ));
    }
    if rel_path
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(Error::security(
            rel_path,
            "launch_dir must not contain `..`",
        ));
    }
    let joined = ws_dir.join(rel_path);
    let real_ws = ws_dir.canonicalize().map_err(|e| Error::io(ws_dir, e))?;
    match joined.canonicalize() {
        Ok(real) if !real.starts_with(&real_ws) => Err(Error::security(
            &joined,
            format!(
                "launch_dir leads outside the workspace (to {})",
                real.display()
            ),
        )),
        Ok(real) if real.is_dir() => Ok(LaunchDir {
            abs: joined,
            rel: rel.trim_end_matches('/').to_owned(),
            warning: None,
        }),
        Ok(_) => Ok(LaunchDir {
            warning: Some(format!(
                "launch_dir {rel:?} is not a directory; starting in the workspace root"
            )),
            ..root
        }),
        Err(_) => Ok(LaunchDir {
            warning: Some(format!(
                "launch_dir {rel:?} does not exist; starting in the workspace root"
            )),
            ..root
        }),
    }
}

/// An inherited `CTASK_LAUNCH_DIR`/`CTASK_SESSION_MODE` value, honoured only when
/// `CTASK_WORKSPACE` is unset or names `ws_dir` (an agent starting a session elsewhere must
/// not carry its own values along).
pub fn inherited(var: &str, ws_dir: &Path) -> Option<String> {
    let value = std::env::var(var).ok()?;
    match std::env::var_os("CTASK_WORKSPACE") {
        None => Some(value),
        Some(w) if w.is_empty() => Some(value),
        Some(w) => {
            let same = Path::new(&w).canonicalize().ok() == ws_dir.canonicalize().ok();
            same.then_some(value)
        }
    }
}

pub use crate::program::find_program;

/// Everything the child's `CTASK_*` environment is made of.
#[derive(Debug, Clone)]
pub struct EnvFacts<'a> {
    /// Workspace slug.
    pub slug: &'a str,
    /// Absolute workspace directory.
    pub workspace: &'a Path,
    /// The root the workspace lives under.
    pub root: &'a Path,
    /// Category.
    pub category: &'a str,
    /// `task` or `project`.
    pub kind: &'a str,
    /// Launch directory relative to the workspace.
    pub launch_rel: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// `direct` or `persistent`.
    pub session_mode: &'a str,
    /// The agent's own variables, applied last.
    pub agent_env: &'a BTreeMap<String, String>,
}

/// The variables a session adds to the child's environment.
pub fn child_env(f: &EnvFacts<'_>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let path = |p: &Path| p.to_string_lossy().into_owned();
    env.insert("CTASK_TASK".into(), f.slug.to_owned());
    env.insert("CTASK_WORKSPACE".into(), path(f.workspace));
    env.insert("CTASK_ROOT".into(), path(f.root));
    env.insert("CTASK_CATEGORY".into(), f.category.to_owned());
    env.insert("CTASK_TYPE".into(), f.kind.to_owned());
    env.insert("CTASK_MODE".into(), "local".into());
    env.insert("CTASK_LAUNCH_DIR".into(), f.launch_rel.to_owned());
    env.insert("CTASK_SESSION_ID".into(), f.session_id.to_owned());
    env.insert("CTASK_SESSION_MODE".into(), f.session_mode.to_owned());
    for (k, v) in f.agent_env {
        env.insert(k.clone(), v.clone());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_dir_rules() {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path().join("ws");
        std::fs::create_dir_all(ws.join("src")).unwrap();
        std::fs::write(ws.join("file"), "").unwrap();
        assert_eq!(resolve_launch_dir(&ws, None).unwrap().abs, ws);
        let ok = resolve_launch_dir(&ws, Some("src")).unwrap();
        assert_eq!(
            (ok.abs, ok.rel.as_str(), ok.warning),
            (ws.join("src"), "src", None)
        );
        assert!(matches!(
            resolve_launch_dir(&ws, Some("/tmp")),
            Err(Error::PathSecurity { .. })
        ));
        assert!(matches!(
            resolve_launch_dir(&ws, Some("src/../../x")),
            Err(Error::PathSecurity { .. })
        ));
        std::os::unix::fs::symlink(d.path(), ws.join("out")).unwrap();
        assert!(matches!(
            resolve_launch_dir(&ws, Some("out")),
            Err(Error::PathSecurity { .. })
        ));
        let missing = resolve_launch_dir(&ws, Some("nope")).unwrap();
        assert_eq!(missing.abs, ws);
        assert!(missing.warning.unwrap().contains("does not exist"));
        assert!(
            resolve_launch_dir(&ws, Some("file"))
                .unwrap()
                .warning
                .is_some()
        );
    }

    #[test]
    fn programs_are_found_like_execvp() {
        assert!(find_program("sh").is_ok());
        assert!(matches!(
            find_program("no-such-agent-xyz"),
            Err(Error::AgentNotFound { .. })
        ));
        assert!(find_program("/bin/sh").is_ok());
        assert!(find_program("/nonexistent/sh").is_err());
    }
}
