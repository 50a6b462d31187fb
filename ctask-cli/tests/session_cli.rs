//! The session lifecycle through the built `ctask` binary (issue 5 acceptance): real
//! processes, real signals, and the files they leave in `.ctask/` and `logs/sessions.log`.
//!
//! Every background `ctask` runs in its own process group, which is killed when its guard
//! drops, so a failing test never leaves an agent behind.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{
    Bg, Out, PATIENCE, Sandbox, ctask_cmd, ctask_dir, dead_pid, path_str, sh_args, summary,
    wait_until,
};
use serde_json::Value;

/// An agent script (run as `sh -c SCRIPT sh READY GATE`) that writes `$1` once it runs, then
/// waits for `$2` to exist (at most about a minute) and exits 0.
const GATED: &str = r#"echo up > "$1"; i=0; while [ ! -e "$2" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done"#;

/// A private root, home, config home and scratch directory; the real user's are never touched.
type Env = Sandbox;

impl Env {
    fn new() -> Env {
        Sandbox::with_dirs(&["scratch"])
    }

    fn std_cmd(&self, args: &[&str]) -> StdCommand {
        let mut cmd = ctask_cmd(self);
        cmd.args(args);
        cmd
    }

    /// Runs `ctask ARGS` to completion (stdin is not a terminal).
    fn run(&self, args: &[&str]) -> Out {
        let mut cmd = Command::from_std(self.std_cmd(args));
        cmd.timeout(PATIENCE);
        Out::from(cmd.output().expect("run ctask"))
    }

    /// Starts `ctask ARGS` in the background, in its own process group.
    fn spawn(&self, args: &[&str], tag: &str) -> Bg {
        self.spawn_with(self.std_cmd(args), tag)
    }

    /// Starts `cmd` in the background, its output in `TAG.out` and `TAG.err` of scratch.
    fn spawn_with(&self, cmd: StdCommand, tag: &str) -> Bg {
        let out = self.scratch(&format!("{tag}.out"));
        let err = self.scratch(&format!("{tag}.err"));
        Bg::spawn_to(cmd, out, err)
    }

    /// Creates a workspace without launching anything; returns its path.
    fn new_ws(&self, title: &str) -> PathBuf {
        let out = self.run(&["new", title, "--no-launch"]);
        out.ok();
        PathBuf::from(out.stdout.trim_end())
    }

    /// `resume WS -a sh -- -c SCRIPT sh EXTRA…`
    fn resume_sh(&self, ws: &Path, script: &str, extra: &[&str]) -> Out {
        self.run(&sh_args(ws, &[], script, extra))
    }

    /// A background `resume` whose agent runs [`GATED`]; returns once the agent runs.
    fn gated(&self, ws: &Path, flags: &[&str], tag: &str) -> Gated {
        self.gated_with_env(ws, flags, tag, &[])
    }

    /// [`Env::gated`] with `vars` set for `ctask`.
    fn gated_with_env(&self, ws: &Path, flags: &[&str], tag: &str, vars: &[(&str, &str)]) -> Gated {
        let ready = self.scratch(&format!("{tag}.ready"));
        let gate = self.scratch(&format!("{tag}.gate"));
        let args = sh_args(ws, flags, GATED, &[path_str(&ready), path_str(&gate)]);
        let mut cmd = self.std_cmd(&args);
        cmd.envs(vars.iter().copied());
        let bg = self.spawn_with(cmd, tag);
        let g = Gated { bg, ready, gate };
        g.wait_ready();
        g
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        out.ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`ctask {args:?}` printed invalid JSON ({e}): {out:?}"))
    }
}

/// A background session whose agent waits for a gate file.
struct Gated {
    bg: Bg,
    ready: PathBuf,
    gate: PathBuf,
}

impl Gated {
    fn wait_ready(&self) {
        let ready = self.ready.clone();
        wait_for(
            || ready.exists(),
            &format!("the agent to start; stderr: {}", self.bg.stderr()),
        );
    }

    /// Lets the agent exit and waits for `ctask` to finish.
    fn finish(mut self) -> Out {
        fs::write(&self.gate, "").expect("open the gate");
        self.bg.wait()
    }
}

/// Polls `cond` every 20 ms until it holds (within [`PATIENCE`]).
fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    wait_until(what, Duration::from_millis(20), || cond().then_some(()));
}

fn lease(ws: &Path) -> Value {
    let text = fs::read_to_string(ctask_dir(ws).join("session.json")).expect("session.json");
    serde_json::from_str(&text).expect("lease JSON")
}

fn log_text(ws: &Path) -> String {
    fs::read_to_string(ws.join("logs/sessions.log")).expect("sessions.log")
}

/// `(event, fields)` of every log line, fields as `key=value` strings.
fn log_lines(ws: &Path) -> Vec<(String, Vec<String>)> {
    log_text(ws)
        .lines()
        .map(|l| {
            let mut parts = l.split(' ');
            let _ts = parts.next();
            let event = parts.next().expect("event").to_owned();
            (event, parts.map(str::to_owned).collect())
        })
        .collect()
}

fn field<'a>(fields: &'a [String], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
}

/// The log lines of `event` for session `id`.
fn events_for(ws: &Path, event: &str, id: &str) -> Vec<Vec<String>> {
    log_lines(ws)
        .into_iter()
        .filter(|(e, f)| e == event && field(f, "id") == Some(id))
        .map(|(_, f)| f)
        .collect()
}

/// The names in `.ctask/` with their contents (session.lock is empty; others are JSON).
fn ctask_snapshot(ws: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(ctask_dir(ws))
        .expect("read .ctask")
        .map(|e| {
            let e = e.expect("entry");
            let name = e.file_name().to_string_lossy().into_owned();
            (name, fs::read(e.path()).expect("read"))
        })
        .collect();
    v.sort();
    v
}

