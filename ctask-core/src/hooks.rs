//! Hooks: programs from the user's `config.yaml` that ctask runs when a workspace is
//! created (`on_create`), before a session begins (`before_begin`) and after it ended
//! (`after_end`) (docs/design.md §4.11). Each is an argv list, never a shell string, run in
//! the workspace with the session's environment plus `CTASK_HOOK`, and killed with its
//! whole process group at the timeout. Only the user's configuration names hooks: a
//! workspace's `task.yaml` never makes ctask run a program.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Built-in hook timeout in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// The three hook points (`hooks:` in `config.yaml`); each an argv list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSet {
    /// Run after a workspace is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_create: Option<Vec<String>>,
    /// Run before a session begins; its failure refuses the begin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_begin: Option<Vec<String>>,
    /// Run after a session ended (summary and `end` line written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_end: Option<Vec<String>>,
}

impl HookSet {
    /// Refuses an empty argv or an empty program name, naming the hook.
    pub fn validate(&self) -> Result<()> {
        for (name, argv) in self.named() {
            match argv.first() {
                Some(p) if !p.is_empty() => {}
                _ => {
                    return Err(Error::invalid_option(
                        "hooks",
                        format!("hook {name}: its argv list must start with a program"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The hooks that are set, with their names.
    pub fn named(&self) -> Vec<(HookName, &Vec<String>)> {
        [
            (HookName::OnCreate, &self.on_create),
            (HookName::BeforeBegin, &self.before_begin),
            (HookName::AfterEnd, &self.after_end),
        ]
        .into_iter()
        .filter_map(|(n, a)| a.as_ref().map(|a| (n, a)))
        .collect()
    }

    /// Whether no hook is set.
    pub fn is_empty(&self) -> bool {
        self.named().is_empty()
    }
}

/// The hooks and their timeout, as a face passes them to the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    /// The programs.
    #[serde(default)]
    pub set: HookSet,
    /// How long a hook may run before its process group is killed.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            set: HookSet::default(),
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
        }
    }
}

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookName {
    /// After a workspace is created.
    OnCreate,
    /// Before a session begins.
    BeforeBegin,
    /// After a session ended.
    AfterEnd,
}

impl HookName {
    /// The name used in `config.yaml`, `CTASK_HOOK` and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            HookName::OnCreate => "on_create",
            HookName::BeforeBegin => "before_begin",
            HookName::AfterEnd => "after_end",
        }
    }
}

impl fmt::Display for HookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a hook failed, as written in a `hook` log line's `exit`: its exit code, `timeout`,
/// `signal:N` or `spawn_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookExit {
    /// It exited with this non-zero code.
    Code(i32),
    /// It ran past the timeout and was killed.
    Timeout,
    /// A signal ended it.
    Signal(i32),
    /// It could not be started (the detail says why).
    SpawnError(String),
}

impl HookExit {
    /// The `exit` value of the `hook` log line.
    pub fn log_value(&self) -> String {
        match self {
            HookExit::Code(c) => c.to_string(),
            HookExit::Timeout => "timeout".to_owned(),
            HookExit::Signal(n) => format!("signal:{n}"),
            HookExit::SpawnError(_) => "spawn_error".to_owned(),
        }
    }
}

impl fmt::Display for HookExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookExit::Code(c) => write!(f, "exit code {c}"),
            HookExit::Timeout => f.write_str("timed out and was killed"),
            HookExit::Signal(n) => write!(f, "killed by signal {n}"),
            HookExit::SpawnError(d) => write!(f, "could not be started: {d}"),
        }
    }
}

/// Runs hook `name`'s argv in `dir` with `env` (the session's environment) on top of the
/// process's own, plus `CTASK_HOOK=<name>`. Its stdin is empty and its stdout goes to
/// stderr (a face's stdout carries data). Waits at most `timeout`, then kills its whole
/// process group. `Ok(())` when it exited 0.
pub fn run(
    name: HookName,
    argv: &[String],
    dir: &Path,
    env: &BTreeMap<String, String>,
    timeout: Duration,
) -> std::result::Result<(), HookExit> {
    let Some((program, args)) = argv.split_first() else {
        return Err(HookExit::SpawnError("empty argv".into()));
    };
    let stdout = stderr_copy().map_err(|e| HookExit::SpawnError(e.to_string()))?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env)
        .env("CTASK_HOOK", name.as_str())
        .stdin(Stdio::null())
        .stdout(stdout)
        .process_group(0)
        .spawn()
        .map_err(|e| HookExit::SpawnError(format!("{program}: {e}")))?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match (status.code(), status.signal()) {
                    (Some(0), _) => Ok(()),
                    (Some(c), _) => Err(HookExit::Code(c)),
                    (None, Some(s)) => Err(HookExit::Signal(s)),
                    (None, None) => Err(HookExit::Code(-1)),
                };
            }
            Ok(None) => {}
            Err(e) => return Err(HookExit::SpawnError(e.to_string())),
        }
        if Instant::now() >= deadline {
            kill_group(child.id());
            let _ = child.wait();
            return Err(HookExit::Timeout);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Kills process group `pgid` (the hook made it its own) with SIGKILL.
fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// A copy of the process's stderr for a hook's stdout (null when there is none).
fn stderr_copy() -> std::io::Result<Stdio> {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Ok(Stdio::from(fd)),
        Err(_) => Ok(Stdio::null()),
    }
}

