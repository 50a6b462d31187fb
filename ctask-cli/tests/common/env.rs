//! The isolated environment every test runs `ctask` in: a private temporary directory with
//! `root/`, `home/` and `config/` (plus whatever a test file adds), and commands that see
//! only those, never the real user's, and no inherited `CTASK_*` variables.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The built `ctask` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ctask"))
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Removes from `cmd` every inherited variable whose name starts with one of `prefixes`.
pub fn remove_inherited(cmd: &mut Command, prefixes: &[&str]) {
    for (k, _) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if prefixes.iter().any(|p| name.starts_with(p)) {
            cmd.env_remove(&k);
        }
    }
}

/// A private temporary directory with `root/`, `home/`, `config/` and the `extra` ones.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn with_dirs(extra: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["root", "home", "config"].iter().chain(extra) {
            fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        Sandbox { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// The `scratch/` directory (only when it was asked for): outside every workspace.
    pub fn scratch_dir(&self) -> PathBuf {
        self.dir.path().join("scratch")
    }

    /// A path in `scratch/`, for the tests' own files.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.scratch_dir().join(name)
    }

    /// `CTASK_ROOT`, `HOME` and `XDG_CONFIG_HOME`, pointing into the sandbox.
    pub fn vars(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("CTASK_ROOT", self.root()),
            ("HOME", self.home()),
            ("XDG_CONFIG_HOME", self.config_home()),
        ]
    }

    /// Removes inherited `CTASK_*` variables from `cmd` and sets [`Sandbox::vars`].
    pub fn isolate(&self, cmd: &mut Command) {
        remove_inherited(cmd, &["CTASK_"]);
        cmd.envs(self.vars());
    }
}