fn ctask_names(ws: &Path) -> Vec<String> {
    ctask_snapshot(ws).into_iter().map(|(n, _)| n).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(r, 0);
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

// ---------------------------------------------------------------------------------------
// 1. A session around a child that adds a file and exits 3.

#[test]
fn resume_records_the_child_exit_and_its_changes() {
    let env = Env::new();
    let ws = env.new_ws("One");
    let out = env.resume_sh(&ws, "echo x > a.txt; exit 3", &[]);
    out.code_is(3);

    let s = summary(&ws);
    assert_eq!(strings(&s["files_added"]), ["a.txt"]);
    assert_eq!(strings(&s["files_modified"]), Vec::<String>::new());
    assert_eq!(strings(&s["files_deleted"]), Vec::<String>::new());
    assert_eq!(s["exit_code"], 3);
    assert_eq!(s["end_reason"], "child_exited");
    assert_eq!(s["detected_via"], "child_exit");
    assert_eq!(s["agent"], "sh");
    assert!(s["duration_seconds"].is_u64(), "{s}");
    assert!(s["end_manifest"].is_array());

    let names = ctask_names(&ws);
    assert!(!names.iter().any(|n| n == "session.json"), "{names:?}");
    assert!(
        !names.iter().any(|n| n == "manifest-start.bin"),
        "{names:?}"
    );

    let lines = log_lines(&ws);
    let starts: Vec<_> = lines.iter().filter(|(e, _)| e == "start").collect();
    let ends: Vec<_> = lines.iter().filter(|(e, _)| e == "end").collect();
    assert_eq!(
        (starts.len(), ends.len(), lines.len()),
        (1, 1, 2),
        "{lines:?}"
    );
    let id = s["session_id"].as_str().expect("id");
    assert_eq!(field(&starts[0].1, "id"), Some(id));
    let end = &ends[0].1;
    assert_eq!(field(end, "id"), Some(id));
    assert_eq!(field(end, "exit"), Some("3"));
    assert_eq!(field(end, "added"), Some("1"));
    assert_eq!(field(end, "reason"), Some("child_exited"));
    assert_eq!(field(end, "detected_via"), Some("child_exit"));
}

// ---------------------------------------------------------------------------------------
// 2. touch is not a modification; mv is one rename.

#[test]
fn touch_is_not_a_modification_and_mv_is_a_rename() {
    let env = Env::new();
    let ws = env.new_ws("Two");
    env.resume_sh(&ws, "echo one > keep.txt; echo two > a.txt", &[])
        .ok();
    // Let the clock move so a touch really changes the mtime.
    std::thread::sleep(Duration::from_millis(1100));
    env.resume_sh(&ws, "touch keep.txt; mv a.txt b.txt", &[])
        .ok();
    let s = summary(&ws);
    assert_eq!(strings(&s["files_modified"]), Vec::<String>::new(), "{s}");
    assert_eq!(strings(&s["files_added"]), Vec::<String>::new(), "{s}");
    assert_eq!(strings(&s["files_deleted"]), Vec::<String>::new(), "{s}");
    assert_eq!(
        s["files_renamed"],
        serde_json::json!([{"from": "a.txt", "to": "b.txt"}])
    );
    let id = s["session_id"].as_str().expect("id");
    let end = &events_for(&ws, "end", id)[0];
    assert_eq!(
        ["added", "modified", "deleted", "renamed"].map(|k| field(end, k)),
        [Some("0"), Some("0"), Some("0"), Some("1")]
    );
}

// ---------------------------------------------------------------------------------------
// 3. Outside changes: reported by begin and by `ctask diff`; a killed session's changes
//    belong to it and are not reported again.

#[test]
fn changes_between_sessions_are_outside_changes() {
    let env = Env::new();
    let ws = env.new_ws("Three");
    env.resume_sh(&ws, "echo 1 > kept.txt; echo 1 > gone.txt", &[])
        .ok();
    let first = summary(&ws)["session_id"].as_str().expect("id").to_owned();

    // No session: an added, a modified and a deleted file.
    fs::write(ws.join("between.txt"), "outside\n").expect("write");
    fs::write(ws.join("kept.txt"), "2\n").expect("write");
    fs::remove_file(ws.join("gone.txt")).expect("rm");

    let d = env.json(&["diff", path_str(&ws), "--json"]);
    assert_eq!(d["baseline"], "last_session");
    assert_eq!(d["baseline_session_id"], first.as_str());
    assert!(d["since"].is_string(), "{d}");
    assert_eq!(strings(&d["added"]), ["between.txt"]);
    assert_eq!(strings(&d["modified"]), ["kept.txt"]);
    assert_eq!(strings(&d["deleted"]), ["gone.txt"]);
    assert_eq!(d["renamed"], serde_json::json!([]));
    // The human form lists them too, and diff wrote nothing.
    let before = ctask_snapshot(&ws);
    let human = env.run(&["diff", path_str(&ws)]);
    human.ok();
    assert!(human.stdout.contains("+ between.txt"), "{human:?}");
    assert_eq!(ctask_snapshot(&ws), before);

    let out = env.resume_sh(&ws, "true", &[]);
    out.ok();
    assert!(
        out.stderr.contains("files changed outside a ctask session"),
        "{out:?}"
    );
    for name in ["between.txt", "kept.txt", "gone.txt"] {
        assert!(out.stderr.contains(name), "{name} not reported: {out:?}");
    }
    let s = summary(&ws);
    let oc = &s["outside_changes"];
    assert_eq!(strings(&oc["added"]), ["between.txt"]);
    assert_eq!(strings(&oc["modified"]), ["kept.txt"]);
    assert_eq!(strings(&oc["deleted"]), ["gone.txt"]);

    // After that session, nothing is new: diff is empty and the next begin is quiet.
    let d = env.json(&["diff", path_str(&ws), "--json"]);
    assert_eq!(d["added"], serde_json::json!([]), "{d}");
    assert_eq!(d["modified"], serde_json::json!([]), "{d}");
    let out = env.resume_sh(&ws, "true", &[]);
    out.ok();
    assert!(!out.stderr.contains("outside"), "{out:?}");
}

#[test]
fn a_killed_sessions_changes_are_attributed_to_it_once() {
    let env = Env::new();
    let ws = env.new_ws("Killed");
    env.resume_sh(&ws, "true", &[]).ok();

    let ready = env.scratch("k.ready");
    let script = r#"echo y > b.txt; echo up > "$1"; exec sleep 30"#;
    let mut owner = env.spawn(&sh_args(&ws, &[], script, &[path_str(&ready)]), "k");
    wait_for(|| ready.exists(), "the agent to write b.txt");
    let dead_id = lease(&ws)["session_id"].as_str().expect("id").to_owned();
    owner.signal(libc::SIGKILL);
    owner.wait();
    owner.kill_group();

    let out = env.resume_sh(&ws, "true", &[]);
    out.ok();
    assert!(!out.stderr.contains("outside"), "reported again: {out:?}");
    assert!(
        out.stderr.contains(&dead_id),
        "recovery not reported: {out:?}"
    );

    let died = events_for(&ws, "end", &dead_id);
    assert_eq!(died.len(), 1, "{}", log_text(&ws));
    assert_eq!(field(&died[0], "reason"), Some("owner_died"));
    assert_eq!(field(&died[0], "detected_via"), Some("recovery"));
    assert_eq!(field(&died[0], "added"), Some("1"));
    assert_eq!(field(&died[0], "exit"), Some("-"));
    assert_eq!(events_for(&ws, "start", &dead_id).len(), 1);

    let s = summary(&ws);
    assert_ne!(s["session_id"], dead_id.as_str());
    let oc = &s["outside_changes"];
    assert_eq!(
        oc,
        &serde_json::json!({"added": [], "modified": [], "deleted": [], "renamed": []}),
        "{s}"
    );
    assert_eq!(strings(&s["files_added"]), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// 4. Two resumes at once: one owner, the other exits 3 naming it; --force coexists.

#[test]
fn two_resumes_at_once_have_exactly_one_owner() {
    let env = Env::new();
    let ws = env.new_ws("Race");
    let mk = |tag: &str| {
        let ready = env.scratch(&format!("{tag}.ready"));
        let gate = env.scratch("race.gate");
        let args = sh_args(&ws, &[], GATED, &[path_str(&ready), path_str(&gate)]);
        (env.std_cmd(&args), ready)
    };
    let (c1, r1) = mk("r1");
    let (c2, r2) = mk("r2");
    let mut a = env.spawn_with(c1, "r1");
    let mut b = env.spawn_with(c2, "r2");

    // Exactly one of them exits (busy) while the other's agent runs.
    let deadline = Instant::now() + PATIENCE;
    let (loser_is_a, loser_out) = loop {
        let (sa, sb) = (a.try_status(), b.try_status());
        assert!(
            sa.is_none() || sb.is_none(),
            "both exited: {:?} / {:?}",
            a.stderr(),
            b.stderr()
        );
        if sa.is_some() {
            break (true, a.wait());
        }
        if sb.is_some() {
            break (false, b.wait());
        }
        assert!(Instant::now() < deadline, "neither exited");
        std::thread::sleep(Duration::from_millis(20));
    };
    let (winner, winner_ready, loser_ready) = if loser_is_a {
        (&mut b, &r2, &r1)
    } else {
        (&mut a, &r1, &r2)
    };
    loser_out.code_is(3);
    wait_for(|| winner_ready.exists(), "the owner's agent");
    assert!(!loser_ready.exists(), "the loser ran its agent");
    let l = lease(&ws);
    assert_eq!(l["pid"], winner.pid());
    let name = l["hostname"].as_str().expect("hostname").to_owned();
    assert_eq!(name, host());
    assert!(
        loser_out
            .stderr
            .contains(&format!("pid {} on {name}", winner.pid())),
        "{loser_out:?}"
    );

    // Status while it runs: active, with the owner's pid.
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "active", "{st}");
    assert_eq!(st["lease"]["pid"], winner.pid());

    fs::write(env.scratch("race.gate"), "").expect("gate");
    winner.wait().ok();
    let lines = log_lines(&ws);
    assert_eq!(
        lines.iter().filter(|(e, _)| e == "start").count(),
        1,
        "{lines:?}"
    );
    assert_eq!(lines.iter().filter(|(e, _)| e == "end").count(), 1);
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "none", "{st}");
    assert!(st.get("lease").is_none(), "{st}");
    assert_eq!(st["last_summary"]["end_reason"], "child_exited", "{st}");
}

#[test]
fn force_coexists_and_leaves_the_owners_files_alone() {
    let env = Env::new();
    let ws = env.new_ws("Coexist");
    // A heartbeat that cannot tick during the test, so the owner's lease bytes are stable.
    let owner = env.gated_with_env(
        &ws,
        &[],
        "o",
        &[
            ("CTASK_HEARTBEAT_SECONDS", "3600"),
            ("CTASK_STALE_AFTER_SECONDS", "7200"),
        ],
    );
    let owner_pid = owner.bg.pid();
    let before = ctask_snapshot(&ws);
    assert!(before.iter().any(|(n, _)| n == "session.json"));

    let out = env.resume_sh(&ws, "echo c > c.txt; exit 5", &[]);
    out.code_is(3);
    assert!(out.stderr.contains(&format!("pid {owner_pid}")), "{out:?}");
    assert_eq!(
        ctask_snapshot(&ws),
        before,
        "a refused resume changed .ctask"
    );

    let out = env.run(&sh_args(&ws, &["--force"], "echo c > c.txt; exit 5", &[]));
    out.code_is(5);
    assert!(out.stderr.contains("sharing the workspace"), "{out:?}");
    assert_eq!(
        ctask_snapshot(&ws),
        before,
        "the coexisting session touched the owner's files"
    );
    let co: Vec<_> = log_lines(&ws)
        .into_iter()
        .filter(|(_, f)| field(f, "role") == Some("coexist"))
        .collect();
    assert_eq!(co.len(), 2, "{}", log_text(&ws));
    assert_eq!(co[0].0, "start");
    assert_eq!(co[1].0, "end");
    assert_eq!(field(&co[1].1, "added"), Some("1"));
    assert_eq!(field(&co[1].1, "exit"), Some("5"));

    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["lease"]["pid"], owner_pid);
    owner.finish().ok();
    let s = summary(&ws);
    assert_eq!(strings(&s["files_added"]), ["c.txt"]);
    assert!(!ctask_dir(&ws).join("session.json").exists());
}

