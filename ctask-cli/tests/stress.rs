//! Concurrency stress, the `write.lock` protocol under kills, and signals at random moments.
//!
//! `CTASK_STRESS_PROCS` processes (default 4) each run `CTASK_STRESS_CYCLES` begin/end cycles
//! (default 10) on one workspace — half through the `ctask` binary, half through the library
//! (this test binary re-run as a worker) — with random `--force`, random kills and random
//! abandoned handles. Checked while they run and at the end:
//! - never two lease owners at once: each owner appends `B`/`E` lines with the wall clock
//!   while it holds the lease (the test adds a `K` line when it kills one); the intervals
//!   must not overlap;
//! - every JSON file in `.ctask/` parses whenever it exists (a reader thread polls them);
//! - the log never has two `start` or two `end` lines for an id, nor an `end` without its
//!   `start`; at the end every id has exactly one of each;
//! - no temp file, lease, start manifest or `write.lock` is left once the last session ends.
//!
//! `make stress` runs 16 × 100; `make test` the defaults.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use ctask_core::session::{Ending, Session, SessionOptions};

/// The CLI agent: when it owns the lease, records its interval and changes a few files.
const OWNER_AGENT: &str = r#"f="$1"
if grep -q "\"$CTASK_SESSION_ID\"" .ctask/session.json 2>/dev/null; then
  echo "B $CTASK_SESSION_ID $PPID $(date +%s%N)" >> "$f"
  echo "$CTASK_SESSION_ID" >> shared.txt
  echo x > "f-$(( $$ % 40 )).txt"
  [ "$2" = slow ] && sleep 1.2
  echo "E $CTASK_SESSION_ID $PPID $(date +%s%N)" >> "$f"
else
  echo "$CTASK_SESSION_ID" > "co-$(( $$ % 10 )).txt"
fi"#;

/// The run's seed: `CTASK_STRESS_SEED`, or else the clock. Each test prints it (a
/// `*.seed` figure) so that a run's random choices can be repeated.
fn base_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match env_num("CTASK_STRESS_SEED", 0) {
        0 => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        seed => seed,
    })
}

