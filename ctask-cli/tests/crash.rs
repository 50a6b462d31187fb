//! Crash injection (build with `--features crash-points`): for every named point of begin,
//! end and recovery, `kill -9` the owner there — by itself (`abort`) or by the test while it
//! waits at the point (`pause`) — and check what the next begin finds: it succeeds at once,
//! the dead session is recorded (`start` + `end`, summary) or cleanly absent, every session
//! id has one `start` and one `end`, and nothing outside `.ctask/` and the log changed.
//!
//! Runs per point: `CTASK_CRASH_RUNS` (default 2; `make stress` uses 20). Every crash point
//! in the sources must be in one of the lists below (`every_crash_point_is_tested`).
//!
//! Fault points (`CTASK_FAIL_AT`) make what cannot be made to fail from outside fail on
//! purpose — the heartbeat thread's start, the `fsync` of the `start` line — and check that
//! no `start` line is ever left without its `end`.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The agent of a crashed session: adds `agent-<n>.txt` (when it gets to run).
const AGENT: &str = r#"echo "$1" > "agent-$1.txt""#;
/// The agent of the recovering session: saves the summary it finds, changes nothing.
const PEEK: &str = r#"cp .ctask/last-session-summary.json "$1" 2>/dev/null; true"#;

/// Points reached by a plain session on a workspace without a dead lease.
const SESSION_POINTS: &[&str] = &[
    "begin.locked",
    "begin.recovered",
    "manifest.walked",
    "begin.captured",
    "snapshot.begin_stored",
    "begin.write_locked",
    "begin.lease_written",
    "begin.start_manifest_written",
    "begin.start_line",
    "end.before_capture",
    "end.captured",
    "store.object_packed",
    "store.pack_written",
    "snapshot.objects_synced",
    "snapshot.history_written",
    "finalize.write_locked",
    "finalize.index_written",
    "finalize.summary_written",
    "finalize.end_line",
    "finalize.before_lease_removal",
    "finalize.lease_removed",
    "end.before_unlock",
];

/// Points reached while a begin recovers a dead lease: (how the first owner dies, where the
/// recovering begin dies).
const RECOVERY_POINTS: &[(&str, &str)] = &[
    ("end.before_capture", "recovery.judged"),
    ("end.before_capture", "recovery.captured"),
    ("end.before_capture", "finalize.index_written"),
    ("end.before_capture", "finalize.summary_written"),
    ("end.before_capture", "finalize.end_line"),
    ("end.before_capture", "finalize.before_lease_removal"),
    ("end.before_capture", "recovery.closed"),
    (
        "begin.start_manifest_written",
        "recovery.incomplete_removed",
    ),
    ("finalize.summary_written", "recovery.finalized_end_line"),
];

/// Points reached only when a content too large for a pack is stored (tested by
/// `kill_9_while_a_large_content_is_stored`).
const LOOSE_POINTS: &[&str] = &["store.object_renamed"];

/// Points inside `ctask undo` (tested by `kill_9_inside_undo`).
const UNDO_POINTS: &[&str] = &[
    "undo.begun",
    "undo.staged_listed",
    "undo.before_file",
    "undo.temp_written",
    "undo.after_file",
];

/// The longest a next begin may take: a begin that waited out any of ctask's timeouts
/// (the 2 s `write.lock` wait, the 10 s staleness) takes at least this long.
const AT_ONCE: Duration = Duration::from_secs(2);

#[derive(Default, Debug)]
struct Tally {
    /// Points (or pairs of points) run.
    points: u64,
    crashes: u64,
    paused_kills: u64,
    recovered_owner_died: u64,
    finalized: u64,
    incomplete: u64,
    absent: u64,
    completed: u64,
    /// Session ids without exactly one `start` and one `end` after the next begin, and
    /// dead sessions that started but were not closed.
    records_lost: u64,
    max_next_begin: Duration,
}

