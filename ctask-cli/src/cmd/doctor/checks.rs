//! The checks `ctask doctor` runs: settings and their sources, roots, tools.

use super::*;
use crate::cmd::agents::source_name;
use ctask_core::session::launch::find_program;
use ctask_core::session::tmux;
use ctask_core::workspace::{Setting, Settings};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::process::{Command as Process, Stdio};

pub(super) fn setting<T: Serialize>(s: &Setting<T>) -> SettingReport {
    SettingReport {
        value: serde_json::to_value(&s.value).unwrap_or(Value::Null),
        source: source_name(s.source),
    }
}

pub(super) fn settings_report(s: &Settings) -> SettingsReport {
    SettingsReport {
        root: setting(&s.root),
        project_root: setting(&s.project_root),
        seed_dir: setting(&s.seed_dir),
        project_seed_dir: setting(&s.project_seed_dir),
        default_agent: setting(&s.default_agent),
        session_mode: setting(&s.session_mode),
        heartbeat_seconds: setting(&s.heartbeat_seconds),
        stale_after_seconds: setting(&s.stale_after_seconds),
        summary_manifest_max: setting(&s.summary_manifest_max),
    }
}

pub(super) fn check_root(
    name: &'static str,
    path: &Path,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> RootReport {
    let exists = path.exists();
    // The nearest existing directory decides writability and the filesystem.
    let existing = path.ancestors().find(|p| p.exists()).unwrap_or(path);
    let writable = existing.is_dir() && is_writable(existing);
    if exists && !path.is_dir() {
        problems.push(format!("{name} {} is not a directory", path.display()));
    } else if exists && !writable {
        problems.push(format!("{name} {} is not writable", path.display()));
    } else if !exists && !writable {
        problems.push(format!(
            "{name} {} does not exist and cannot be created ({} is not writable)",
            path.display(),
            existing.display()
        ));
    } else if !exists {
        warnings.push(format!(
            "{name} {} does not exist yet (the first `new` creates it)",
            path.display()
        ));
    }
    let fs = ctask_core::fstype::filesystem_type(existing);
    let network = fs.as_ref().is_some_and(|f| f.network);
    if let Some(f) = fs.as_ref().filter(|f| f.network) {
        warnings.push(format!(
            "{name} {} is on {}: file locks are unreliable there, so two sessions may not see each other",
            path.display(),
            f.name
        ));
    }
    RootReport {
        name,
        path: path.to_path_buf(),
        exists,
        writable,
        filesystem: fs.map(|f| f.name),
        network_filesystem: network,
    }
}

pub(super) fn is_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Runs `program args…` and returns the first line of its output.
pub(super) fn version_line(program: &Path, args: &[&str]) -> Option<String> {
    let out = Process::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
}

pub(super) fn check_tmux() -> ToolReport {
    let path = find_program("tmux").ok();
    let line = path.as_deref().and_then(|p| version_line(p, &["-V"]));
    let usable = line
        .as_deref()
        .and_then(tmux::parse_version)
        .is_some_and(|v| v >= tmux::MIN_VERSION);
    let version = line.map(|l| l.trim_start_matches("tmux ").to_owned());
    let (major, minor) = tmux::MIN_VERSION;
    ToolReport {
        name: "tmux",
        found: path.is_some(),
        path,
        version,
        minimum: Some(format!("{major}.{minor}")),
        usable,
    }
}

pub(super) fn check_git() -> ToolReport {
    let path = find_program("git").ok();
    let version = path
        .as_deref()
        .and_then(|p| version_line(p, &["--version"]))
        .map(|l| l.trim_start_matches("git version ").to_owned());
    ToolReport {
        name: "git",
        found: path.is_some(),
        usable: path.is_some(),
        path,
        version,
        minimum: None,
    }
}
