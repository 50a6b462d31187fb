//! Running a child process and reading its own resource use (wall time, CPU time, peak RSS)
//! from `wait4`, so every figure belongs to one process tree and nothing else.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One measured run of a child process.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Wall time from spawn to reaping, seconds.
    pub wall: f64,
    /// User + system CPU time of the child and the descendants it waited for, seconds.
    pub cpu: f64,
    /// Peak resident set size, KiB (the largest of the child and its reaped descendants).
    pub maxrss_kib: u64,
    /// What the child wrote on stdout (only when asked for).
    pub stdout: String,
}

/// Where a child's output goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Out {
    /// Discarded (`/dev/null`).
    Null,
    /// Read into [`Sample::stdout`].
    Capture,
}

/// Runs `cmd` with stdin from `stdin` (or `/dev/null`), stderr into `errlog`, and returns
/// its measurements; a failing child is an error carrying its stderr.
///
/// The command is started through `launcher` (this program's `exec` mode), which forks it
/// and reports what `wait4` says. On Linux a process's peak RSS starts at the peak of the
/// process it was forked from, so forking from this (large) process would inflate every
/// figure; the freshly started launcher is small.
pub fn run(
    launcher: &Path,
    cmd: &Command,
    stdin: Option<File>,
    out: Out,
    errlog: &Path,
) -> Result<Sample, String> {
    let err = File::create(errlog).map_err(|e| format!("{}: {e}", errlog.display()))?;
    let report = errlog.with_extension("rusage");
    let mut outer = Command::new(launcher);
    outer
        .arg("exec")
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        outer.current_dir(d);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => outer.env(k, v),
            None => outer.env_remove(k),
        };
    }
    outer
        .stdin(stdin.map_or_else(Stdio::null, Stdio::from))
        .stdout(match out {
            Out::Null => Stdio::null(),
            Out::Capture => Stdio::piped(),
        })
        .stderr(Stdio::from(err));
    let mut child = outer.spawn().map_err(|e| format!("{cmd:?}: {e}"))?;
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)
            .map_err(|e| format!("{cmd:?}: reading stdout: {e}"))?;
    }
    let status = child.wait().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !status.success() {
        let msg = std::fs::read_to_string(errlog).unwrap_or_default();
        return Err(format!("{cmd:?} failed ({status}): {}", msg.trim()));
    }
    let text =
        std::fs::read_to_string(&report).map_err(|e| format!("{}: {e}", report.display()))?;
    let f: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if f.len() != 3 {
        return Err(format!("launcher reported {text:?}"));
    }
    Ok(Sample {
        wall: f[0],
        cpu: f[1],
        maxrss_kib: f[2] as u64,
        stdout,
    })
}

/// The launcher (`ctask-bench exec REPORT PROGRAM ARGS…`): runs the program with this
/// process's stdio, directory and environment, writes `wall cpu maxrss_kib` to REPORT and
/// exits with the program's status.
pub fn launcher(args: &[String]) -> Result<i32, String> {
    let [report, program, rest @ ..] = args else {
        return Err("exec: REPORT PROGRAM [ARGS…] expected".into());
    };
    let start = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child; status and ru are valid for writing.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4: {e}"));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    // Reaped by wait4 above; dropping the handle only releases it.
    drop(child);
    std::fs::write(
        report,
        format!(
            "{wall} {} {}\n",
            tv(ru.ru_utime) + tv(ru.ru_stime),
            ru.ru_maxrss
        ),
    )
    .map_err(|e| format!("{report}: {e}"))?;
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// CPU time (user + system, all threads) this process has used so far, seconds.
pub fn self_cpu() -> f64 {
    // SAFETY: as above; getrusage only writes the struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU time of the calling thread, seconds.
pub fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is valid for writing; the clock id is a constant the kernel knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Pages of the file at `path` in the page cache, and its size in pages (`mincore` on a
/// read-only shared mapping, which reads nothing itself).
pub fn resident_pages(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::fd::AsRawFd;
    let f = File::open(path)?;
    let len = usize::try_from(f.metadata()?.len()).map_err(std::io::Error::other)?;
    if len == 0 {
        return Ok((0, 0));
    }
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .map_err(std::io::Error::other)?;
    let n = len.div_ceil(page);
    // SAFETY: a fresh read-only shared mapping of an open file; unmapped below, never read.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    let mut vec = vec![0u8; n];
    // SAFETY: `addr` maps `len` bytes; `vec` has one byte per page of them.
    let rc = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
    let err = std::io::Error::last_os_error();
    // SAFETY: the mapping made above, of `len` bytes.
    unsafe { libc::munmap(addr, len) };
    if rc != 0 {
        return Err(err);
    }
    let resident = vec.iter().filter(|b| **b & 1 == 1).count();
    Ok((resident as u64, n as u64))
}

/// Median of `v` (mean of the middle two for an even count); 0 for none.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The measurements of one benchmark row: several runs of the same thing.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Wall seconds of each run (in-process capture time for capture rows).
    pub wall: Vec<f64>,
    /// CPU seconds of each run.
    pub cpu: Vec<f64>,
    /// Peak RSS of each run's process, KiB.
    pub rss: Vec<u64>,
}

impl Series {
    /// Adds one run.
    pub fn push(&mut self, wall: f64, cpu: f64, rss: u64) {
        self.wall.push(wall);
        self.cpu.push(cpu);
        self.rss.push(rss);
    }

    /// Median wall seconds.
    pub fn wall(&self) -> f64 {
        median(&self.wall)
    }

    /// Median CPU seconds.
    pub fn cpu(&self) -> f64 {
        median(&self.cpu)
    }

    /// Largest peak RSS, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.rss.iter().copied().max().unwrap_or(0) as f64 / 1024.0
    }

    /// Smallest and largest wall seconds.
    pub fn wall_range(&self) -> (f64, f64) {
        let min = self.wall.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.wall.iter().copied().fold(0.0, f64::max);
        (if min.is_finite() { min } else { 0.0 }, max)
    }
}
