//! Property tests standing in for fuzzing (stable toolchain, no `cargo fuzz`): every parser
//! of a file ctask reads — `task.yaml`, `config.yaml`, `session.json`, the summary, the start
//! manifest, log lines, timestamps — gets arbitrary bytes and mutated valid documents and
//! must return a value or an error, never panic; the writers' output parses back to what was
//! written; slugs and tmux names keep their character rules.
//!
//! Cases per property: `CTASK_FUZZ_CASES` (default 256; `make stress` uses 5000). Each
//! property prints its executions, its panics and how often each branch that does a round
//! trip ran (`FIGURE fuzz.…` lines), and fails when such a branch never ran.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use ctask_core::session::lease::{self, Lease, LeaseFile, Mode};
use ctask_core::session::log::{format_line, parse_line};
use ctask_core::session::manifest::{self, Entry, Manifest, Timestamp};
use ctask_core::session::summary::{self, Omitted, SummaryFile};
use ctask_core::session::{diff, liveness, timefmt, tmux};
use ctask_core::workspace::config::ConfigFile;
use ctask_core::workspace::slug;
use ctask_core::workspace::{Kind, TaskFile};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn cases() -> u32 {
    std::env::var("CTASK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// How often each named branch of a property ran.
#[derive(Default)]
struct Hits(Mutex<BTreeMap<&'static str, u64>>);

impl Hits {
    /// Counts one run of `branch`.
    fn hit(&self, branch: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(branch)
            .or_default() += 1;
    }

    fn get(&self, branch: &str) -> u64 {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(branch).copied().unwrap_or(0)
    }
}

/// Runs the property `name`: `test` on [`cases`] values of `strategy`, each execution and
/// each panic counted (a panic is also a failure). Prints the figures `fuzz.<name>.executions`,
/// `fuzz.<name>.panics` and, for each of `branches`, how often `test` took it — and fails
/// when one of them never ran, since the checks inside it were then never made.
fn property<S: Strategy>(
    name: &str,
    strategy: S,
    branches: &[&'static str],
    test: impl Fn(S::Value, &Hits) -> Result<(), TestCaseError>,
) {
    let hits = Hits::default();
    let (executions, panics) = (AtomicU64::new(0), AtomicU64::new(0));
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |v| {
        executions.fetch_add(1, Ordering::Relaxed);
        match std::panic::catch_unwind(AssertUnwindSafe(|| test(v, &hits))) {
            Ok(r) => r,
            Err(_) => {
                panics.fetch_add(1, Ordering::Relaxed);
                Err(TestCaseError::fail("panicked"))
            }
        }
    });
    println!(
        "\nFIGURE fuzz.{name}.executions: {}",
        executions.load(Ordering::Relaxed)
    );
    println!(
        "\nFIGURE fuzz.{name}.panics: {}",
        panics.load(Ordering::Relaxed)
    );
    for b in branches {
        println!("\nFIGURE fuzz.{name}.{b}: {}", hits.get(b));
    }
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    for b in branches {
        assert!(hits.get(b) > 0, "{name}: the {b} branch never ran");
    }
}

const TASK_YAML: &str = "schema_version: 1\nworkspace:\n  mode: local\ntitle: Fix the parser\nslug: fix-the-parser\ncategory: tasks\nkind: task\nstatus: active\ncreated_at: 2026-11-24T10:00:05Z\nupdated_at: 2026-11-24T10:00:05Z\nlaunch_dir: src\nagent:\n  command: claude\n  args: [--verbose]\n  env:\n    A: b\n";
const CONFIG_YAML: &str = "root: /tmp/ws\nproject_root: /tmp/p\ndefault_agent:\n  command: claude\n  args: [-v]\nsession_mode: direct\nheartbeat_seconds: 30\nstale_after_seconds: 60\n";
const LEASE_JSON: &str = r#"{"session_id":"h-42-20261124T100005Z-3f9a","pid":42,"process_start":123,"boot_id":"b","hostname":"h","user":"u","agent":"claude","mode":"direct","workspace_mode":"local","started_at":"2026-11-24T10:00:05Z","heartbeat_at":"2026-11-24T10:00:35Z","heartbeat_seconds":30,"ctask_version":"0.1.0","lock":"session.lock"}"#;
const SUMMARY_JSON: &str = r#"{"session_id":"h-1-x","hostname":"h","agent":"a","mode":"direct","started_at":"2026-11-24T10:00:05Z","ended_at":"2026-11-24T10:02:11Z","duration_seconds":126,"files_added":["a"],"files_modified":[],"files_deleted":["b/c"],"notes_updated":false,"end_reason":"child_exited","detected_via":"child_exit","exit_code":0,"files_renamed":[{"from":"x","to":"y"}],"outside_changes":{"added":[],"modified":["m"],"deleted":[],"renamed":[]},"ctask_version":"0.1.0","end_manifest":[{"path":"a","size":1,"mtime":"2026-11-24T10:00:05.000000001Z","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","kind":"file","ino":7,"ctime":"2026-11-24T10:00:05Z"},{"path":"l","size":3,"mtime":"2026-11-24T10:00:05Z","kind":"symlink","target":"../x"}],"end_manifest_captured_at":"2026-11-24T10:02:10.5Z"}"#;
const MANIFEST_JSON: &str = "{\"captured_at\":\"2026-11-24T10:00:05.123456789Z\",\"files\":[\n{\"path\":\"notes.md\",\"size\":120,\"mtime\":\"2026-11-24T09:58:01.000000000Z\",\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"kind\":\"file\",\"ino\":1311,\"ctime\":\"2026-11-24T09:58:01.000000000Z\"},\n{\"path\":\"src/link\",\"size\":6,\"mtime\":\"2026-11-24T09:00:00+02:00\",\"kind\":\"symlink\",\"target\":\"../lib\"},\n{\"path\":\"p\",\"size\":0,\"mtime\":\"2026-11-24T09:00:00.5Z\",\"kind\":\"other\"}\n]}\n";
const LOG_LINE: &str = "2026-11-24T10:02:11Z end id=host-4242-20261124T100005Z-3f9a agent=\"my agent\" mode=direct exit=0 duration=6 added=1 modified=2 deleted=0 renamed=0 reason=child_exited detected_via=child_exit";

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Truncate(usize),
    Dup(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let special = prop_oneof![
        any::<u8>(),
        Just(b'"'),
        Just(b'\\'),
        Just(b'{'),
        Just(b'['),
        Just(b':'),
        Just(b'\n'),
        Just(b'-'),
        Just(0xff),
    ];
    prop_oneof![
        (any::<usize>(), special.clone()).prop_map(|(p, b)| Edit::Flip(p, b)),
        (any::<usize>(), special).prop_map(|(p, b)| Edit::Insert(p, b)),
        (any::<usize>(), 1..16usize).prop_map(|(p, n)| Edit::Delete(p, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1..64usize).prop_map(|(p, n)| Edit::Dup(p, n)),
    ]
}

fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = base.to_vec();
    for e in edits {
        let len = v.len().max(1);
        match *e {
            Edit::Flip(p, b) if !v.is_empty() => v[p % len] = b,
            Edit::Insert(p, b) => v.insert(p % (v.len() + 1), b),
            Edit::Delete(p, n) if !v.is_empty() => {
                let s = p % len;
                let end = (s + n).min(v.len());
                v.drain(s..end);
            }
            Edit::Truncate(p) => v.truncate(p % (v.len() + 1)),
            Edit::Dup(p, n) if !v.is_empty() => {
                let s = p % len;
                let end = (s + n).min(v.len());
                let chunk = v[s..end].to_vec();
                v.splice(s..s, chunk);
            }
            _ => {}
        }
    }
    v
}

/// Arbitrary bytes, or `valid` with up to five random edits (none, about one time in
/// six, so that every property's round-trip branch runs in every run).
fn doc(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..300),
        4 => prop::collection::vec(edit(), 0..6).prop_map(move |e| apply(valid.as_bytes(), &e)),
    ]
}

fn with_file<T>(bytes: &[u8], f: impl FnOnce(&Path) -> T) -> T {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().join("f");
    std::fs::write(&p, bytes).expect("write");
    f(&p)
}

#[test]
fn task_yaml_never_panics() {
    property(
        "task_yaml",
        doc(TASK_YAML),
        &["round_trips"],
        |bytes, hits| {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(t) = TaskFile::parse(&text, Path::new("task.yaml")) {
                // Whatever parses can be written and read back.
                hits.hit("round_trips");
                let again = TaskFile::parse(&t.to_yaml().expect("to_yaml"), Path::new("task.yaml"));
                prop_assert!(again.is_ok(), "{:?}", again);
                let _ = t.agent.as_ref().map(|a| (a.argv(), a.label()));
            }
            with_file(&bytes, |p| {
                let _ = TaskFile::load(p);
            });
            Ok(())
        },
    );
}

#[test]
fn config_yaml_never_panics() {
    property(
        "config_yaml",
        doc(CONFIG_YAML),
        &["parsed"],
        |bytes, hits| {
            if ConfigFile::parse(&String::from_utf8_lossy(&bytes), Path::new("config.yaml")).is_ok()
            {
                hits.hit("parsed");
            }
            with_file(&bytes, |p| {
                let _ = ConfigFile::load(p);
            });
            Ok(())
        },
    );
}

#[test]
fn session_json_never_panics() {
    property(
        "session_json",
        doc(LEASE_JSON),
        &["present"],
        |bytes, hits| {
            with_file(&bytes, |p| {
                let file = lease::read(p).expect("read");
                if let LeaseFile::Present(l) = &file {
                    hits.hit("present");
                    let _ = (l.session_mode(), l.is_this_host());
                }
                let _ = liveness::judge_unlocked(file, 60);
            });
            Ok(())
        },
    );
}

#[test]
fn summary_never_panics() {
    property("summary", doc(SUMMARY_JSON), &["present"], |bytes, hits| {
        with_file(&bytes, |p| {
            if let SummaryFile::Present(mut s) = summary::read::<Vec<Entry>>(p).expect("read") {
                hits.hit("present");
                let _ = s.brief();
                let m = s.take_end_manifest();
                prop_assert!(diff::diff(&m, &m).is_empty());
            }
            let _ = summary::read::<Omitted>(p).expect("read");
            Ok(())
        })
    });
}

#[test]
fn manifest_never_panics_and_round_trips() {
    property(
        "manifest",
        doc(MANIFEST_JSON),
        &["round_trips"],
        |bytes, hits| {
            with_file(&bytes, |p| {
                if let Ok(Some(m)) = manifest::read_manifest(p) {
                    hits.hit("round_trips");
                    prop_assert!(diff::diff(&m, &m).is_empty());
                    manifest::write_manifest(p, &m).expect("write");
                    let back = manifest::read_manifest(p)
                        .expect("read back")
                        .expect("present");
                    prop_assert_eq!(back, m);
                }
                Ok(())
            })
        },
    );
}

#[test]
fn log_lines_never_panic() {
    property("log_line", doc(LOG_LINE), &["parsed"], |bytes, hits| {
        if parse_line(&String::from_utf8_lossy(&bytes)).is_some() {
            hits.hit("parsed");
        }
        Ok(())
    });
}

#[test]
fn log_lines_round_trip() {
    let strategy = (
        0i64..4_102_444_800,
        "[a-z][a-z-]{0,12}",
        prop::collection::vec(("[a-z_]{1,12}", any::<String>()), 0..8),
    );
    property(
        "log_round_trip",
        strategy,
        &[],
        |(secs, event, fields), _| {
            let ts = Utc.timestamp_opt(secs, 0).single().expect("ts");
            let refs: Vec<(&str, String)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            let line = format_line(ts, &event, &refs);
            prop_assert_eq!(line.matches('\n').count(), 1, "one line: {:?}", line);
            let e = parse_line(&line).expect("parses");
            prop_assert_eq!(e.event, event);
            let want: Vec<(String, String)> =
                fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(e.fields, want);
            Ok(())
        },
    );
}

#[test]
fn timestamps_never_panic_and_round_trip() {
    let strategy = (
        any::<String>(),
        -62_000_000_000i64..250_000_000_000,
        0u32..1_000_000_000,
    );
    property("timestamps", strategy, &[], |(s, secs, nanos), _| {
        let _ = timefmt::parse(&s);
        let _ = Timestamp::parse(&s);
        let t = Timestamp::from_unix(secs, i64::from(nanos));
        let text = t.to_string();
        prop_assert_eq!(Timestamp::parse(&text), Some(t), "{}", text);
        let dt =
            DateTime::<Utc>::from_timestamp(secs.rem_euclid(4_102_444_800), 0).expect("in range");
        prop_assert_eq!(timefmt::parse(&timefmt::format(&dt)), Some(dt));
        Ok(())
    });
}

/// Titles of every length: arbitrary strings (short), and long runs of words and of any
/// printable characters that reach the slug's byte cap.
fn title() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9 ._-]{40,200}",
        "\\PC{40,160}",
        prop::collection::vec("[a-z0-9]{1,12}", 5..30).prop_map(|w| w.join(" ")),
    ]
}