/// Runs a session on `ws` that is killed at `point` — by itself (abort) or, when `pause`,
/// by the test while it waits there; returns once it is dead.
fn crash_at(env: &Env, ws: &Path, point: &str, n: u64, pause: bool, tally: &mut Tally) {
    let (script, extra) = (AGENT, n.to_string());
    let marker = env.scratch(&format!("marker-{n}"));
    let _ = fs::remove_file(&marker);
    let mut cmd = env.cmd(&sh_args(ws, &[], script, &[&extra]));
    cmd.env("CTASK_CRASH_AT", point)
        .env("CTASK_CRASH_MODE", if pause { "pause" } else { "abort" })
        .env("CTASK_CRASH_MARKER", &marker);
    let mut bg = Bg::spawn(cmd);
    let out = if pause {
        let reached = wait_for(|| marker.exists() || bg.try_status().is_some(), PATIENCE);
        assert!(
            reached && marker.exists(),
            "{point}: never paused there: {:?}",
            bg.try_status()
        );
        tally.paused_kills += 1;
        bg.kill9()
    } else {
        bg.wait()
    };
    bg.kill_group();
    assert_eq!(
        out.signal(),
        Some(libc::SIGKILL),
        "{point} (run {n}) was not reached: {out:#?}"
    );
    tally.crashes += 1;
}