/// A small xorshift generator: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn seeded(salt: u64) -> Rng {
        Rng((base_seed() ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn append_line(path: &Path, line: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open owners file");
    f.write_all(line.as_bytes()).expect("append");
}

#[derive(Default)]
struct Counts {
    /// Cycles that ran and were seen to: CLI runs, and library cycles a worker reported.
    cycles: AtomicU64,
    /// Library cycles planned in batches whose worker was killed before reporting them.
    lib_cycles_lost: AtomicU64,
    owner_runs: AtomicU64,
    busy: AtomicU64,
    coexist: AtomicU64,
    kills: AtomicU64,
    lock_timeouts: AtomicU64,
    abandoned: AtomicU64,
}

/// Log checks that hold at every moment: at most one start and one end per id, no end
/// without its start. A last line still being written (no newline yet) is skipped.
fn check_log_now(ws: &Path) -> Result<(), String> {
    let text = log_text(ws);
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut counts: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let mut parsed = Vec::new();
    for l in complete.lines() {
        let e = ctask_core::session::log::parse_line(l)
            .ok_or_else(|| format!("malformed log line {l:?}"))?;
        parsed.push(e);
    }
    for e in &parsed {
        let Some(id) = e.get("id") else { continue };
        let c = counts.entry(id).or_default();
        match e.event.as_str() {
            "start" => c.0 += 1,
            "end" => {
                c.1 += 1;
                if c.0 == 0 {
                    return Err(format!("end before start for {id}"));
                }
            }
            _ => {}
        }
        if c.0 > 1 || c.1 > 1 {
            return Err(format!("{id}: {} start, {} end", c.0, c.1));
        }
    }
    Ok(())
}

/// Owner intervals from the `B`/`E`/`K` lines: how many, and how many pairs of consecutive
/// ones overlap (the first overlap is printed).
fn owner_intervals(owners: &Path) -> (usize, usize) {
    let text = fs::read_to_string(owners).unwrap_or_default();
    let mut open: BTreeMap<String, (u32, u128)> = BTreeMap::new();
    let mut kills: Vec<(u32, u128)> = Vec::new();
    let mut intervals: Vec<(u128, u128, String)> = Vec::new();
    for l in text.lines() {
        let p: Vec<&str> = l.split(' ').collect();
        match p.as_slice() {
            ["B", id, pid, t] => {
                open.insert((*id).to_owned(), (pid.parse().unwrap(), t.parse().unwrap()));
            }
            ["E", id, _, t] => {
                let (_, b) = open.remove(*id).expect("E without B");
                intervals.push((b, t.parse().unwrap(), (*id).to_owned()));
            }
            ["K", pid, t] => kills.push((pid.parse().unwrap(), t.parse().unwrap())),
            _ => panic!("bad owners line {l:?}"),
        }
    }
    // An owner killed before its E line held the lease at most until it was reaped.
    for (id, (pid, b)) in open {
        let end = kills
            .iter()
            .filter(|(kp, kt)| *kp == pid && *kt >= b)
            .map(|(_, kt)| *kt)
            .min()
            .unwrap_or_else(|| panic!("owner {id} (pid {pid}) neither ended nor was killed"));
        intervals.push((b, end, id));
    }
    intervals.sort();
    let mut overlaps = 0;
    for w in intervals.windows(2) {
        if w[1].0 < w[0].1 {
            if overlaps == 0 {
                eprintln!(
                    "two owners at once: {} [{}, {}] and {} [{}, {}]",
                    w[0].2, w[0].0, w[0].1, w[1].2, w[1].0, w[1].1
                );
            }
            overlaps += 1;
        }
    }
    (intervals.len(), overlaps)
}

/// One CLI cycle: `ctask resume` (maybe `--force`), maybe killed at a random moment.
fn cli_cycle(env: &Env, ws: &Path, owners: &Path, rng: &mut Rng, c: &Counts) {
    let force = rng.chance(30);
    let slow = rng.chance(3);
    let kill_after = rng
        .chance(15)
        .then(|| Duration::from_millis(rng.below(250)));
    let flags: &[&str] = if force { &["--force"] } else { &[] };
    let mut cmd = env.cmd(&sh_args(
        ws,
        flags,
        OWNER_AGENT,
        &[path_str(owners), if slow { "slow" } else { "fast" }],
    ));
    cmd.env("CTASK_HEARTBEAT_SECONDS", "1")
        .env("CTASK_STALE_AFTER_SECONDS", "60");
    let mut bg = Bg::spawn(cmd);
    let out = match kill_after.and_then(|d| match bg.wait_within(d) {
        Some(_) => None,
        None => Some(()),
    }) {
        Some(()) => {
            let pid = bg.pid();
            let out = bg.kill9();
            append_line(owners, &format!("K {pid} {}\n", now_ns()));
            c.kills.fetch_add(1, Ordering::Relaxed);
            out
        }
        None => bg.wait(),
    };
    bg.kill_group();
    no_panic(&out.stderr);
    match (out.code(), out.signal()) {
        (_, Some(libc::SIGKILL)) => {}
        (Some(0), _) if force && out.stderr.contains("sharing the workspace") => {
            c.coexist.fetch_add(1, Ordering::Relaxed);
        }
        (Some(0), _) => {
            c.owner_runs.fetch_add(1, Ordering::Relaxed);
        }
        (Some(3), _) if !force => {
            c.busy.fetch_add(1, Ordering::Relaxed);
        }
        (Some(4), _) => {
            c.lock_timeouts.fetch_add(1, Ordering::Relaxed);
        }
        other => panic!("unexpected exit {other:?}: {out:#?}"),
    }
    c.cycles.fetch_add(1, Ordering::Relaxed);
}

/// One library worker process running `cycles` cycles; maybe killed at a random moment.
fn lib_batch(env: &Env, ws: &Path, owners: &Path, cycles: u64, rng: &mut Rng, c: &Counts) {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--exact",
        "library_worker",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("CTASK_STRESS_WORKER", ws)
    .env("CTASK_STRESS_OWNERS", owners)
    .env("CTASK_STRESS_WORKER_CYCLES", cycles.to_string())
    .env("CTASK_STRESS_SEED", rng.next().to_string())
    .env("CTASK_ROOT", env.root())
    .env("HOME", env.dir.path().join("home"));
    let kill_after = rng
        .chance(30)
        .then(|| Duration::from_millis(rng.below(400)));
    let mut bg = Bg::spawn(cmd);
    let out = match kill_after.and_then(|d| bg.wait_within(d).is_none().then_some(())) {
        Some(()) => {
            let pid = bg.pid();
            let out = bg.kill9();
            append_line(owners, &format!("K {pid} {}\n", now_ns()));
            c.kills.fetch_add(1, Ordering::Relaxed);
            out
        }
        None => bg.wait(),
    };
    no_panic(&out.stderr);
    let killed = out.signal() == Some(libc::SIGKILL);
    // Complete lines only: a killed worker may have been cut in the middle of one.
    let complete = out.stdout.rfind('\n').map_or("", |i| &out.stdout[..=i]);
    let (mut ran, mut done) = (0u64, None);
    for l in complete.lines() {
        let Some(what) = l.strip_prefix("WORKER ") else {
            continue;
        };
        let counter = match what {
            "cycle owner" => &c.owner_runs,
            "cycle coexist" => &c.coexist,
            "cycle busy" => &c.busy,
            "cycle timeout" | "end timeout" => &c.lock_timeouts,
            "abandoned" => &c.abandoned,
            _ => {
                let n = what
                    .strip_prefix("done ")
                    .and_then(|n| n.parse::<u64>().ok());
                done = Some(n.unwrap_or_else(|| panic!("bad worker line {l:?}: {out:#?}")));
                continue;
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        ran += u64::from(what.starts_with("cycle "));
    }
    if killed {
        assert!(ran <= cycles, "{ran} of {cycles} cycles reported: {out:#?}");
    } else {
        // The worker's test must have run, every cycle of it.
        assert_eq!(out.code(), Some(0), "library worker failed: {out:#?}");
        assert_eq!(
            done,
            Some(cycles),
            "the library worker did not run: {out:#?}"
        );
        assert_eq!(ran, cycles, "cycles reported by the worker: {out:#?}");
    }
    c.cycles.fetch_add(ran, Ordering::Relaxed);
    c.lib_cycles_lost.fetch_add(cycles - ran, Ordering::Relaxed);
}

/// The library side of the stress: begin/end through `ctask_core` in a loop. Does nothing
/// unless started by [`lib_batch`].
#[test]
fn library_worker() {
    let Some(ws) = std::env::var_os("CTASK_STRESS_WORKER") else {
        return;
    };
    let ws = PathBuf::from(ws);
    let owners = PathBuf::from(std::env::var_os("CTASK_STRESS_OWNERS").expect("owners"));
    let cycles = env_num("CTASK_STRESS_WORKER_CYCLES", 1);
    let mut rng = Rng::seeded(0);
    // One line per event as it happens (stdout is line-buffered), so that a worker killed
    // half-way still reports the cycles it ran; the first on a line of its own.
    println!();
    let report = |what: &str| println!("WORKER {what}");
    for _ in 0..cycles {
        let opts = SessionOptions {
            agent: "stress-lib".into(),
            force: rng.chance(30),
            heartbeat_seconds: 1,
            ..SessionOptions::default()
        };
        match Session::begin(&ws, opts) {
            Ok(s) => {
                let id = s.id();
                if s.owns_lease() {
                    append_line(
                        &owners,
                        &format!("B {id} {} {}\n", std::process::id(), now_ns()),
                    );
                    fs::write(ws.join(format!("lib-{}.txt", rng.below(20))), &id).expect("write");
                    std::thread::sleep(Duration::from_millis(rng.below(30)));
                    append_line(
                        &owners,
                        &format!("E {id} {} {}\n", std::process::id(), now_ns()),
                    );
                }
                report(if s.owns_lease() {
                    "cycle owner"
                } else {
                    "cycle coexist"
                });
                if rng.chance(5) {
                    report("abandoned");
                    drop(s);
                } else {
                    match s.end(Ending::child_exit(0)) {
                        Ok(_) => {}
                        Err(ctask_core::Error::LockTimeout { .. }) => report("end timeout"),
                        Err(e) => panic!("end failed: {e}"),
                    }
                }
            }
            Err(ctask_core::Error::ActiveSession { .. }) => report("cycle busy"),
            Err(ctask_core::Error::LockTimeout { .. }) => report("cycle timeout"),
            Err(e) => panic!("begin failed: {e}"),
        }
    }
    report(&format!("done {cycles}"));
}

/// Polls every JSON file of `.ctask/` and the log until told to stop.
fn reader(ws: PathBuf, stop: Arc<AtomicBool>, reads: Arc<AtomicU64>) -> Result<(), String> {
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let n = check_json_files(&ws)?;
        reads.fetch_add(u64::from(n), Ordering::Relaxed);
        i += 1;
        if i.is_multiple_of(50) {
            check_log_now(&ws)?;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok(())
}

#[test]
fn concurrent_sessions_keep_every_invariant() {
    let procs = env_num("CTASK_STRESS_PROCS", 4);
    let cycles = env_num("CTASK_STRESS_CYCLES", 10);
    let env = Env::new();
    let ws = env.new_ws("Stress");
    fs::write(ws.join("shared.txt"), "").expect("write");
    let owners = env.scratch("owners");
    fs::write(&owners, "").expect("write");
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let env = Arc::new(env);
    let reader_thread = {
        let (ws, stop, reads) = (ws.clone(), Arc::clone(&stop), Arc::clone(&reads));
        std::thread::spawn(move || reader(ws, stop, reads))
    };
    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let workers: Vec<_> = (0..procs)
        .map(|w| {
            let (env, ws, owners, counts, failure) = (
                Arc::clone(&env),
                ws.clone(),
                owners.clone(),
                Arc::clone(&counts),
                Arc::clone(&failure),
            );
            std::thread::spawn(move || {
                let mut rng = Rng::seeded(w + 1);
                let mut done = 0;
                while done < cycles {
                    if w % 2 == 0 {
                        cli_cycle(&env, &ws, &owners, &mut rng, &counts);
                        done += 1;
                    } else {
                        let batch = (1 + rng.below(5)).min(cycles - done);
                        lib_batch(&env, &ws, &owners, batch, &mut rng, &counts);
                        done += batch;
                    }
                    if let Err(e) = check_log_now(&ws) {
                        *failure.lock().unwrap() = Some(e.clone());
                        panic!("{e}");
                    }
                }
            })
        })
        .collect();
    let mut panicked = 0;
    for w in workers {
        if w.join().is_err() {
            panicked += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let read_result = reader_thread.join().expect("reader thread");
    assert_eq!(panicked, 0, "{:?}", failure.lock().unwrap());
    read_result.expect("a JSON file was torn");

    // One last clean session closes whatever a kill left open.
    env.run(&sh_args(&ws, &[], "true", &[])).ok();
    let sessions = check_log_pairs(&ws, true);
    let (intervals, overlapping) = owner_intervals(&owners);
    for gone in ["session.json", "manifest-start.bin", "write.lock"] {
        assert!(!ctask_dir(&ws).join(gone).exists(), "{gone} left behind");
    }
    assert_eq!(temp_files(&ws), Vec::<String>::new(), "temp files left");
    let c = &counts;
    let lines = log_lines(&ws);
    let owner_died = lines
        .iter()
        .filter(|l| l.event == "end" && l.get("reason") == Some("owner_died"))
        .count();
    let removed = lines.iter().filter(|l| l.event == "lease-removed").count();
    let (ran, owner_runs, timeouts) = (
        c.cycles.load(Ordering::Relaxed),
        c.owner_runs.load(Ordering::Relaxed),
        c.lock_timeouts.load(Ordering::Relaxed),
    );
    figure("stress.seed", base_seed());
    figure("stress.processes", procs);
    figure("stress.cycles_per_process", cycles);
    figure("stress.cycles", ran);
    figure(
        "stress.library_cycles_lost_to_kills",
        c.lib_cycles_lost.load(Ordering::Relaxed),
    );
    figure("stress.sessions_logged", sessions);
    figure("stress.owner_intervals_checked", intervals);
    let starts = |coexist: bool| {
        lines
            .iter()
            .filter(|l| l.event == "start" && (l.get("role") == Some("coexist")) == coexist)
            .count()
    };
    figure("stress.owner_sessions_logged", starts(false));
    figure("stress.coexisting_sessions_logged", starts(true));
    figure("stress.refused_busy", c.busy.load(Ordering::Relaxed));
    figure("stress.kills", c.kills.load(Ordering::Relaxed));
    figure(
        "stress.abandoned_handles",
        c.abandoned.load(Ordering::Relaxed),
    );
    figure(
        "stress.lock_timeouts",
        c.lock_timeouts.load(Ordering::Relaxed),
    );
    figure("stress.closed_as_owner_died", owner_died);
    figure("stress.lease_removed_lines", removed);
    figure(
        "stress.json_reads_all_parsed",
        reads.load(Ordering::Relaxed),
    );
    figure("stress.overlapping_owners", overlapping);
    figure("stress.seconds", started.elapsed().as_secs());
    // The figures above must show the stress happened, not only that nothing went wrong.
    assert_eq!(overlapping, 0, "two lease owners at once (see stderr)");
    assert!(ran > 0, "no cycle ran");
    assert!(
        owner_runs > 0,
        "no cycle owned the lease: nothing was checked"
    );
    assert!(
        intervals as u64 >= owner_runs,
        "{owner_runs} owner runs but only {intervals} owner intervals recorded"
    );
    // A write.lock timeout means a holder kept the lock for the whole wait (2 s): rare
    // under load, never routine.
    assert!(
        timeouts <= ran / 50,
        "{timeouts} write.lock timeouts in {ran} cycles"
    );
}

/// A holder of `write.lock` killed while holding it never blocks anyone: its lock is broken
/// at once (same host, pid gone), and concurrent sessions all finish.
#[test]
fn a_killed_write_lock_holder_never_deadlocks() {
    let rounds = env_num("CTASK_STRESS_WRITELOCK_ROUNDS", 3);
    let env = Env::new();
    let ws = env.new_ws("Writelock");
    let lock = ctask_dir(&ws).join("write.lock");
    let mut slowest = Duration::ZERO;
    for round in 0..rounds {
        // A holder that dies holding the lock: a real process killed with -9.
        let exe = std::env::current_exe().expect("test binary");
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["--exact", "write_lock_holder", "--nocapture"])
            .env("CTASK_STRESS_HOLD", &lock);
        let mut holder = Bg::spawn(cmd);
        assert!(
            wait_for(|| lock.exists(), PATIENCE),
            "the holder never took the lock"
        );
        holder.kill9();
        assert!(lock.exists(), "the killed holder's lock is still there");
        let t = Instant::now();
        let runs: Vec<_> = (0..6)
            .map(|i| {
                let flags: &[&str] = if i % 2 == 0 { &["--force"] } else { &[] };
                Bg::spawn(env.cmd(&sh_args(&ws, flags, "true", &[])))
            })
            .collect();
        for mut r in runs {
            let out = r
                .wait_within(Duration::from_secs(30))
                .unwrap_or_else(|| panic!("round {round}: a session hung on write.lock"));
            no_panic(&out.stderr);
            assert!(
                matches!(out.code(), Some(0) | Some(3)),
                "round {round}: {out:#?}"
            );
        }
        slowest = slowest.max(t.elapsed());
        // A lock of a pid that no longer exists, left by the reference tool's protocol.
        let body = format!(
            r#"{{"pid":{},"hostname":"{}","acquired_at":"{}"}}"#,
            dead_pid(),
            hostname(),
            chrono::Utc::now().to_rfc3339()
        );
        fs::write(&lock, body).expect("write");
        let t = Instant::now();
        env.run(&sh_args(&ws, &[], "true", &[])).ok();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(!lock.exists());
    }
    check_log_pairs(&ws, true);
    assert_eq!(temp_files(&ws), Vec::<String>::new());
    figure("writelock.killed_holders", rounds);
    figure("writelock.slowest_round_ms", slowest.as_millis());
}

/// Holds `write.lock` until killed. Does nothing unless started by the test above.
#[test]
fn write_lock_holder() {
    let Some(p) = std::env::var_os("CTASK_STRESS_HOLD") else {
        return;
    };
    let _l = ctask_core::session::writelock::WriteLock::acquire(Path::new(&p)).expect("lock");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn hostname() -> String {
    ctask_core::session::host::hostname()
}

/// SIGTERM, SIGHUP or SIGINT to `ctask` at a random moment of a session: it always exits
/// promptly (no heartbeat keeps it alive), and the session is either recorded (summary and
/// `end` line) or, when the signal killed it during begin, recovered by the next begin.
#[test]
fn signals_at_random_moments_never_lose_a_session() {
    let runs = env_num("CTASK_SIGNAL_RUNS", 9);
    let env = Env::new();
    let ws = env.new_ws("Signals");
    let mut rng = Rng::seeded(77);
    let (mut recorded, mut recovered, mut absent, mut outlived) = (0u64, 0u64, 0u64, 0u64);
    let mut slowest = Duration::ZERO;
    let mut last_summary: Option<String> = None;
    for n in 0..runs {
        let sig = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT][(n % 3) as usize];
        let script = format!("echo {n} > sig-{n}.txt; sleep 0.3");
        let mut cmd = env.cmd(&sh_args(&ws, &[], &script, &[]));
        cmd.env("CTASK_HEARTBEAT_SECONDS", "1");
        let mut bg = Bg::spawn(cmd);
        std::thread::sleep(Duration::from_millis(rng.below(500)));
        let t = Instant::now();
        bg.signal(sig);
        let out = bg
            .wait_within(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("ctask still runs 20 s after signal {sig}"));
        slowest = slowest.max(t.elapsed());
        // Whatever is left of the session's process group (the agent, its children) has
        // a moment to finish; anything still there then outlived its session.
        if !wait_for(|| bg.group_members().is_empty(), Duration::from_secs(5)) {
            outlived += bg.group_members().len() as u64;
        }
        bg.kill_group();
        no_panic(&out.stderr);
        let lease = ctask_dir(&ws).join("session.json");
        if let Some(got) = out.signal() {
            // Killed by the signal's default action before its handlers were installed
            // (SIGINT during begin), and by nothing else: the next begin must recover or
            // drop it.
            assert_eq!(
                got, sig,
                "run {n}: killed by {got}, not the {sig} sent: {out:#?}"
            );
            if lease.exists() {
                recovered += 1;
            } else {
                absent += 1;
            }
        } else {
            assert!(
                !lease.exists(),
                "signal {sig}: exited but left its lease: {out:#?}"
            );
            // Recorded: a new summary, and the log's last line is its session's `end`.
            let s = summary(&ws);
            let id = s["session_id"]
                .as_str()
                .expect("summary session_id")
                .to_owned();
            assert_ne!(
                last_summary.as_deref(),
                Some(id.as_str()),
                "signal {sig}: exited {:?} without writing a summary: {out:#?}",
                out.code()
            );
            let lines = log_lines(&ws);
            let last = lines.last().expect("a log line");
            assert!(
                last.event == "end" && last.get("id") == Some(id.as_str()),
                "signal {sig}: the summary's session {id} has no end line last: {last:?}"
            );
            recorded += 1;
        }
        env.run(&sh_args(&ws, &[], "true", &[])).ok();
        check_log_pairs(&ws, true);
        last_summary = Some(
            summary(&ws)["session_id"]
                .as_str()
                .expect("summary session_id")
                .to_owned(),
        );
    }
    figure("signals.seed", base_seed());
    figure("signals.runs", runs);
    figure("signals.summary_written", recorded);
    figure("signals.killed_in_begin_recovered", recovered);
    figure("signals.killed_before_lease", absent);
    figure("signals.slowest_exit_ms", slowest.as_millis());
    figure("signals.processes_outliving_their_session", outlived);
    assert_eq!(outlived, 0, "processes outlived their session");
}