/// The error of a `before_begin` hook that failed: the begin is refused.
pub fn refused(argv: &[String], exit: HookExit) -> Error {
    Error::Hook {
        name: HookName::BeforeBegin.as_str().to_owned(),
        program: argv.first().cloned().unwrap_or_default(),
        exit: exit.log_value(),
        detail: exit.to_string(),
    }
}

/// The fields of a `hook` log line: `id` (the session, `-` for none), `name`, `exit`.
pub fn log_fields(
    session_id: Option<&str>,
    name: HookName,
    exit: &HookExit,
) -> Vec<(&'static str, String)> {
    vec![
        ("id", session_id.unwrap_or("-").to_owned()),
        ("name", name.as_str().to_owned()),
        ("exit", exit.log_value()),
    ]
}

/// Runs a hook whose failure is only reported (`on_create`, `after_end`): on failure,
/// appends a `hook` line through `logs` (the workspace's open `logs/`, when at hand) and
/// returns the warning; a log line that cannot be written adds to the warning.
pub fn run_reported(
    name: HookName,
    argv: &[String],
    dir: &Path,
    env: &BTreeMap<String, String>,
    hooks: &Hooks,
    session_id: Option<&str>,
    logs: Option<&crate::session::dirfd::Dir>,
) -> Option<String> {
    let timeout = Duration::from_secs(hooks.timeout_seconds);
    let exit = run(name, argv, dir, env, timeout).err()?;
    let mut w = warning(name, argv, &exit);
    let fields = log_fields(session_id, name, &exit);
    let logged = match logs {
        Some(d) => crate::session::log::append_in(d, crate::timefmt::now_secs(), "hook", &fields),
        None => crate::session::log::append(dir, crate::timefmt::now_secs(), "hook", &fields),
    };
    if let Err(e) = logged {
        w.push_str(&format!(" (and its log line could not be written: {e})"));
    }
    Some(w)
}

/// The warning of an `on_create` or `after_end` hook that failed.
pub fn warning(name: HookName, argv: &[String], exit: &HookExit) -> String {
    format!(
        "hook {name} ({}) failed: {exit}",
        argv.first().map(String::as_str).unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn exit_codes_signals_and_spawn_errors_are_told_apart() {
        let d = tempfile::tempdir().unwrap();
        let env = BTreeMap::new();
        let t = Duration::from_secs(10);
        let run = |argv: &[String]| run(HookName::AfterEnd, argv, d.path(), &env, t);
        assert_eq!(run(&sh("exit 0")), Ok(()));
        assert_eq!(run(&sh("exit 7")), Err(HookExit::Code(7)));
        assert_eq!(run(&sh("kill -TERM $$")), Err(HookExit::Signal(15)));
        let missing = run(&["/nonexistent/hook".to_owned()]);
        assert!(
            matches!(missing, Err(HookExit::SpawnError(_))),
            "{missing:?}"
        );
        assert_eq!(missing.unwrap_err().log_value(), "spawn_error");
    }

    #[test]
    fn a_hook_runs_in_the_directory_with_the_environment_and_its_name() {
        let d = tempfile::tempdir().unwrap();
        let env = BTreeMap::from([("CTASK_SESSION_ID".to_owned(), "s-1".to_owned())]);
        let r = run(
            HookName::BeforeBegin,
            &sh(r#"printf '%s %s' "$CTASK_HOOK" "$CTASK_SESSION_ID" > out; pwd > where"#),
            d.path(),
            &env,
            Duration::from_secs(10),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(
            std::fs::read_to_string(d.path().join("out")).unwrap(),
            "before_begin s-1"
        );
        let here = std::fs::read_to_string(d.path().join("where")).unwrap();
        assert_eq!(
            Path::new(here.trim_end()).canonicalize().unwrap(),
            d.path().canonicalize().unwrap()
        );
    }

    #[test]
    fn empty_argv_is_refused_by_validate() {
        let h = HookSet {
            after_end: Some(vec![]),
            ..HookSet::default()
        };
        let e = h.validate().unwrap_err().to_string();
        assert!(e.contains("after_end"), "{e}");
    }
}