fn read_json(p: &Path) -> Option<Value> {
    let bytes = fs::read(p).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// What the dead session left: its lease's id, whether it had logged its `start`, and
/// (no lease left) whether it had logged both its `start` and its `end`.
struct Dead {
    id: Option<String>,
    started: bool,
    completed: bool,
}

/// The ids with a `start` line in the log.
fn started_ids(ws: &Path) -> std::collections::BTreeSet<String> {
    log_lines(ws)
        .iter()
        .filter(|l| l.event == "start")
        .filter_map(|l| l.get("id").map(str::to_owned))
        .collect()
}

/// What a crashed session left; `before`: [`started_ids`] before it ran.
fn dead_state(ws: &Path, before: &std::collections::BTreeSet<String>) -> Dead {
    let id = read_json(&ctask_dir(ws).join("session.json"))
        .map(|l| l["session_id"].as_str().expect("session_id").to_owned());
    let lines = log_lines(ws);
    let started = id.as_ref().is_some_and(|id| {
        lines
            .iter()
            .any(|l| l.event == "start" && l.get("id") == Some(id))
    });
    let new: Vec<String> = started_ids(ws).difference(before).cloned().collect();
    let completed = id.is_none()
        && !new.is_empty()
        && new.iter().all(|n| {
            lines
                .iter()
                .any(|l| l.event == "end" && l.get("id") == Some(n))
        });
    Dead {
        id,
        started,
        completed,
    }
}

/// Counts (and describes) the session ids without exactly one `start` and one `end`.
fn lost_records(ws: &Path, label: &str) -> u64 {
    let mut lost = 0;
    for (id, (s, e)) in start_end_counts(&log_lines(ws)) {
        if (s, e) != (1, 1) {
            eprintln!("{label}: session {id} has {s} start and {e} end lines");
            lost += 1;
        }
    }
    lost
}

/// The next begin after a crash: must succeed at once, change nothing outside, and leave
/// the dead session recorded or cleanly absent.
fn next_begin(env: &Env, ws: &Path, label: &str, dead: &Dead, tally: &mut Tally) {
    let before = tree_snapshot(ws);
    let peek = env.scratch("peek.json");
    let _ = fs::remove_file(&peek);
    let t = Instant::now();
    let out = env.run(&sh_args(ws, &[], PEEK, &[path_str(&peek)]));
    let took = t.elapsed();
    out.ok();
    tally.max_next_begin = tally.max_next_begin.max(took);
    assert!(took < AT_ONCE, "{label}: the next begin took {took:?}");
    assert_eq!(
        tree_snapshot(ws),
        before,
        "{label}: something outside .ctask changed"
    );
    for gone in ["session.json", "manifest-start.bin", "write.lock"] {
        assert!(
            !ctask_dir(ws).join(gone).exists(),
            "{label}: {gone} left after a clean session"
        );
    }
    assert!(temp_files(ws).is_empty(), "{label}: {:?}", temp_files(ws));
    tally.records_lost += lost_records(ws, label);
    let lines = log_lines(ws);
    let last = read_json(&ctask_dir(ws).join("last-session-summary.json")).expect("summary");
    // The recovering session saw no outside change: the dead one's were attributed to it.
    if let Some(oc) = last.get("outside_changes") {
        for k in ["added", "modified", "deleted", "renamed"] {
            assert_eq!(oc[k], serde_json::json!([]), "{label}: outside {k}: {last}");
        }
    }
    match &dead.id {
        None if dead.completed => tally.completed += 1,
        None => tally.absent += 1,
        Some(id) => {
            let removed: Vec<&str> = lines
                .iter()
                .filter(|l| l.event == "lease-removed" && l.get("id") == Some(id))
                .filter_map(|l| l.get("reason"))
                .collect();
            let end = lines
                .iter()
                .find(|l| l.event == "end" && l.get("id") == Some(id));
            if dead.started {
                let Some(end) = end else {
                    eprintln!("{label}: the dead session {id} was never closed");
                    tally.records_lost += 1;
                    return;
                };
                if end.get("reason") == Some("owner_died") {
                    tally.recovered_owner_died += 1;
                    let seen = read_json(&peek).expect("the summary seen by the next session");
                    assert_eq!(seen["session_id"], id.as_str(), "{label}");
                    assert_eq!(seen["end_reason"], "owner_died", "{label}");
                    assert!(seen["end_manifest"].is_array(), "{label}");
                } else {
                    assert_eq!(removed, ["finalized"], "{label}: {id}");
                    tally.finalized += 1;
                }
            } else {
                assert!(end.is_none(), "{label}: end without start for {id}");
                assert_eq!(removed, ["incomplete"], "{label}: {id}");
                tally.incomplete += 1;
            }
        }
    }
}

fn runs() -> u64 {
    env_num("CTASK_CRASH_RUNS", 2)
}

fn setup(env: &Env, title: &str) -> std::path::PathBuf {
    let ws = env.new_ws(title);
    fs::create_dir_all(ws.join("src/deep")).expect("mkdir");
    fs::write(ws.join("src/main.txt"), "hello\n").expect("write");
    fs::write(ws.join("src/deep/data.bin"), vec![7u8; 10_000]).expect("write");
    env.run(&sh_args(&ws, &[], "true", &[])).ok();
    ws
}

#[test]
fn kill_9_at_every_point_of_a_session() {
    let env = Env::new();
    let mut tally = Tally::default();
    let mut n = 0;
    for point in SESSION_POINTS {
        tally.points += 1;
        let ws = setup(&env, point);
        for run in 0..runs() {
            n += 1;
            let before = tree_snapshot(&ws);
            let started = started_ids(&ws);
            crash_at(&env, &ws, point, n, run % 2 == 1, &mut tally);
            let mut after = tree_snapshot(&ws);
            after.remove(Path::new(&format!("agent-{n}.txt")));
            assert_eq!(
                after, before,
                "{point}: the crash changed something outside"
            );
            let dead = dead_state(&ws, &started);
            next_begin(&env, &ws, point, &dead, &mut tally);
        }
    }
    report("session", &tally);
    assert_eq!(tally.records_lost, 0, "records lost (see stderr)");
}

#[test]
fn kill_9_at_every_point_of_a_recovery() {
    let env = Env::new();
    let mut tally = Tally::default();
    let mut n = 1000;
    for (first, point) in RECOVERY_POINTS {
        tally.points += 1;
        let ws = setup(&env, point);
        for run in 0..runs() {
            // Each of the two processes is killed in abort and in pause mode, in turn.
            n += 1;
            let started = started_ids(&ws);
            crash_at(&env, &ws, first, n, run % 2 == 0, &mut tally);
            let first_dead = dead_state(&ws, &started);
            assert!(first_dead.id.is_some(), "{first}: no lease left to recover");
            let before = tree_snapshot(&ws);
            let started = started_ids(&ws);
            n += 1;
            crash_at(&env, &ws, point, n, run % 2 == 1, &mut tally);
            assert_eq!(
                tree_snapshot(&ws),
                before,
                "{point}: the crashed recovery changed something outside"
            );
            // What the crashed recovery left is what the next begin must finish.
            let dead = dead_state(&ws, &started);
            let label = format!("{first} then {point}");
            next_begin(&env, &ws, &label, &dead, &mut tally);
            // The first dead session is recorded exactly once, or cleanly absent.
            let lines = log_lines(&ws);
            let id = first_dead.id.as_deref().unwrap_or_default();
            let ends = lines
                .iter()
                .filter(|l| l.event == "end" && l.get("id") == Some(id))
                .count();
            if ends != usize::from(first_dead.started) {
                eprintln!("{label}: the first dead session {id} has {ends} end lines");
                tally.records_lost += 1;
            }
        }
    }
    report("recovery", &tally);
    assert_eq!(tally.records_lost, 0, "records lost (see stderr)");
}

/// Every `crashpoint::hit("…")` in the sources is in [`SESSION_POINTS`] or
/// [`RECOVERY_POINTS`], so that a new point cannot go untested.
#[test]
fn every_crash_point_is_tested() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let mut found = std::collections::BTreeSet::new();
    let mut files = 0;
    let mut dirs = vec![workspace.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in fs::read_dir(&dir).expect("read_dir").flatten() {
            let p = e.path();
            let name = e.file_name();
            let ty = e.file_type().expect("file type");
            if ty.is_dir() {
                // Build output, the test suites (this list names points, it calls none),
                // version control and virtual environments hold no crash point.
                let skip = [".git", "target", "tests", ".venv", "node_modules"];
                if !skip.iter().any(|s| name == *s) {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                files += 1;
                let text = fs::read_to_string(&p).expect("read source");
                let mut rest = text.as_str();
                while let Some(i) = rest.find("crashpoint::hit(\"") {
                    rest = &rest[i + "crashpoint::hit(\"".len()..];
                    let end = rest.find('"').expect("closing quote");
                    found.insert((
                        rest[..end].to_owned(),
                        p.strip_prefix(workspace).unwrap_or(&p).to_path_buf(),
                    ));
                    rest = &rest[end..];
                }
            }
        }
    }
    assert!(files > 10, "only {files} source files found");
    let tested: std::collections::BTreeSet<&str> = SESSION_POINTS
        .iter()
        .copied()
        .chain(RECOVERY_POINTS.iter().flat_map(|(a, b)| [*a, *b]))
        .chain(UNDO_POINTS.iter().copied())
        .chain(LOOSE_POINTS.iter().copied())
        .collect();
    let untested: Vec<String> = found
        .iter()
        .filter(|(point, _)| !tested.contains(point.as_str()))
        .map(|(point, file)| format!("{point} ({})", file.display()))
        .collect();
    assert!(
        untested.is_empty(),
        "crash points no test kills: {untested:?}"
    );
    let in_source: std::collections::BTreeSet<&str> =
        found.iter().map(|(p, _)| p.as_str()).collect();
    let stale: Vec<&&str> = tested.iter().filter(|p| !in_source.contains(**p)).collect();
    assert!(
        stale.is_empty(),
        "listed points not in the sources: {stale:?}"
    );
    figure("crash.points_in_source", in_source.len());
}

/// A session with no crash point armed runs normally (the feature alone changes nothing).
#[test]
fn unarmed_points_change_nothing() {
    let env = Env::new();
    let ws = setup(&env, "Unarmed");
    let out = env.run(&sh_args(&ws, &[], AGENT, &["1"]));
    out.ok();
    check_log_pairs(&ws, true);
    assert_eq!(log_lines(&ws).len(), 4);
    let s = read_json(&ctask_dir(&ws).join("last-session-summary.json")).expect("summary");
    assert_eq!(s["files_added"], serde_json::json!(["agent-1.txt"]));
}

/// Fault points of begin: after each failure, every `start` has its `end`, no lease or
/// start manifest is left, the agent never ran, and the next session is normal.
const FAULT_POINTS: &[&str] = &["begin.heartbeat", "log.sync.start"];

#[test]
fn a_begin_that_fails_around_its_start_line_leaves_no_orphan_start() {
    let env = Env::new();
    for point in FAULT_POINTS {
        let ws = setup(&env, point);
        let mut cmd = env.cmd(&sh_args(&ws, &[], AGENT, &["1"]));
        cmd.env("CTASK_FAIL_AT", point);
        let out = env.run_cmd(cmd);
        assert_ne!(out.code(), Some(0), "{point}: {out:#?}");
        no_panic(&out.stderr);
        assert!(!ws.join("agent-1.txt").exists(), "{point}: the agent ran");
        check_log_pairs(&ws, true);
        for gone in ["session.json", "manifest-start.bin", "write.lock"] {
            assert!(
                !ctask_dir(&ws).join(gone).exists(),
                "{point}: {gone} left behind"
            );
        }
        env.run(&sh_args(&ws, &[], AGENT, &["2"])).ok();
        check_log_pairs(&ws, true);
        let s = read_json(&ctask_dir(&ws).join("last-session-summary.json")).expect("summary");
        assert_eq!(
            s["files_added"],
            serde_json::json!(["agent-2.txt"]),
            "{point}"
        );
    }
}

/// A lease the reference tool (which takes no `session.lock`) writes for a live session on
/// another host.
fn reference_lease() -> String {
    let now = chrono::Utc::now().to_rfc3339();
    serde_json::json!({
        "session_id": "elsewhere-7-20260101T000000Z",
        "pid": 7,
        "hostname": "elsewhere",
        "agent": "claude",
        "mode": "local",
        "workspace_mode": "local",
        "started_at": now,
        "heartbeat_at": now,
    })
    .to_string()
}

/// A dead lease of this ctask (same host, a pid that is gone), with or without its
/// `start` line in the log.
fn dead_lease(ws: &Path, started: bool) -> String {
    let host = ctask_core::session::host::hostname();
    let id = format!("{host}-{}-20260101T000000Z-dead", dead_pid());
    let l = serde_json::json!({
        "session_id": id,
        "pid": dead_pid(),
        "hostname": host,
        "agent": "sh",
        "mode": "direct",
        "workspace_mode": "local",
        "started_at": "2026-01-01T00:00:00Z",
        "heartbeat_at": "2026-01-01T00:00:30Z",
        "lock": "session.lock",
    });
    if started {
        let line = format!(
            "2026-01-01T00:00:00Z start id={id} agent=sh mode=direct pid=1 host={host} user=u\n"
        );
        let log = ws.join("logs/sessions.log");
        let mut text = fs::read_to_string(&log).unwrap_or_default();
        text.push_str(&line);
        fs::write(&log, text).expect("log");
    }
    l.to_string()
}

/// Writes the lease a case starts from (given the workspace); returns its body.
type LeaseBefore = fn(&Path) -> String;

/// While begin acts on the lease it judged, the reference tool writes a lease of its own
/// (at `point`): begin must leave that lease exactly as written, write no `start`, and not
/// run the agent.
#[test]
fn a_lease_written_while_begin_acts_is_never_removed_or_overwritten() {
    let env = Env::new();
    let cases: [(&str, Option<LeaseBefore>); 4] = [
        ("begin.captured", None),
        ("recovery.judged", Some(|ws| dead_lease(ws, false))),
        ("recovery.captured", Some(|ws| dead_lease(ws, true))),
        ("recovery.judged", Some(|_| "{ torn".to_owned())),
    ];
    for (i, (point, before)) in cases.into_iter().enumerate() {
        let ws = setup(&env, &format!("race {i}"));
        let lease = ctask_dir(&ws).join("session.json");
        if let Some(f) = before {
            let body = f(&ws);
            fs::write(&lease, body).expect("lease");
        }
        let theirs = env.scratch(&format!("theirs-{i}.json"));
        fs::write(&theirs, reference_lease()).expect("reference lease");
        let starts = log_lines(&ws).iter().filter(|l| l.event == "start").count();
        let mut cmd = env.cmd(&sh_args(&ws, &[], AGENT, &["x"]));
        cmd.env("CTASK_RUN_AT", point).env(
            "CTASK_RUN_CMD",
            format!("cp '{}' '{}'", path_str(&theirs), path_str(&lease)),
        );
        let out = env.run_cmd(cmd);
        let label = format!("case {i} at {point}");
        assert_ne!(out.code(), Some(0), "{label}: {out:#?}");
        no_panic(&out.stderr);
        assert_eq!(
            fs::read_to_string(&lease).expect("lease kept"),
            reference_lease_of(&theirs),
            "{label}: the reference tool's lease was changed"
        );
        assert_eq!(
            log_lines(&ws).iter().filter(|l| l.event == "start").count(),
            starts,
            "{label}: a start line was written"
        );
        assert!(!ws.join("agent-x.txt").exists(), "{label}: the agent ran");
    }
}

fn reference_lease_of(p: &Path) -> String {
    fs::read_to_string(p).expect("reference lease")
}

fn report(kind: &str, t: &Tally) {
    figure(&format!("crash.{kind}.points"), t.points);
    figure(&format!("crash.{kind}.runs_per_point"), runs());
    figure(&format!("crash.{kind}.kills"), t.crashes);
    figure(&format!("crash.{kind}.kills_while_paused"), t.paused_kills);
    figure(
        &format!("crash.{kind}.closed_as_owner_died"),
        t.recovered_owner_died,
    );
    figure(&format!("crash.{kind}.closed_from_summary"), t.finalized);
    figure(&format!("crash.{kind}.removed_incomplete"), t.incomplete);
    figure(
        &format!("crash.{kind}.nothing_to_recover"),
        t.absent + t.completed,
    );
    figure(&format!("crash.{kind}.completed_before_kill"), t.completed);
    figure(&format!("crash.{kind}.no_record_left"), t.absent);
    figure(&format!("crash.{kind}.records_lost"), t.records_lost);
    figure(
        &format!("crash.{kind}.slowest_next_begin_ms"),
        t.max_next_begin.as_millis(),
    );
}

/// `kill -9` inside `ctask undo` at each of its points: every file is either as the undone
/// session left it or as it was before, byte for byte (never torn), and the next begin
/// recovers the undo session (its `end` line says `owner_died`, its record is of kind
/// `undo`).
#[test]
fn kill_9_inside_undo() {
    const BEFORE: &str = "for i in 1 2 3 4 5; do printf 'old %s\\n' $i > f$i.txt; done";
    const AFTER: &str =
        "for i in 1 2 3 4 5; do printf 'new %s %0500d\\n' $i 0 > f$i.txt; done; rm f5.txt";
    for point in UNDO_POINTS {
        for n in 0..runs() {
            let env = Env::new();
            let ws = env.new_ws("Undo crash");
            env.run(&sh_args(&ws, &[], BEFORE, &[])).ok();
            let old: Vec<Option<Vec<u8>>> = (1..=5)
                .map(|i| fs::read(ws.join(format!("f{i}.txt"))).ok())
                .collect();
            env.run(&sh_args(&ws, &[], AFTER, &[])).ok();
            let new: Vec<Option<Vec<u8>>> = (1..=5)
                .map(|i| fs::read(ws.join(format!("f{i}.txt"))).ok())
                .collect();
            let mut cmd = env.cmd(&["undo", path_str(&ws)]);
            cmd.env("CTASK_CRASH_AT", point);
            let mut bg = Bg::spawn(cmd);
            let out = bg.wait();
            assert_eq!(out.signal(), Some(libc::SIGKILL), "{point} ({n}): {out:#?}");
            for i in 0..5 {
                let now = fs::read(ws.join(format!("f{}.txt", i + 1))).ok();
                assert!(
                    now == old[i] || now == new[i],
                    "{point}: f{}.txt is torn: {now:?}",
                    i + 1
                );
            }
            let undo_id = lease_id(&ws).expect("the undo's lease is left behind");
            env.run(&sh_args(&ws, &[], "true", &[])).ok();
            let lines = log_lines(&ws);
            let end = lines
                .iter()
                .find(|l| l.event == "end" && l.get("id") == Some(undo_id.as_str()))
                .unwrap_or_else(|| panic!("{point}: the undo session was not closed"));
            assert_eq!(end.get("reason"), Some("owner_died"), "{point}");
            assert_eq!(end.get("agent"), Some("undo"), "{point}");
            let rec = read_json(&ctask_dir(&ws).join(format!("history/{undo_id}.json")))
                .unwrap_or_else(|| panic!("{point}: no history record of the undo"));
            assert_eq!(rec["kind"], "undo", "{point}");
            // The temp files the undo staged are gone, and not recorded as its changes.
            let temps: Vec<String> = fs::read_dir(&ws)
                .expect("read_dir")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".ctask-undo-"))
                .collect();
            assert!(temps.is_empty(), "{point}: temp files left: {temps:?}");
            let text = rec.to_string();
            assert!(!text.contains(".ctask-undo-"), "{point}: recorded: {text}");
            assert!(
                !ctask_dir(&ws).join("undo-staged.json").exists(),
                "{point}: the list of temp files is left"
            );
            check_log_pairs(&ws, true);
        }
    }
}