// ---------------------------------------------------------------------------------------
// 5. kill -9 of the owner: the next resume recovers at once.

#[test]
fn a_killed_owner_is_recovered_at_once() {
    let env = Env::new();
    let ws = env.new_ws("Crash");
    let dead = env.gated(&ws, &[], "dead");
    fs::write(ws.join("work.txt"), "done before the crash\n").expect("write");
    let dead_id = lease(&ws)["session_id"].as_str().expect("id").to_owned();
    let mut bg = dead.bg;
    bg.signal(libc::SIGKILL);
    bg.wait();
    bg.kill_group();
    assert!(ctask_dir(&ws).join("session.json").exists());

    // Status only reports: stale, and it writes nothing.
    let before = ctask_snapshot(&ws);
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "stale", "{st}");
    assert_eq!(ctask_snapshot(&ws), before);

    let t0 = Instant::now();
    let next = env.gated(&ws, &[], "next");
    let waited = t0.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "the next resume waited {waited:?}"
    );

    let died = events_for(&ws, "end", &dead_id);
    assert_eq!(died.len(), 1, "{}", log_text(&ws));
    assert_eq!(field(&died[0], "reason"), Some("owner_died"));
    assert_eq!(field(&died[0], "added"), Some("1"));

    // Until the next session ends, the dead one's summary is the last summary.
    let s = summary(&ws);
    assert_eq!(s["session_id"], dead_id.as_str());
    assert_eq!(s["end_reason"], "owner_died");
    assert_eq!(s["detected_via"], "recovery");
    assert_eq!(strings(&s["files_added"]), ["work.txt"]);
    assert!(s.get("exit_code").is_none(), "{s}");
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "active");
    assert_eq!(st["last_summary"]["session_id"], dead_id.as_str());

    let out = next.finish();
    out.ok();
    assert_ne!(summary(&ws)["session_id"], dead_id.as_str());
    assert!(!ctask_dir(&ws).join("session.json").exists());
    assert!(!ctask_dir(&ws).join("manifest-start.bin").exists());
}

