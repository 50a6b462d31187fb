//! tmux for persistent sessions: the session-name rule, the version check (≥ 3.2), and the
//! few commands ctask runs — always against the default server (which honours
//! `TMUX_TMPDIR`) and always targeting sessions exactly (`-t =NAME`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

use super::launch::find_program;
use crate::error::{Error, Result};

/// The oldest tmux ctask works with (`new-session -e` appeared in 3.2).
pub const MIN_VERSION: (u32, u32) = (3, 2);

/// Lower-cases and maps `[^a-z0-9_-]` to `_`, collapses runs of `_`, trims `_` and `-`
/// at both ends; empty → `_`.
fn clean(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            c
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches(['_', '-']);
    if trimmed.is_empty() {
        "_".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The tmux session name of a workspace: `ctask-<category>-<slug≤30>-<hash6>`, where
/// `hash6` is the first 6 hex digits of SHA-256 of the cleaned absolute workspace path.
pub fn session_name(category: &str, slug: &str, workspace: &Path) -> String {
    let mut slug = clean(slug);
    if slug.len() > 30 {
        slug.truncate(30);
        let t = slug.trim_end_matches('_');
        slug = if t.is_empty() {
            "_".to_owned()
        } else {
            t.to_owned()
        };
    }
    let path = clean_path(workspace);
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    let hash6: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    format!("ctask-{}-{}-{}", clean(category), slug, hash6)
}

/// The path with `.` components, repeated and trailing separators removed (lexically).
fn clean_path(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// Parses `tmux -V` output (`tmux 3.3a`, `tmux next-3.4`, `tmux 3.2-rc2`) into (major, minor).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.trim().strip_prefix("tmux ")?;
    let v = v.trim_start_matches(|c: char| !c.is_ascii_digit());
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// One argument as tmux's command-line parser must receive it to pass it on unchanged.
///
/// tmux splits its own argv into commands at every element that ends in `;` (the `;` is
/// removed; a non-empty rest stays an argument), and an element ending in `\;` keeps a
/// literal `;` in place of the backslash. No other character of a command-line argument
/// is special (quotes, braces, `#{…}`, `$`, `~` and control characters pass as they are).
/// So an element ending in `;` gets a backslash before that `;`, and nothing else changes.
pub fn escape_arg(arg: &str) -> Cow<'_, str> {
    match arg.strip_suffix(';') {
        Some(rest) => Cow::Owned(format!("{rest}\\;")),
        None => Cow::Borrowed(arg),
    }
}

/// A value tmux expands as a format (such as `new-session -c`): every `#` doubled, so
/// `#{…}` and `#(…)` in a path stay literal.
pub fn escape_format(value: &str) -> String {
    value.replace('#', "##")
}

/// A usable tmux binary.
#[derive(Debug, Clone)]
pub struct Tmux {
    /// The binary.
    pub bin: PathBuf,
    /// Its version.
    pub version: (u32, u32),
}

impl Tmux {
    /// Finds tmux on PATH and checks it is at least [`MIN_VERSION`].
    pub fn find() -> Result<Tmux> {
        let bin = find_program("tmux").map_err(|_| Error::Tmux {
            detail: "tmux is not installed (persistent mode needs tmux 3.2 or newer)".into(),
        })?;
        let out = Command::new(&bin)
            .arg("-V")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Tmux {
                detail: format!("cannot run {}: {e}", bin.display()),
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let version = parse_version(&text).ok_or_else(|| Error::Tmux {
            detail: format!(
                "cannot read the version of {} ({:?})",
                bin.display(),
                text.trim()
            ),
        })?;
        if version < MIN_VERSION {
            return Err(Error::Tmux {
                detail: format!(
                    "tmux {}.{} is too old; persistent mode needs tmux {}.{} or newer",
                    version.0, version.1, MIN_VERSION.0, MIN_VERSION.1
                ),
            });
        }
        Ok(Tmux { bin, version })
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Command::new(&self.bin)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Tmux {
                detail: format!("cannot run tmux: {e}"),
            })
    }

    fn run_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.run(args)?;
        if !out.status.success() {
            return Err(Error::Tmux {
                detail: format!(
                    "`tmux {}` failed: {}",
                    args.first().copied().unwrap_or(""),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Whether session `name` exists.
    pub fn has_session(&self, name: &str) -> bool {
        self.run(&["has-session", "-t", &format!("={name}")])
            .is_ok_and(|o| o.status.success())
    }

    /// Creates detached session `name` in `cwd` running `argv` directly (no shell), with
    /// `remain-on-exit on` set in the same command list, before the pane can exit.
    ///
    /// Every element of `argv` reaches the program unchanged: each is escaped for tmux's
    /// command-line parser ([`escape_arg`]), and `cwd` for that parser and for its format
    /// expansion ([`escape_format`]).
    pub fn new_session(&self, name: &str, cwd: &Path, argv: &[String]) -> Result<()> {
        let cwd = escape_format(&cwd.to_string_lossy());
        let cwd = escape_arg(&cwd);
        let target = format!("={name}:");
        let argv: Vec<Cow<'_, str>> = argv.iter().map(|a| escape_arg(a)).collect();
        let mut args: Vec<&str> = vec!["new-session", "-d", "-s", name, "-c", &cwd, "--"];
        args.extend(argv.iter().map(|a| a.as_ref()));
        args.extend([
            ";",
            "set-option",
            "-w",
            "-t",
            &target,
            "remain-on-exit",
            "on",
        ]);
        self.run_ok(&args).map(|_| ())
    }

    /// The pane's state: `None` while the agent runs, else its exit code (a signal death
    /// → 128 + signal when tmux reports it; `Some(None)` when the code is unknown — also
    /// for a moment after the pane's terminal closed but before tmux reaped the process).
    pub fn pane_exit(&self, name: &str) -> Result<Option<Option<i32>>> {
        let state = self.pane_state(name)?;
        if state != Some(None) {
            return Ok(state);
        }
        // Dead without a status: tmux (3.3a, at least) sometimes misses the SIGCHLD of a
        // pane's process and leaves it a zombie until the next one arrives. Another
        // SIGCHLD makes the server reap it and record the status.
        if let Some(pid) = self.server_pid() {
            // SAFETY: a plain kill of the tmux server we talk to; SIGCHLD only makes it
            // reap exited children.
            unsafe {
                libc::kill(pid, libc::SIGCHLD);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            return self.pane_state(name);
        }
        Ok(state)
    }

    fn pane_state(&self, name: &str) -> Result<Option<Option<i32>>> {
        let out = self.run_ok(&[
            "list-panes",
            "-t",
            &format!("={name}"),
            "-F",
            "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}",
        ])?;
        let line = out.lines().next().unwrap_or("");
        let mut f = line.split(' ');
        if f.next() != Some("1") {
            return Ok(None);
        }
        let status = f.next().and_then(|s| s.parse::<i32>().ok());
        let signal = f
            .next()
            .and_then(|s| s.parse::<i32>().ok())
            .filter(|s| *s > 0);
        Ok(Some(status.or(signal.map(|s| 128 + s))))
    }

    /// The tmux server's process id.
    fn server_pid(&self) -> Option<libc::pid_t> {
        let out = self.run_ok(&["display-message", "-p", "#{pid}"]).ok()?;
        out.trim().parse().ok().filter(|p| *p > 1)
    }

    /// Whether a client is attached to session `name`.
    pub fn attached(&self, name: &str) -> Option<bool> {
        let out = self
            .run_ok(&["list-sessions", "-F", "#{session_name} #{session_attached}"])
            .ok()?;
        out.lines()
            .filter_map(|l| l.rsplit_once(' '))
            .find(|(n, _)| *n == name)
            .map(|(_, a)| a.trim() != "0")
    }

    /// Kills session `name` (absent is not an error).
    pub fn kill_session(&self, name: &str) -> Result<()> {
        let _ = self.run(&["kill-session", "-t", &format!("={name}")])?;
        Ok(())
    }

    /// The command that attaches the calling terminal to session `name`.
    pub fn attach_command(&self, name: &str) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(["attach-session", "-t", &format!("={name}")]);
        c
    }
}

/// Whether `lease` names a tmux session that still exists: its agent runs there even if
/// its owner has gone, so a launch must join it (passive reattach or adopt) rather than
/// start a second agent beside it.
pub fn agent_runs_in_tmux(lease: &crate::session::Lease) -> bool {
    lease
        .tmux_session
        .as_deref()
        .is_some_and(|name| Tmux::find().is_ok_and(|t| t.has_session(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        let ws = Path::new("/r/general/2026-01-01_x");
        let n = session_name("General", "Fix.Auth:login", ws);
        assert!(n.starts_with("ctask-general-fix_auth_login-"), "{n}");
        assert_eq!(n.len(), "ctask-general-fix_auth_login-".len() + 6);
        assert_eq!(session_name("", "", ws).split('-').nth(1), Some("_"));
        let long = session_name("c", &"a".repeat(29).to_string().replace('a', "ab"), ws);
        let slug = long
            .trim_start_matches("ctask-c-")
            .rsplit_once('-')
            .unwrap()
            .0;
        assert!(slug.len() <= 30 && !slug.ends_with('_'), "{slug}");
        assert_ne!(
            session_name("c", "s", Path::new("/a")),
            session_name("c", "s", Path::new("/b"))
        );
        assert_eq!(
            session_name("c", "s", Path::new("/a/./b/")),
            session_name("c", "s", Path::new("/a/b"))
        );
        assert_eq!(session_name("é", "日本語", ws).split('-').nth(1), Some("_"));
    }

    #[test]
    fn arguments_ending_in_a_separator_are_escaped() {
        // What tmux's parser does to one argv element: a trailing `;` ends the command,
        // a trailing `\;` becomes `;`.
        fn tmux_reads(arg: &str) -> Option<String> {
            let rest = arg.strip_suffix(';')?;
            rest.strip_suffix('\\').map(|r| format!("{r};"))
        }
        for a in ["x;", ";", ";;", "\\;", "a\\\\;", "x\\;;"] {
            assert_eq!(tmux_reads(&escape_arg(a)).as_deref(), Some(a), "{a:?}");
        }
        for a in ["", "{", "}", "#{pane_id}", "$HOME", "~", "a;b", "\n", "\\"] {
            assert_eq!(escape_arg(a), a);
        }
        assert_eq!(escape_format("/r/#{pane_id}/x#"), "/r/##{pane_id}/x##");
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("tmux 3.3a\n"), Some((3, 3)));
        assert_eq!(parse_version("tmux next-3.4"), Some((3, 4)));
        assert_eq!(parse_version("tmux 3.2-rc2"), Some((3, 2)));
        assert_eq!(parse_version("tmux 2.9"), Some((2, 9)));
        assert_eq!(parse_version("screen"), None);
    }
}