#[test]
fn slugs_keep_their_rules() {
    let branches = ["non_empty", "at_cap"];
    property(
        "slug",
        (title(), 0u32..50),
        &branches,
        |(title, n), hits| {
            let s = slug::slugify(&title);
            prop_assert!(s.len() <= slug::MAX_SLUG_BYTES);
            prop_assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            );
            prop_assert!(
                !s.starts_with('-') && !s.ends_with('-') && !s.contains("--"),
                "{}",
                s
            );
            prop_assert_eq!(slug::slugify(&s), s.clone(), "idempotent");
            // The cap cut the slug (a trailing `-` may have been trimmed after the cut).
            if s.len() >= slug::MAX_SLUG_BYTES - 1 {
                hits.hit("at_cap");
            }
            if !s.is_empty() {
                hits.hit("non_empty");
                let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
                let name = slug::dir_name(date, &s, 1);
                prop_assert_eq!(slug::slug_from_dir_name(&name), s.as_str());
                let _ = slug::dir_name(date, &s, n);
            }
            let _ = slug::slug_from_dir_name(&title);
            Ok(())
        },
    );
}

#[test]
fn tmux_names_keep_their_rules() {
    let strategy = (
        any::<String>(),
        any::<String>(),
        any::<String>(),
        any::<String>(),
    );
    property("tmux_name", strategy, &[], |(category, slug, ws, v), _| {
        let path = Path::new("/").join(ws.replace('\0', ""));
        let name = tmux::session_name(&category, &slug, &path);
        prop_assert_eq!(
            &name,
            &tmux::session_name(&category, &slug, &path),
            "deterministic"
        );
        let rest = name.strip_prefix("ctask-").expect("prefix");
        prop_assert!(
            rest.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'),
            "{}",
            name
        );
        let (head, hash) = rest.rsplit_once('-').expect("hash");
        prop_assert_eq!(hash.len(), 6);
        prop_assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        prop_assert!(!head.is_empty());
        let _ = tmux::parse_version(&v);
        let _ = Kind::Task.as_str();
        Ok(())
    });
}