// ---------------------------------------------------------------------------------------
// 6. launch_dir.

fn set_launch_dir(ws: &Path, value: &str) {
    let p = ws.join("task.yaml");
    let mut text = fs::read_to_string(&p).expect("task.yaml");
    text.push_str(&format!("launch_dir: {value}\n"));
    fs::write(p, text).expect("write task.yaml");
}

#[test]
fn unsafe_launch_dirs_are_refused_and_nothing_is_written() {
    let env = Env::new();
    let outside = env.scratch("outside");
    fs::create_dir(&outside).expect("mkdir");
    for (i, value) in [
        outside.to_string_lossy().into_owned(),
        "../outside".to_owned(),
        "sub/../../outside".to_owned(),
        "link".to_owned(),
        "link/inner".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        let ws = env.new_ws(&format!("Launch {i}"));
        std::os::unix::fs::symlink(&outside, ws.join("link")).expect("symlink");
        fs::create_dir(outside.join("inner")).ok();
        set_launch_dir(&ws, value);
        let before = ctask_snapshot(&ws);
        let yaml = fs::read(ws.join("task.yaml")).expect("yaml");
        let marker = env.scratch(&format!("ran-{i}"));
        let out = env.resume_sh(&ws, r#"echo ran > "$1""#, &[path_str(&marker)]);
        out.code_is(1);
        assert!(out.stderr.contains("launch_dir"), "{value}: {out:?}");
        assert!(!marker.exists(), "{value}: the agent ran");
        assert_eq!(ctask_snapshot(&ws), before, "{value}: .ctask changed");
        assert_eq!(log_text(&ws), "", "{value}: logged");
        assert_eq!(fs::read(ws.join("task.yaml")).expect("yaml"), yaml);
    }
}

#[test]
fn a_missing_launch_dir_warns_and_starts_in_the_root() {
    let env = Env::new();
    let ws = env.new_ws("Launch ok");
    set_launch_dir(&ws, "nope");
    let out = env.resume_sh(&ws, "pwd; echo \"[$CTASK_LAUNCH_DIR]\"", &[]);
    out.ok();
    assert!(out.stderr.contains("warning"), "{out:?}");
    assert!(out.stderr.contains("nope"), "{out:?}");
    let mut lines = out.stdout.lines();
    let pwd = PathBuf::from(lines.next().expect("pwd"));
    assert_eq!(
        pwd.canonicalize().expect("pwd"),
        ws.canonicalize().expect("ws")
    );
    assert_eq!(lines.next(), Some("[]"));

    // An existing one is used.
    let ws2 = env.new_ws("Launch sub");
    fs::create_dir(ws2.join("src")).expect("mkdir");
    set_launch_dir(&ws2, "src");
    let out = env.resume_sh(&ws2, "pwd; echo \"[$CTASK_LAUNCH_DIR]\"", &[]);
    out.ok();
    assert!(!out.stderr.contains("warning"), "{out:?}");
    let mut lines = out.stdout.lines();
    let pwd = PathBuf::from(lines.next().expect("pwd"));
    assert_eq!(
        pwd.canonicalize().expect("pwd"),
        ws2.join("src").canonicalize().expect("src")
    );
    assert_eq!(lines.next(), Some("[src]"));
}

// ---------------------------------------------------------------------------------------
// 7. Provisional cleanup of `ctask new`.

fn workspaces(env: &Env) -> Vec<String> {
    let general = env.root().join("general");
    let mut v: Vec<String> = match fs::read_dir(&general) {
        Ok(rd) => rd
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

#[test]
fn new_removes_a_workspace_nobody_used() {
    let env = Env::new();
    let out = env.run(&["new", "Backed out", "-a", "false"]);
    out.code_is(1);
    assert!(out.stderr.contains("removed"), "{out:?}");
    assert_eq!(workspaces(&env), Vec::<String>::new());

    // A change by the child keeps it, whatever the exit code.
    let out = env.run(&[
        "new",
        "Changed",
        "-a",
        "sh",
        "--",
        "-c",
        "echo x > made.txt; exit 1",
    ]);
    out.code_is(1);
    let ws = workspaces(&env);
    assert_eq!(ws.len(), 1, "{ws:?}");
    assert!(ws[0].ends_with("_changed"));
    let dir = env.root().join("general").join(&ws[0]);
    assert!(dir.join("made.txt").is_file());
    assert_eq!(strings(&summary(&dir)["files_added"]), ["made.txt"]);

    // Exit 0 keeps it too.
    env.run(&["new", "Kept", "-a", "true"]).ok();
    let ws = workspaces(&env);
    assert_eq!(ws.len(), 2, "{ws:?}");
    let kept = env.root().join("general").join(&ws[1]);
    assert!(ws[1].ends_with("_kept"));
    assert!(kept.join("task.yaml").is_file());
    assert_eq!(summary(&kept)["exit_code"], 0);

    // `resume` never removes anything, even with exit 1 and no change.
    let kept_path = kept.to_string_lossy().into_owned();
    env.run(&["resume", &kept_path, "-a", "false"]).code_is(1);
    assert!(kept.join("task.yaml").is_file());
}

// ---------------------------------------------------------------------------------------
// 8. Bad files, and SIGTERM.

#[test]
fn a_truncated_task_yaml_is_a_clear_error_and_changes_nothing() {
    let env = Env::new();
    let ws = env.new_ws("Broken yaml");
    let p = ws.join("task.yaml");
    let full = fs::read_to_string(&p).expect("read");
    let before = ctask_snapshot(&ws);
    let dir_name = ws
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_owned();
    // Cut inside a key (a cut inside the last value can leave valid YAML behind, which no
    // reader can tell from a real value), and cut to nothing.
    let cuts = ["\nworkspace", "\nslug", "\nstatus", "\nupdated_at"]
        .map(|k| full.find(k).expect("key") + 4)
        .into_iter()
        .chain([0]);
    for cut in cuts {
        fs::write(&p, &full[..cut]).expect("truncate");
        let truncated = fs::read(&p).expect("read");
        for query in [path_str(&ws), dir_name.as_str()] {
            let out = env.run(&["resume", query, "-a", "sh", "--", "-c", "echo x > x.txt"]);
            out.code_is(1);
            assert!(out.stderr.contains(path_str(&p)), "cut {cut}: {out:?}");
            assert_eq!(ctask_snapshot(&ws), before);
            assert_eq!(log_text(&ws), "");
            assert!(!ws.join("x.txt").exists());
            assert_eq!(fs::read(&p).expect("read"), truncated);
        }
        for cmd in ["status", "diff", "log", "info"] {
            let out = env.run(&[cmd, path_str(&ws)]);
            out.code_is(1);
            assert!(out.stderr.contains("task.yaml"), "{cmd}: {out:?}");
        }
    }
}

#[test]
fn a_truncated_lease_without_owner_is_reclaimed_with_a_warning() {
    let env = Env::new();
    let ws = env.new_ws("Broken lease");
    let lease_path = ctask_dir(&ws).join("session.json");
    fs::write(&lease_path, r#"{"session_id": "h-1-2026"#).expect("write");

    // status reports it and writes nothing.
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "stale", "{st}");
    assert!(lease_path.exists());

    let out = env.resume_sh(&ws, "true", &[]);
    out.ok();
    assert!(out.stderr.contains("session.json"), "{out:?}");
    assert!(out.stderr.contains("warning"), "{out:?}");
    let lines = log_lines(&ws);
    assert_eq!(lines[0].0, "lease-removed", "{lines:?}");
    assert_eq!(field(&lines[0].1, "reason"), Some("unreadable"));
    assert_eq!(
        lines.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        ["lease-removed", "start", "end"]
    );
    assert!(!lease_path.exists());
}

#[test]
fn a_truncated_summary_is_a_warning_and_no_baseline() {
    let env = Env::new();
    let ws = env.new_ws("Broken summary");
    env.resume_sh(&ws, "echo 1 > f.txt", &[]).ok();
    let p = ctask_dir(&ws).join("last-session-summary.json");
    let text = fs::read(&p).expect("read");
    fs::write(&p, &text[..text.len() / 2]).expect("truncate");
    fs::write(ws.join("f.txt"), "changed outside\n").expect("write");

    let out = env.run(&["diff", path_str(&ws), "--json"]);
    out.ok();
    assert!(out.stderr.contains("last-session-summary.json"), "{out:?}");
    let d: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(d["baseline"], "none");

    let st = env.run(&["status", path_str(&ws), "--json"]);
    st.ok();
    let st: Value = serde_json::from_str(&st.stdout).expect("json");
    assert!(
        st["diagnostic"]
            .as_str()
            .is_some_and(|d| d.contains("last-session-summary.json")),
        "{st}"
    );

    let out = env.resume_sh(&ws, "true", &[]);
    out.ok();
    assert!(out.stderr.contains("warning"), "{out:?}");
    assert!(out.stderr.contains("last-session-summary.json"), "{out:?}");
    assert!(!out.stderr.contains("outside"), "{out:?}");
    let s = summary(&ws);
    assert!(s.get("outside_changes").is_none(), "{s}");
    assert_eq!(s["end_reason"], "child_exited");
}

#[test]
fn sigterm_reaches_the_agent_and_the_session_is_closed() {
    let env = Env::new();
    let ws = env.new_ws("Term");
    let ready = env.scratch("t.ready");
    let marker = env.scratch("t.got-term");
    // The agent traps TERM: it records it, kills its sleep and exits 143.
    let script = r#"trap 'echo term > "$2"; kill $p 2>/dev/null; echo bye > bye.txt; exit 143' TERM
sleep 30 & p=$!
echo up > "$1"
wait $p"#;
    let mut bg = env.spawn(
        &sh_args(&ws, &[], script, &[path_str(&ready), path_str(&marker)]),
        "term",
    );
    wait_for(|| ready.exists(), "the agent to trap TERM");
    assert!(ctask_dir(&ws).join("session.json").exists());
    bg.signal(libc::SIGTERM);
    let out = bg.wait();
    out.code_is(143);
    assert!(marker.exists(), "the agent did not get TERM");
    let s = summary(&ws);
    assert_eq!(s["exit_code"], 143);
    assert_eq!(s["end_reason"], "child_exited");
    assert_eq!(strings(&s["files_added"]), ["bye.txt"]);
    assert!(!ctask_dir(&ws).join("session.json").exists());
    assert!(!ctask_dir(&ws).join("manifest-start.bin").exists());
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "none");
}

#[test]
fn sigterm_to_an_agent_that_does_not_trap_it_kills_it() {
    let env = Env::new();
    let ws = env.new_ws("Term default");
    let ready = env.scratch("td.ready");
    let mut bg = env.spawn(
        &sh_args(
            &ws,
            &[],
            r#"echo up > "$1"; exec sleep 30"#,
            &[path_str(&ready)],
        ),
        "td",
    );
    wait_for(|| ready.exists(), "the agent");
    let t0 = Instant::now();
    bg.signal(libc::SIGTERM);
    let out = bg.wait();
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "sleep 30 was not killed"
    );
    out.code_is(128 + libc::SIGTERM);
    let s = summary(&ws);
    assert_eq!(s["exit_code"], 128 + libc::SIGTERM);
    assert!(!ctask_dir(&ws).join("session.json").exists());
}

// ---------------------------------------------------------------------------------------
// 9. Agent not on PATH.

#[test]
fn an_agent_not_on_path_is_127_and_writes_nothing() {
    let env = Env::new();
    let ws = env.new_ws("No agent");
    let before = ctask_snapshot(&ws);
    let out = env.run(&["resume", path_str(&ws), "-a", "no-such-agent-xyz"]);
    out.code_is(127);
    assert!(out.stderr.contains("no-such-agent-xyz"), "{out:?}");
    assert_eq!(ctask_snapshot(&ws), before);
    assert!(!ctask_dir(&ws).join("session.json").exists());
    assert_eq!(log_text(&ws), "");

    // The agent recorded in task.yaml, too.
    let out = env.run(&["new", "Ghost", "-a", "no-such-agent-xyz"]);
    out.code_is(127);
    assert!(out.stderr.contains("no-such-agent-xyz"), "{out:?}");
    let left: Vec<String> = workspaces(&env)
        .into_iter()
        .filter(|n| n.ends_with("_ghost"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "nothing may be created");
}

// ---------------------------------------------------------------------------------------
// Read commands.

/// The keys of every `"fields"` object in pretty-printed JSON text, in written order.
fn fields_key_orders(text: &str) -> Vec<Vec<String>> {
    text.split("\"fields\": {")
        .skip(1)
        .map(|rest| {
            let body = &rest[..rest.find('}').expect("closing brace")];
            body.lines()
                .filter_map(|l| {
                    let l = l.trim_start().strip_prefix('"')?;
                    Some(l[..l.find("\":")?].to_owned())
                })
                .collect()
        })
        .collect()
}

#[test]
fn log_json_is_an_array_of_ts_event_fields() {
    let env = Env::new();
    let ws = env.new_ws("Log");
    let empty = env.json(&["log", path_str(&ws), "--json"]);
    assert_eq!(empty, serde_json::json!([]));
    env.resume_sh(&ws, "echo a > a.txt; exit 2", &[]).code_is(2);
    let v = env.json(&["log", path_str(&ws), "--json"]);
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 2, "{v}");
    for e in arr {
        let obj = e.as_object().expect("object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["event", "fields", "ts"]);
        assert!(e["ts"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(e["fields"].is_object());
    }
    assert_eq!(arr[0]["event"], "start");
    assert_eq!(arr[1]["event"], "end");
    // The fields keep the log's order (checked on the text: a parsed map may sort them).
    let text = env.run(&["log", path_str(&ws), "--json"]).stdout;
    let objects = fields_key_orders(&text);
    assert_eq!(objects.len(), 2, "{text}");
    assert_eq!(objects[0], ["id", "agent", "mode", "pid", "host", "user"]);
    assert_eq!(
        objects[1],
        [
            "id",
            "agent",
            "mode",
            "exit",
            "duration",
            "added",
            "modified",
            "deleted",
            "renamed",
            "reason",
            "detected_via"
        ]
    );
    assert_eq!(arr[1]["fields"]["exit"], "2");
    assert_eq!(arr[0]["fields"]["id"], arr[1]["fields"]["id"]);
    assert_eq!(arr[0]["fields"]["host"], host().as_str());

    // The text form is the file.
    let out = env.run(&["log", path_str(&ws)]);
    out.ok();
    assert_eq!(out.stdout, log_text(&ws));
}

#[test]
fn status_json_follows_the_session() {
    let env = Env::new();
    let ws = env.new_ws("Status");
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st, serde_json::json!({"state": "none"}));

    let g = env.gated(&ws, &[], "st");
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "active", "{st}");
    assert_eq!(st["mode"], "direct");
    assert_eq!(st["lease"]["pid"], g.bg.pid());
    assert_eq!(st["lease"]["hostname"], host().as_str());
    assert_eq!(st["lease"]["agent"], "sh");
    assert_eq!(st["lease"]["lock"], "session.lock");
    assert!(st["heartbeat_age_s"].is_i64(), "{st}");
    // The human form names the owner; no QUERY inside a workspace means that workspace.
    let mut cmd = env.std_cmd(&["status"]);
    cmd.current_dir(&ws);
    let out = Out::from(cmd.output().expect("status"));
    out.ok();
    assert!(out.stdout.contains("active"), "{out:?}");
    assert!(
        out.stdout.contains(&format!("pid {}", g.bg.pid())),
        "{out:?}"
    );
    // Without QUERY outside any workspace: every workspace with a lease.
    let all = env.json(&["status", "--json"]);
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["state"], "active");

    g.finish().ok();
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "none", "{st}");
    assert!(st.get("lease").is_none());
    assert_eq!(st["last_summary"]["end_reason"], "child_exited");
    assert!(st["last_summary"].get("end_manifest").is_none());
    assert_eq!(env.json(&["status", "--json"]), serde_json::json!([]));
}