/// `kill -9` right after a content above the pack size (a loose object) is stored at end:
/// the next begin recovers the session, which records the file, and its content can be
/// shown from the store.
#[test]
fn kill_9_while_a_large_content_is_stored() {
    for point in LOOSE_POINTS {
        for n in 0..runs() {
            let env = Env::new();
            let ws = setup(&env, "Loose crash");
            let script = "{ echo big; head -c 400000 /dev/zero; } > big.bin";
            let mut cmd = env.cmd(&sh_args(&ws, &[], script, &[]));
            cmd.env("CTASK_CRASH_AT", point);
            let out = Bg::spawn(cmd).wait();
            assert_eq!(out.signal(), Some(libc::SIGKILL), "{point} ({n}): {out:#?}");
            let id = lease_id(&ws).expect("the dead session's lease is left behind");
            env.run(&sh_args(&ws, &[], "true", &[])).ok();
            let lines = log_lines(&ws);
            let end = lines
                .iter()
                .find(|l| l.event == "end" && l.get("id") == Some(id.as_str()))
                .unwrap_or_else(|| panic!("{point}: the dead session was not closed"));
            assert_eq!(end.get("reason"), Some("owner_died"), "{point}");
            assert_eq!(end.get("added"), Some("1"), "{point}");
            let shown = env.run(&["show", path_str(&ws), "big.bin", "--session", &id]);
            shown.ok();
            assert_eq!(shown.stdout.len(), 400_004, "{point}: stored content");
            check_log_pairs(&ws, true);
        }
    }
}