#[test]
fn lease_round_trips() {
    let strategy = (
        "[a-z0-9-]{1,40}",
        any::<String>(),
        any::<u32>(),
        1u64..10_000,
    );
    property(
        "lease_round_trip",
        strategy,
        &[],
        |(id, agent, pid, hb), _| {
            let d = tempfile::tempdir().expect("tempdir");
            let p = d.path().join("session.json");
            let mut l = Lease::new(id, &agent, Mode::Persistent, hb);
            l.pid = pid;
            lease::write(&p, &l).expect("write");
            match lease::read(&p).expect("read") {
                LeaseFile::Present(back) => prop_assert_eq!(*back, l),
                other => prop_assert!(false, "{:?}", other),
            }
            Ok(())
        },
    );
}

/// Nesting deep enough to overflow a naive recursive parser: a clear error, no crash.
#[test]
fn deeply_nested_documents_are_errors_not_crashes() {
    let deep_json = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    // YAML's own nesting, which is not JSON: block sequences in compact form.
    let deep_yaml = format!("{}x\n", "- ".repeat(20_000));
    let deep_map = "a:\n".to_string()
        + &(1..600)
            .map(|i| format!("{}b:\n", " ".repeat(i)))
            .collect::<String>();
    for (bytes, what) in [
        (deep_json.as_bytes(), "json"),
        (deep_yaml.as_bytes(), "yaml"),
        (deep_map.as_bytes(), "map"),
    ] {
        with_file(bytes, |p| {
            assert!(
                !matches!(lease::read(p).expect("read"), LeaseFile::Present(_)),
                "{what}"
            );
            let _ = summary::read::<Vec<Entry>>(p).expect("read");
            assert!(manifest::read_manifest(p).is_err(), "{what}");
            assert!(TaskFile::load(p).is_err(), "{what}");
            let _ = ConfigFile::load(p);
        });
    }
}

#[test]
fn valid_seeds_parse() {
    assert!(TaskFile::parse(TASK_YAML, Path::new("t")).is_ok());
    assert!(ConfigFile::parse(CONFIG_YAML, Path::new("c")).is_ok());
    with_file(LEASE_JSON.as_bytes(), |p| {
        assert!(matches!(lease::read(p).unwrap(), LeaseFile::Present(_)));
    });
    with_file(SUMMARY_JSON.as_bytes(), |p| {
        assert!(matches!(
            summary::read::<Vec<Entry>>(p).unwrap(),
            SummaryFile::Present(_)
        ));
    });
    with_file(MANIFEST_JSON.as_bytes(), |p| {
        let m: Manifest = manifest::read_manifest(p).unwrap().unwrap();
        assert_eq!(m.entries.len(), 3);
    });
    assert!(parse_line(LOG_LINE).is_some());
    let _ = Kind::Project;
}