#[test]
fn diff_json_without_a_baseline() {
    let env = Env::new();
    let ws = env.new_ws("No baseline");
    fs::write(ws.join("x.txt"), "x").expect("write");
    let d = env.json(&["diff", path_str(&ws), "--json"]);
    assert_eq!(
        d,
        serde_json::json!({
            "baseline": "none",
            "added": [], "modified": [], "deleted": [], "renamed": []
        })
    );
}

// ---------------------------------------------------------------------------------------
// Signals beyond TERM: Ctrl-C goes to the agent, ctask survives it and closes the session.

#[test]
fn interrupts_reach_the_agent_and_ctask_survives_them() {
    let env = Env::new();
    let ws = env.new_ws("Interrupt");

    // INT to ctask alone (not its group) does not end anything.
    let g = env.gated(&ws, &[], "int1");
    g.bg.signal(libc::SIGINT);
    g.bg.signal(libc::SIGQUIT);
    std::thread::sleep(Duration::from_millis(300));
    let mut g = g;
    assert!(g.bg.try_status().is_none(), "ctask died of SIGINT/SIGQUIT");
    g.finish().ok();

    // INT to the whole group, as a terminal's Ctrl-C does: the agent dies of it, ctask
    // records the session and exits 128+2.
    let ready = env.scratch("int2.ready");
    let mut bg = env.spawn(
        &sh_args(
            &ws,
            &[],
            r#"echo up > "$1"; exec sleep 30"#,
            &[path_str(&ready)],
        ),
        "int2",
    );
    wait_for(|| ready.exists(), "the agent");
    let pgid = bg.pid();
    // SAFETY: the group was created for this child.
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGINT) }, 0);
    let out = bg.wait();
    out.code_is(128 + libc::SIGINT);
    let s = summary(&ws);
    assert_eq!(s["exit_code"], 128 + libc::SIGINT);
    assert_eq!(s["end_reason"], "child_exited");
    assert!(!ctask_dir(&ws).join("session.json").exists());
}

