//! `ctask-bench-live`: how fast live events arrive and what an idle `ctask watch` costs.
//!
//! ```text
//! ctask-bench-live --ctask PATH [--out FILE] [--sessions N] [--workspaces N] [--idle-workspaces N]
//! ```
//!
//! 1. Latency: N sessions (a `start` and an `end` line each) over M workspaces, appended one
//!    line at a time; a `ctask_core::watch::Watcher` in this process pulls them. Each line's
//!    latency runs from the return of its `write(2)` to the watcher handing it out; p50/p99/max,
//!    with inotify and with polling (the default 500 ms interval).
//! 2. Idle cost: `ctask watch --json` (the binary given) over many workspaces: its resident
//!    memory and CPU time over an idle period, read from `/proc`, and the delay until a line
//!    appended afterwards is printed.
//!
//! Every figure comes from counters of this run; the report is Markdown.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ctask_core::session::log;
use ctask_core::timefmt;
use ctask_core::watch::{Body, WatchOptions, Watcher};

type Res<T> = Result<T, String>;

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: usize) -> Res<usize> {
    match flag(args, name) {
        Some(v) => v.parse().map_err(|_| format!("{name}: not a number: {v}")),
        None => Ok(default),
    }
}

/// Creates `n` workspaces under `root` (`ws-0000` …), each with a log of one line.
fn make_workspaces(root: &Path, n: usize) -> Res<Vec<PathBuf>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let dir = root.join(format!("ws-{i:04}"));
        fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
        fs::write(
            dir.join("task.yaml"),
            format!("title: ws {i}\nslug: ws-{i:04}\n"),
        )
        .map_err(|e| e.to_string())?;
        let line = log::format_line(timefmt::now_secs(), "start", &[("id", "old".into())]);
        fs::write(dir.join("logs/sessions.log"), line).map_err(|e| e.to_string())?;
        out.push(dir.canonicalize().map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Appends one line with a single `write(2)` (what the session log does, without its fsync).
fn append(ws: &Path, line: &str) -> Res<()> {
    let mut f = OpenOptions::new()
        .append(true)
        .open(ws.join("logs/sessions.log"))
        .map_err(|e| e.to_string())?;
    f.write_all(line.as_bytes()).map_err(|e| e.to_string())
}

struct Latency {
    lines: usize,
    received: usize,
    duplicates: usize,
    out_of_order: usize,
    ms: Vec<f64>,
    wall: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Part 1: `sessions` sessions over `workspaces` workspaces, one line every `gap`.
fn latency(poll: bool, sessions: usize, workspaces: usize, gap: Duration) -> Res<Latency> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dirs = make_workspaces(tmp.path(), workspaces)?;
    let mut w = Watcher::new(WatchOptions {
        roots: vec![tmp.path().to_path_buf()],
        poll,
        ..WatchOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let lines = sessions * 2;
    let base = Instant::now();
    let written: Arc<Vec<AtomicU64>> = Arc::new((0..lines).map(|_| AtomicU64::new(0)).collect());
    let writer = {
        let written = written.clone();
        let dirs = dirs.clone();
        std::thread::spawn(move || -> Res<()> {
            for seq in 0..lines {
                let (session, event) = (seq / 2, if seq % 2 == 0 { "start" } else { "end" });
                let ws = &dirs[session % dirs.len()];
                let line = log::format_line(
                    timefmt::now_secs(),
                    event,
                    &[("id", format!("s{session}")), ("seq", seq.to_string())],
                );
                append(ws, &line)?;
                written[seq].store(base.elapsed().as_nanos() as u64 + 1, Ordering::SeqCst);
                std::thread::sleep(gap);
            }
            Ok(())
        })
    };
    let mut seen = vec![false; lines];
    let mut last_seq: Vec<Option<usize>> = vec![None; dirs.len()];
    let (mut received, mut duplicates, mut out_of_order) = (0, 0, 0);
    let mut ms = Vec::with_capacity(lines);
    let deadline = Instant::now() + gap * lines as u32 + Duration::from_secs(20);
    while received < lines && Instant::now() < deadline {
        let Some(e) = w
            .next_event(Duration::from_millis(100))
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let now = base.elapsed().as_nanos() as u64;
        let Body::Log(entry) = &e.body else { continue };
        let Some(seq) = entry.get("seq").and_then(|s| s.parse::<usize>().ok()) else {
            continue;
        };
        if seq >= lines {
            continue;
        }
        if seen[seq] {
            duplicates += 1;
            continue;
        }
        seen[seq] = true;
        received += 1;
        let wsi = dirs.iter().position(|d| *d == e.workspace).unwrap_or(0);
        if last_seq[wsi].is_some_and(|l| l > seq) {
            out_of_order += 1;
        }
        last_seq[wsi] = Some(seq);
        let at = written[seq].load(Ordering::SeqCst);
        if at > 0 {
            ms.push(now.saturating_sub(at - 1) as f64 / 1e6);
        }
    }
    let wall = base.elapsed().as_secs_f64();
    writer
        .join()
        .map_err(|_| "the writer thread panicked".to_string())??;
    ms.sort_by(f64::total_cmp);
    Ok(Latency {
        lines,
        received,
        duplicates,
        out_of_order,
        ms,
        wall,
    })
}

struct Idle {
    workspaces: usize,
    startup_s: f64,
    idle_s: f64,
    cpu_s: f64,
    rss_kib: u64,
    hwm_kib: u64,
    delivery_ms: Vec<f64>,
    exit: Option<i32>,
}

fn proc_cpu_s(pid: u32) -> Res<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("bad /proc stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(ticks as f64 / hz)
}

fn proc_kib(pid: u32, key: &str) -> Res<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
}

fn wait_for(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

/// Part 2: `ctask watch --json` over `n` workspaces, idle for `idle`.
fn idle(ctask: &Path, poll: bool, n: usize, idle: Duration) -> Res<Idle> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = tmp.path().join("tasks");
    let dirs = make_workspaces(&root, n)?;
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    let mut cmd = Command::new(ctask);
    cmd.args(["watch", "--json"]);
    if poll {
        cmd.arg("--poll");
    }
    cmd.env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path().join("config"))
        .env("CTASK_ROOT", &root)
        .env("CTASK_PROJECT_ROOT", tmp.path().join("projects"))
        .env_remove("CTASK_WORKSPACE")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).map_err(|e| e.to_string())?)
        .stderr(fs::File::create(&err).map_err(|e| e.to_string())?);
    let t0 = Instant::now();
    let mut child: Child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", ctask.display()))?;
    let pid = child.id();
    let ready = format!("watching {n} workspace(s)");
    if !wait_for(
        || fs::read_to_string(&err).is_ok_and(|t| t.contains(&ready)),
        Duration::from_secs(60),
    ) {
        let _ = child.kill();
        return Err(format!(
            "ctask watch did not start: {}",
            fs::read_to_string(&err).unwrap_or_default()
        ));
    }
    let startup_s = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    let cpu0 = proc_cpu_s(pid)?;
    let i0 = Instant::now();
    std::thread::sleep(idle);
    let cpu_s = proc_cpu_s(pid)? - cpu0;
    let idle_s = i0.elapsed().as_secs_f64();
    let rss_kib = proc_kib(pid, "VmRSS:")?;
    let hwm_kib = proc_kib(pid, "VmHWM:")?;
    // Then lines appended to workspaces spread over the set, one at a time.
    let mut delivery_ms = Vec::new();
    for k in 0..20 {
        let ws = &dirs[(k * 37) % dirs.len()];
        let id = format!("probe{k}");
        let line = log::format_line(timefmt::now_secs(), "start", &[("id", id.clone())]);
        let needle = format!("\"id\":\"{id}\"");
        append(ws, &line)?;
        let t = Instant::now();
        if wait_for(
            || fs::read_to_string(&out).is_ok_and(|t| t.contains(&needle)),
            Duration::from_secs(10),
        ) {
            delivery_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    delivery_ms.sort_by(f64::total_cmp);
    // SAFETY: plain kill of our own child.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let exit = child.wait().map_err(|e| e.to_string())?.code();
    Ok(Idle {
        workspaces: n,
        startup_s,
        idle_s,
        cpu_s,
        rss_kib,
        hwm_kib,
        delivery_ms,
        exit,
    })
}

/// The one-minute load average (`/proc/loadavg`).
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("ctask-bench-live: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Res<()> {
    let ctask = PathBuf::from(
        flag(args, "--ctask").ok_or("usage: ctask-bench-live --ctask PATH [--out FILE]")?,
    );
    let sessions = num(args, "--sessions", 1000)?;
    let workspaces = num(args, "--workspaces", 50)?;
    let idle_n = num(args, "--idle-workspaces", 1000)?;
    let gap = Duration::from_millis(1);
    let mut md = String::new();
    md.push_str("## Live events\n\n");
    md.push_str(&format!(
        "Measured by `ctask-bench-live` (bench/src/live.rs) on {} CPU(s), Linux {}, with a \
         load average of {} when the run began (other work shared the machine).\n\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        load_average()
    ));
    md.push_str(&format!(
        "**Latency.** {sessions} sessions (a `start` and an `end` line each) over {workspaces} \
         workspaces, one line appended every {} ms (a single `write(2)` with `O_APPEND`, as the \
         session log does, without its `fsync`); a `ctask_core::watch::Watcher` in the same \
         process pulls the events. Latency runs from the return of a line's `write(2)` to the \
         watcher handing the line out.\n\n",
        gap.as_millis()
    ));
    md.push_str("| mode | lines written | received | duplicates | out of order | p50 ms | p99 ms | max ms | wall s |\n|---|---|---|---|---|---|---|---|---|\n");
    for poll in [false, true] {
        let l = latency(poll, sessions, workspaces, gap)?;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} |\n",
            if poll { "polling (500 ms)" } else { "inotify" },
            l.lines,
            l.received,
            l.duplicates,
            l.out_of_order,
            percentile(&l.ms, 0.5),
            percentile(&l.ms, 0.99),
            l.ms.last().copied().unwrap_or(f64::NAN),
            l.wall
        ));
    }
    md.push_str(&format!(
        "\n**Idle cost.** `{} watch --json` over {idle_n} workspaces (each with a log): the time \
         until it says it is watching, its CPU time (user + system, `/proc/PID/stat`) over an idle \
         period after one second of settling, its resident memory then (`VmRSS`) and at peak \
         (`VmHWM`); then 20 lines appended one at a time to workspaces spread over the set, each \
         timed until `ctask watch` has printed it to its output file; then SIGTERM.\n\n",
        ctask
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    md.push_str("| mode | workspaces | start s | idle s | CPU s | CPU % | RSS MiB | peak RSS MiB | delivered | p50 ms | max ms | exit |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for poll in [false, true] {
        let i = idle(&ctask, poll, idle_n, Duration::from_secs(10))?;
        md.push_str(&format!(
            "| {} | {} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} | {:.1} | {}/20 | {:.1} | {:.1} | {} |\n",
            if poll { "--poll" } else { "inotify" },
            i.workspaces,
            i.startup_s,
            i.idle_s,
            i.cpu_s,
            100.0 * i.cpu_s / i.idle_s,
            i.rss_kib as f64 / 1024.0,
            i.hwm_kib as f64 / 1024.0,
            i.delivery_ms.len(),
            percentile(&i.delivery_ms, 0.5),
            i.delivery_ms.last().copied().unwrap_or(f64::NAN),
            i.exit.map_or("signal".to_string(), |c| c.to_string()),
        ));
    }
    md.push_str(
        "\nTargets: an event within 1 s with inotify and 3 s when polling, at most 50 MB resident, \
         about 0 % CPU when idle. CPU time is counted in clock ticks (10 ms), so an idle figure \
         of 0.00 means less than one tick over the period.\n\n\
         Polling looks at every workspace each interval (`task.yaml` and the log are each \
         checked with one `lstat`; a log is opened only when it changed), so its idle cost grows \
         with the number of workspaces; with inotify nothing runs until something changes, and \
         the only idle work is the command's check for a signal or a closed output five times a \
         second. Regenerate this page with `cargo build --release -p ctask-cli -p ctask-bench && \
         target/release/ctask-bench-live --ctask target/release/ctask --out \
         docs/performance-live.md`.\n",
    );
    match flag(args, "--out") {
        Some(path) => fs::write(&path, format!("# Performance: live events\n\n{md}"))
            .map_err(|e| format!("{path}: {e}"))?,
        None => print!("{md}"),
    }
    Ok(())
}
