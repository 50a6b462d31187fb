//! Processes: finished ones ([`Out`]), background ones in their own process groups ([`Bg`],
//! killed with their whole group when dropped), and polling with a deadline.

use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Generous bound for anything that merely has to happen eventually on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A finished process.
#[derive(Debug)]
pub struct Out {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            status: o.status,
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    pub fn ok(&self) {
        self.code_is(0);
    }

    pub fn code_is(&self, code: i32) {
        assert_eq!(self.code(), Some(code), "unexpected exit: {self:#?}");
        no_panic(&self.stderr);
    }
}

pub fn no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "ctask panicked: {stderr}"
    );
}

/// A background process in its own process group; the whole group is killed on drop.
pub struct Bg {
    pub child: Child,
    out: PathBuf,
    err: PathBuf,
    /// Keeps the anonymous output files of [`Bg::spawn`] until the process is gone.
    _files: Option<(tempfile::TempPath, tempfile::TempPath)>,
    status: Option<ExitStatus>,
}

impl Bg {
    /// Starts `cmd` with its output in temporary files.
    pub fn spawn(cmd: Command) -> Bg {
        let out = tempfile::NamedTempFile::new().expect("stdout file");
        let err = tempfile::NamedTempFile::new().expect("stderr file");
        let (out_file, err_file) = (out.reopen().expect("reopen"), err.reopen().expect("reopen"));
        let (out, err) = (out.into_temp_path(), err.into_temp_path());
        let mut bg = Bg::start(
            cmd,
            out.to_path_buf(),
            err.to_path_buf(),
            out_file,
            err_file,
        );
        bg._files = Some((out, err));
        bg
    }

    /// Starts `cmd` with its output in the files `out` and `err` (created or truncated).
    pub fn spawn_to(cmd: Command, out: PathBuf, err: PathBuf) -> Bg {
        let out_file = fs::File::create(&out).expect("stdout file");
        let err_file = fs::File::create(&err).expect("stderr file");
        Bg::start(cmd, out, err, out_file, err_file)
    }

    fn start(
        mut cmd: Command,
        out: PathBuf,
        err: PathBuf,
        out_file: fs::File,
        err_file: fs::File,
    ) -> Bg {
        cmd.stdout(out_file).stderr(err_file).process_group(0);
        let child = cmd.spawn().expect("spawn");
        Bg {
            child,
            out,
            err,
            _files: None,
            status: None,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    /// Sends `sig` to the process itself unless it has already been reaped.
    pub fn signal(&self, sig: libc::c_int) {
        if self.status.is_none() {
            // SAFETY: plain kill of a child this test started and has not reaped.
            assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0, "kill {sig}");
        }
    }

    /// The live (not zombie) processes still in this process's group, the leader aside.
    pub fn group_members(&self) -> Vec<i32> {
        let pgid = self.pid();
        let Ok(rd) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| pid != pgid)
            .filter(|pid| {
                // `pid (comm) state ppid pgrp …`; comm may hold spaces, so split after `)`.
                let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    return false;
                };
                let Some((_, rest)) = stat.rsplit_once(") ") else {
                    return false;
                };
                let f: Vec<&str> = rest.split(' ').collect();
                f.len() > 2 && f[0] != "Z" && f[2] == pgid.to_string()
            })
            .collect()
    }

    pub fn kill_group(&self) {
        // SAFETY: the group was created for this child (process_group(0)); killing it
        // after the leader was reaped can only hit its leftover members.
        unsafe {
            libc::kill(-self.pid(), libc::SIGKILL);
        }
    }

    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits up to `limit`; `None` when it is still running.
    pub fn wait_within(&mut self, limit: Duration) -> Option<Out> {
        let deadline = Instant::now() + limit;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(st) = self.try_status() {
                break st;
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        Some(Out {
            status,
            stdout: fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: self.stderr(),
        })
    }

    /// Waits (within [`PATIENCE`]) for the process to exit.
    pub fn wait(&mut self) -> Out {
        match self.wait_within(PATIENCE) {
            Some(o) => o,
            None => panic!("process did not exit in time; stderr: {}", self.stderr()),
        }
    }

    /// Kills the group with SIGKILL and reaps the leader.
    pub fn kill9(&mut self) -> Out {
        self.signal(libc::SIGKILL);
        self.kill_group();
        self.wait()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        self.kill_group();
        let _ = self.child.wait();
    }
}

/// Polls `cond` every 2 ms for up to `limit`; whether it became true.
pub fn wait_for(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Polls `f` every `every` until it returns something; panics, naming `what`, when that
/// takes longer than [`PATIENCE`].
pub fn wait_until<T>(what: &str, every: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(every);
    }
}

/// The pid of a process that has exited and been reaped.
pub fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().expect("spawn true");
    let pid = c.id();
    c.wait().expect("wait");
    pid
}

/// Every process but this one whose environment mentions `dir` (the processes a test started
/// with its private directories in their environment).
pub fn processes_mentioning(dir: &std::path::Path) -> Vec<libc::pid_t> {
    let marker = dir.as_os_str().as_encoded_bytes().to_vec();
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(marker.len()).any(|w| w == marker.as_slice()))
        })
        .filter_map(|pid| libc::pid_t::try_from(pid).ok())
        .collect()
}

/// Whether tmux can run here; without it the test returns (a failure under `CI=true`).
pub fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tmux is required under CI=true but cannot be run"
        );
        eprintln!("skipped: tmux is not installed");
    }
    ok
}