#[test]
fn the_heartbeat_ticks_and_never_delays_the_end() {
    let env = Env::new();
    let ws = env.new_ws("Heartbeat");
    let g = env.gated_with_env(
        &ws,
        &[],
        "hb",
        &[
            ("CTASK_HEARTBEAT_SECONDS", "1"),
            ("CTASK_STALE_AFTER_SECONDS", "2"),
        ],
    );
    let first = lease(&ws);
    assert_eq!(first["heartbeat_seconds"], 1);
    let started = first["started_at"].as_str().expect("started_at").to_owned();
    wait_for(
        || {
            fs::read_to_string(ctask_dir(&ws).join("session.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|l| l["heartbeat_at"].as_str() > Some(started.as_str()))
        },
        "a heartbeat",
    );
    let l = lease(&ws);
    assert_eq!(l["session_id"], first["session_id"]);
    assert_eq!(l["started_at"], first["started_at"]);
    // Even with a stale_after of 2 s, a live owner stays active: its lock says so.
    std::thread::sleep(Duration::from_millis(2500));
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "active", "{st}");
    g.finish().ok();

    // With the default 30 s heartbeat, ctask still ends as soon as its agent does.
    let g = env.gated(&ws, &[], "hb2");
    let t0 = Instant::now();
    g.finish().ok();
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(5), "end took {took:?}");
}

