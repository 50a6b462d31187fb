//! The environment of the tests that drive the binary as a user or a hostile agent would:
//! a private root, home, config home, temp dir and tmux server (`TMUX_TMPDIR`), and a
//! canary directory outside every workspace that must never change.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Bg, Out, PATIENCE, Sandbox, bin, path_str, remove_inherited, tree_snapshot};

/// A private root, home, config home, temp dir, tmux server directory and a canary
/// directory outside every workspace.
pub struct Env {
    sandbox: Sandbox,
    canary: BTreeMap<PathBuf, String>,
}

impl Deref for Env {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Env {
    pub fn new() -> Env {
        let sandbox = Sandbox::with_dirs(&["scratch", "tmux", "tmp", "canary"]);
        let canary_dir = sandbox.dir.path().join("canary");
        fs::write(canary_dir.join("keep.txt"), "canary\n").expect("canary");
        fs::create_dir(canary_dir.join("sub")).expect("canary dir");
        fs::write(canary_dir.join("sub/deep.txt"), "deep\n").expect("canary");
        let canary = tree_snapshot(&canary_dir);
        Env { sandbox, canary }
    }

    pub fn canary_dir(&self) -> PathBuf {
        self.dir.path().join("canary")
    }

    /// Panics unless the canary directory is exactly as it was created.
    pub fn check_canary(&self) {
        assert_eq!(
            tree_snapshot(&self.canary_dir()),
            self.canary,
            "something outside the workspace changed"
        );
    }

    pub fn tmux_dir(&self) -> PathBuf {
        self.dir.path().join("tmux")
    }

    pub fn clean(&self, cmd: &mut Command) {
        remove_inherited(cmd, &["CTASK_", "TMUX"]);
        cmd.envs(self.vars())
            .env("TMUX_TMPDIR", self.tmux_dir())
            .env("TMPDIR", self.dir.path().join("tmp"))
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE");
    }

    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(bin());
        self.clean(&mut cmd);
        cmd.current_dir(self.scratch_dir())
            .stdin(Stdio::null())
            .args(args);
        cmd
    }

    /// Runs `ctask ARGS` to completion (stdin is not a terminal).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        self.run_cmd(self.cmd(args))
    }

    /// Runs a command to completion within [`PATIENCE`].
    pub fn run_cmd(&self, cmd: Command) -> Out {
        let mut bg = Bg::spawn(cmd);
        bg.wait_within(PATIENCE)
            .unwrap_or_else(|| panic!("command did not exit within {PATIENCE:?}"))
    }

    /// Runs `tmux ARGS` against this test's private server.
    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("tmux");
        self.clean(&mut cmd);
        cmd.args(args).stdin(Stdio::null());
        cmd.output().expect("run tmux")
    }

    /// Creates a workspace without launching anything; returns its path.
    pub fn new_ws(&self, title: &str) -> PathBuf {
        let out = self.run(&["new", title, "--no-launch"]);
        out.ok();
        PathBuf::from(out.stdout.trim_end())
    }

    /// Starts a session in `ws` whose agent waits (about a minute at most) for the returned
    /// gate file, and returns once `status` reports it active.
    pub fn gated_session(&self, ws: &Path) -> (Bg, PathBuf) {
        let gate = self.scratch("gate");
        let script = format!(
            r#"i=0; while [ ! -e "{}" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done"#,
            path_str(&gate)
        );
        let session =
            Bg::spawn(self.cmd(&["resume", path_str(ws), "-a", "sh", "--", "-c", &script]));
        let live = super::wait_for(
            || {
                self.run(&["status", path_str(ws), "--json"])
                    .stdout
                    .contains("\"active\"")
            },
            PATIENCE,
        );
        assert!(live, "the session never became active");
        (session, gate)
    }

    /// Every process whose environment mentions this test's directory.
    pub fn own_processes(&self) -> Vec<libc::pid_t> {
        super::processes_mentioning(self.dir.path())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self
            .tmux_dir()
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
        {
            let _ = self.tmux(&["kill-server"]);
        }
        for pid in self.own_processes() {
            // SAFETY: a plain kill of a process this test started (its environment carries
            // this test's private directory).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Waits (within [`PATIENCE`]) until `path` exists.
pub fn wait_file(path: &Path) -> Vec<u8> {
    let found = super::wait_for(|| path.exists(), PATIENCE);
    assert!(found, "{} never appeared", path.display());
    fs::read(path).expect("read")
}