fn lease_id(ws: &Path) -> Option<String> {
    let v = read_json(&ctask_dir(ws).join("session.json"))?;
    v["session_id"].as_str().map(str::to_owned)
}

/// Fault points of undo. The list of its temp files cannot be written: the undo fails
/// naming it, and nothing of the tree changes (no temp file, no list left). An emptied
/// directory cannot be removed: a warning names it, every file is given back.
#[test]
fn undo_faults_name_what_failed_and_leave_the_tree_whole() {
    let env = Env::new();
    let ws = env.new_ws("Undo faults");
    env.run(&sh_args(&ws, &[], "echo old > f.txt", &[])).ok();
    env.run(&sh_args(
        &ws,
        &[],
        "echo new > f.txt; mkdir -p d/e && echo x > d/e/x.txt",
        &[],
    ))
    .ok();
    let before = tree_snapshot(&ws);
    let mut cmd = env.cmd(&["undo", path_str(&ws)]);
    cmd.env("CTASK_FAIL_AT", "undo.list_staged");
    let out = env.run_cmd(cmd);
    out.code_is(1);
    no_panic(&out.stderr);
    assert!(
        out.stderr.contains("cannot list the temp files to stage"),
        "{}",
        out.stderr
    );
    assert_eq!(tree_snapshot(&ws), before, "the tree changed");
    assert!(!ctask_dir(&ws).join("undo-staged.json").exists());
    check_log_pairs(&ws, true);

    // The undo session that failed is the newest record: name the session to undo.
    let target = log_lines(&ws)
        .iter()
        .filter(|l| l.event == "end" && l.get("agent") == Some("sh"))
        .filter_map(|l| l.get("id").map(str::to_owned))
        .next_back()
        .expect("the session's end line");
    let mut cmd = env.cmd(&["undo", path_str(&ws), "--session", &target]);
    cmd.env("CTASK_FAIL_AT", "undo.remove_dir");
    let out = env.run_cmd(cmd);
    out.ok();
    assert!(
        out.stderr
            .contains("the emptied directory \"d/e\" was left"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(ws.join("f.txt")).expect("f"), "old\n");
    assert!(!ws.join("d/e/x.txt").exists());
    assert!(ws.join("d/e").is_dir());
}