// ---------------------------------------------------------------------------------------
// write.lock held by someone else: exit 4 and nothing written; a dead holder's lock is broken.

fn write_lock(ws: &Path, pid: u32, acquired_at: &str) {
    let body = serde_json::json!({"pid": pid, "hostname": host(), "acquired_at": acquired_at});
    fs::write(ctask_dir(ws).join("write.lock"), body.to_string()).expect("write.lock");
}

fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The pid of a process that has exited and been reaped.
#[test]
fn a_held_write_lock_is_exit_4_and_a_dead_holders_is_broken() {
    let env = Env::new();
    let ws = env.new_ws("Write lock");
    write_lock(&ws, std::process::id(), &now_rfc3339());
    let mut before = ctask_snapshot(&ws);
    let out = env.resume_sh(&ws, "echo x > x.txt", &[]);
    out.code_is(4);
    assert!(out.stderr.contains("write.lock"), "{out:?}");
    // Only the (empty, never removed) session.lock of step 2 may have appeared.
    before.push(("session.lock".into(), Vec::new()));
    before.sort();
    assert_eq!(ctask_snapshot(&ws), before);
    assert_eq!(log_text(&ws), "");
    assert!(!ws.join("x.txt").exists(), "the agent ran");
    // The session lock was released: status says none.
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "none", "{st}");

    write_lock(&ws, dead_pid(), &now_rfc3339());
    env.resume_sh(&ws, "echo x > x.txt", &[]).ok();
    assert_eq!(strings(&summary(&ws)["files_added"]), ["x.txt"]);
    assert!(!ctask_dir(&ws).join("write.lock").exists());
}

// ---------------------------------------------------------------------------------------
// Leases written by the reference tool (no `lock` marker).

fn reference_lease(ws: &Path, id: &str, pid: u32, hostname: &str, heartbeat: Option<&str>) {
    let mut l = serde_json::json!({
        "session_id": id,
        "pid": pid,
        "hostname": hostname,
        "agent": "claude",
        "mode": "local",
        "workspace_mode": "local",
        "started_at": "2026-01-01T10:00:00Z",
    });
    if let Some(h) = heartbeat {
        l["heartbeat_at"] = Value::from(h);
    }
    fs::write(ctask_dir(ws).join("session.json"), l.to_string()).expect("lease");
}

#[test]
fn reference_leases_are_judged_by_pid_or_heartbeat() {
    let env = Env::new();
    let now = now_rfc3339();

    // Same host, live pid → busy.
    let ws = env.new_ws("Ref alive");
    reference_lease(&ws, "ref-alive", std::process::id(), &host(), Some(&now));
    let out = env.resume_sh(&ws, "true", &[]);
    out.code_is(3);
    assert!(
        out.stderr
            .contains(&format!("pid {} on {}", std::process::id(), host())),
        "{out:?}"
    );
    assert_eq!(log_text(&ws), "");

    // Other host, fresh heartbeat → busy.
    reference_lease(&ws, "ref-remote", 4242, "elsewhere.example", Some(&now));
    env.resume_sh(&ws, "true", &[]).code_is(3);
    assert_eq!(log_text(&ws), "");

    // Other host, no heartbeat → unknown: never reclaimed, and the user is told what to do.
    reference_lease(&ws, "ref-unknown", 4242, "elsewhere.example", None);
    let out = env.resume_sh(&ws, "true", &[]);
    out.code_is(3);
    assert!(out.stderr.contains("session.json"), "{out:?}");
    assert!(ctask_dir(&ws).join("session.json").exists());
    let st = env.json(&["status", path_str(&ws), "--json"]);
    assert_eq!(st["state"], "unknown", "{st}");

    // Same host, dead pid → closed as owner_died (not as incomplete: the reference tool
    // logs no start line).
    let ws = env.new_ws("Ref dead");
    reference_lease(&ws, "ref-dead", dead_pid(), &host(), Some(&now));
    let out = env.resume_sh(&ws, "true", &[]);
    out.ok();
    let died = events_for(&ws, "end", "ref-dead");
    assert_eq!(died.len(), 1, "{}", log_text(&ws));
    assert_eq!(field(&died[0], "reason"), Some("owner_died"));
    assert_eq!(field(&died[0], "mode"), Some("direct"));
    assert!(events_for(&ws, "start", "ref-dead").is_empty());
    assert!(!log_text(&ws).contains("incomplete"));

    // Other host, heartbeat long expired → closed too.
    let ws = env.new_ws("Ref expired");
    reference_lease(
        &ws,
        "ref-expired",
        4242,
        "elsewhere.example",
        Some("2026-01-01T10:05:00Z"),
    );
    env.resume_sh(&ws, "true", &[]).ok();
    let died = events_for(&ws, "end", "ref-expired");
    assert_eq!(died.len(), 1, "{}", log_text(&ws));
    assert_eq!(field(&died[0], "reason"), Some("owner_died"));
}

// ---------------------------------------------------------------------------------------
// Other entry commands and flags.

#[test]
fn force_records_outside_changes_without_the_warning() {
    let env = Env::new();
    let ws = env.new_ws("Force quiet");
    env.resume_sh(&ws, "true", &[]).ok();
    fs::write(ws.join("outside.txt"), "o").expect("write");
    let out = env.run(&sh_args(&ws, &["--force"], "true", &[]));
    out.ok();
    assert!(!out.stderr.contains("outside.txt"), "{out:?}");
    assert_eq!(
        strings(&summary(&ws)["outside_changes"]["added"]),
        ["outside.txt"]
    );
}

#[test]
fn open_runs_a_shell_and_last_resumes_the_latest() {
    let env = Env::new();
    let a = env.new_ws("Alpha");
    let b = env.new_ws("Beta");
    env.resume_sh(&b, "true", &[]).ok();
    std::thread::sleep(Duration::from_millis(1100));
    env.resume_sh(&a, "true", &[]).ok();

    // `last` picks Alpha, whose session ended last.
    let out = env.run(&["last", "-a", "sh", "--", "-c", "echo \"$CTASK_TASK\""]);
    out.ok();
    assert_eq!(out.stdout.trim(), "alpha");

    // `open` runs $SHELL (here sh reading an empty stdin) and records `shell`.
    let mut cmd = env.std_cmd(&["open", path_str(&b)]);
    cmd.env("SHELL", "/bin/sh");
    let out = Out::from(cmd.output().expect("open"));
    out.ok();
    assert_eq!(summary(&b)["agent"], "shell");
}

#[test]
fn a_project_nobody_used_is_removed_too() {
    let env = Env::new();
    let out = env.run(&["new", "Empty project", "--project", "-a", "false"]);
    out.code_is(1);
    let projects = env.root().join("projects");
    let left: Vec<_> = fs::read_dir(&projects)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");

    // A project whose agent wrote into its launch directory stays.
    let out = env.run(&[
        "new",
        "Used project",
        "--project",
        "-a",
        "sh",
        "--",
        "-c",
        "pwd; echo x > made.txt; exit 1",
    ]);
    out.code_is(1);
    let ws = PathBuf::from(out.stdout.trim())
        .parent()
        .expect("parent")
        .to_path_buf();
    assert!(ws.join("task.yaml").is_file(), "{out:?}");
    assert_eq!(
        strings(&summary(&ws)["files_added"]),
        ["used-project/made.txt"]
    );
}

#[test]
fn sighup_is_forwarded_like_sigterm() {
    let env = Env::new();
    let ws = env.new_ws("Hangup");
    let ready = env.scratch("hup.ready");
    let mut bg = env.spawn(
        &sh_args(
            &ws,
            &[],
            r#"echo up > "$1"; exec sleep 30"#,
            &[path_str(&ready)],
        ),
        "hup",
    );
    wait_for(|| ready.exists(), "the agent");
    bg.signal(libc::SIGHUP);
    let out = bg.wait();
    out.code_is(128 + libc::SIGHUP);
    assert_eq!(summary(&ws)["exit_code"], 128 + libc::SIGHUP);
    assert!(!ctask_dir(&ws).join("session.json").exists());
}

#[test]
fn sigterm_during_begin_reaches_the_agent_once_it_runs() {
    let env = Env::new();
    let ws = env.new_ws("Early term");
    // A live holder of write.lock keeps begin waiting (up to 2 s) in step 5.
    write_lock(&ws, std::process::id(), &now_rfc3339());
    let ran = env.scratch("early.ran");
    let mut bg = env.spawn(
        &sh_args(
            &ws,
            &[],
            r#"echo up > "$1"; exec sleep 30"#,
            &[path_str(&ran)],
        ),
        "early",
    );
    // Wait until begin holds session.lock, then signal it and let it go on.
    let lock_path = ctask_dir(&ws).join("session.lock");
    wait_for(
        || {
            let held = fs::File::open(&lock_path).is_ok_and(|f| f.try_lock_shared().is_err());
            held || bg.try_status().is_some()
        },
        "begin to take session.lock",
    );
    assert!(
        bg.try_status().is_none(),
        "ctask ended early: {}",
        bg.stderr()
    );
    bg.signal(libc::SIGTERM);
    fs::remove_file(ctask_dir(&ws).join("write.lock")).expect("release write.lock");
    let t0 = Instant::now();
    let out = bg.wait();
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "the agent was not told"
    );
    out.code_is(128 + libc::SIGTERM);
    let s = summary(&ws);
    assert_eq!(s["exit_code"], 128 + libc::SIGTERM);
    assert!(!ctask_dir(&ws).join("session.json").exists());
}
