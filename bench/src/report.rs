//! The report: machine description, results, ratios against the targets of issue 6, and
//! the growth curve; as Markdown for `docs/performance.md` and for the terminal.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::{Bench, available_cores};

/// Hand-written notes below this line in `docs/performance.md` survive a new run.
pub const NOTES_MARKER: &str =
    "<!-- Everything below this line is kept when make bench rewrites the file. -->";

fn sh(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "unknown".into())
}

fn cpuinfo(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Whether the CPU advertises the SHA extensions (`sha_ni`).
pub fn sha_ni() -> bool {
    cpuinfo("flags").is_some_and(|f| f.split_whitespace().any(|x| x == "sha_ni"))
}

fn sha256sum_impl() -> String {
    let path = sh("sh", &["-c", "command -v sha256sum"]);
    let libs = Command::new("ldd")
        .arg(&path)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if libs.contains("libcrypto") {
        "OpenSSL's libcrypto (linked)".into()
    } else {
        "coreutils' own portable C code (not linked to libcrypto)".into()
    }
}

fn machine(b: &Bench) -> Vec<(&'static str, String)> {
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib / 1048576.0)
        });
    let base = b.config().tmp_base.display().to_string();
    let fs = sh("findmnt", &["-n", "-o", "FSTYPE,OPTIONS", "-T", &base]);
    let ctask = sh(&b.ctask.display().to_string(), &["--version"]);
    vec![
        (
            "CPU",
            cpuinfo("model name").unwrap_or_else(|| "unknown".into()),
        ),
        (
            "cores (available to the process)",
            available_cores().to_string(),
        ),
        (
            "SHA extensions (`sha_ni` in /proc/cpuinfo)",
            if sha_ni() { "yes" } else { "no" }.into(),
        ),
        ("memory", mem),
        ("filesystem of the trees", fs),
        ("kernel", sh("uname", &["-sr"])),
        ("git", sh("git", &["--version"])),
        ("sha256sum", sh("sha256sum", &["--version"])),
        ("sha256sum's SHA-256", sha256sum_impl()),
        ("ctask", ctask),
        ("rustc", sh("rustc", &["--version"])),
    ]
}

fn t(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn mb(bytes: f64) -> String {
    format!("{:.0} MB", bytes / 1e6)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

/// The whole report as Markdown.
pub fn markdown(b: &Bench) -> String {
    let mut o = String::new();
    let cfg = b.config();
    let _ = writeln!(o, "# Performance\n");
    let _ = writeln!(
        o,
        "Written by `make bench` (`bench/run.sh`, harness in `bench/`) on {} UTC; the run took {:.0} s. \
         Every figure above the hand-written notes at the end comes from that run (the notes \
         give the date of their own figures). Timed rows are the median of {} runs (the 10-file \
         workspace: {}; rows with the page cache dropped: {}); CPU is user + system time of the process and what it waited for; peak RSS \
         is the largest `ru_maxrss` of the runs (from `wait4` in a small launcher process; `true` \
         measures {:.1} MiB that way).{}",
        b.started.format("%Y-%m-%d %H:%M"),
        b.elapsed,
        cfg.runs,
        (cfg.runs * 3).max(10),
        cfg.cold_runs.min(cfg.runs),
        b.rss_floor_kib as f64 / 1024.0,
        if cfg.scale == 1.0 {
            String::new()
        } else {
            format!(" **Scaled run: BENCH_SCALE={}.**", cfg.scale)
        }
    );
    let _ = writeln!(o, "\n## Machine\n\n| | |\n|---|---|");
    for (k, v) in machine(b) {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    let loads: Vec<String> = b.loads.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(
        o,
        "| load average (1/5/15 min) when each part began | {} |",
        loads.join("; ")
    );

    let cores = available_cores() as f64;
    let _ = writeln!(o, "\n## SHA-256 limit\n");
    let openssl = if b.openssl_rate > 0.0 {
        format!(
            ", and {} MB/s with `openssl speed -evp sha256` (256 KiB blocks; OpenSSL's \
             hand-written assembly)",
            (b.openssl_rate / 1e6).round()
        )
    } else {
        String::new()
    };
    // Which of the hashers measured here was the fastest, from the rates themselves.
    let fastest = [
        ("the `sha2` crate", b.sha2_rate),
        ("`sha256sum`", b.sha256sum_rate),
        ("OpenSSL", b.openssl_rate),
    ]
    .into_iter()
    .filter(|(_, r)| *r > 0.0)
    .max_by(|a, b| a.1.total_cmp(&b.1))
    .map_or(String::new(), |(name, _)| {
        format!(" Of the hashers measured, {name} was the fastest.")
    });
    let _ = writeln!(
        o,
        "One core hashes {} MB/s with the `sha2` crate (what ctask uses; it picks the SHA \
         extensions at run time when the CPU has them), {} MB/s with `sha256sum` (one 256 MiB \
         file in the page cache){openssl}; rates are per second of CPU time, so other work on \
         the machine does not lower them.{fastest} The SHA-256 limit of a tree is its bytes ÷ \
         (one core's `sha2` rate × {} cores){}.\n",
        (b.sha2_rate / 1e6).round(),
        (b.sha256sum_rate / 1e6).round(),
        cores,
        if b.openssl_rate > 0.0 {
            "; the \"OpenSSL limit\" uses OpenSSL's rate instead"
        } else {
            ""
        }
    );
    let limit = |bytes: u64| bytes as f64 / (b.sha2_rate * cores);

    let ossl = |bytes: u64| bytes as f64 / (b.openssl_rate * cores);
    let _ = writeln!(
        o,
        "## Trees\n\n| tree | regular files | bytes | directories with files | SHA-256 limit | OpenSSL limit |\n|---|---|---|---|---|---|"
    );
    for tr in &b.trees {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            tr.label,
            tr.files,
            mb(tr.bytes as f64),
            tr.dirs,
            t(limit(tr.bytes)),
            if b.openssl_rate > 0.0 {
                t(ossl(tr.bytes))
            } else {
                "–".into()
            }
        );
    }
    let _ = writeln!(
        o,
        "\nAll trees are ctask workspaces committed to git (so `git status` has an index); a \
         workspace's own files (`notes.md`, …) are part of the counts. Files draw their content \
         from a pool of generated source text (log-normal sizes, median ≈ 4 KB before scaling \
         to a mean of 10 KB; `node_modules`: median ≈ 0.5 KB), so git stores few distinct blobs. \
         Captures are library calls (`manifest::capture`) timed inside a child process, a warm \
         one from before it reads its cache (the previous manifest); commands are the release \
         `ctask` binary. Every cold capture is checked to have hashed every file, and every \
         run with the page cache dropped to start with none of a sample of the tree's files \
         cached."
    );

    targets(b, &mut o, limit);
    growth(b, &mut o);

    let _ = writeln!(o, "\n## All measurements\n");
    let _ = writeln!(
        o,
        "| tree | measure | wall (median) | wall (min – max) | CPU (median) | peak RSS |\n|---|---|---|---|---|---|"
    );
    for r in &b.rows {
        let (lo, hi) = r.series.wall_range();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} – {} | {} | {:.1} MiB |",
            r.tree,
            r.label,
            t(r.series.wall()),
            t(lo),
            t(hi),
            t(r.series.cpu()),
            r.series.rss_mib()
        );
    }
    let _ = writeln!(
        o,
        "\n\"cold\" capture means no hash cache (no previous manifest); unless a row says the page \
         cache was dropped, file data is in the page cache. `ctask resume … cold` removes the last \
         session's summary before each run, so begin hashes every file and end uses the start \
         manifest as its cache. \"1% of files edited\" appends a line to 1% of the files (a new \
         random choice each run) just before `ctask resume`."
    );
    if !b.dropped {
        let _ = writeln!(
            o,
            "\nThe page cache could not be dropped (not root, or BENCH_DROP_CACHES=0): no disk-cold rows."
        );
    }
    o
}

fn targets(b: &Bench, o: &mut String, limit: impl Fn(u64) -> f64) {
    let _ = writeln!(o, "\n## Targets (issue 6)\n");
    let _ = writeln!(
        o,
        "| measure | measured (wall) | ratio (wall) | ratio (CPU) | target | met |\n|---|---|---|---|---|---|"
    );
    let mut ratio = |name: &str, num: (&str, &str), den: (&str, &str), max: f64| {
        let (Some(n), Some(d)) = (b.row(num.0, num.1), b.row(den.0, den.1)) else {
            return;
        };
        let (n, d) = (&n.series, &d.series);
        let rw = n.wall() / d.wall();
        let rc = n.cpu() / d.cpu();
        let _ = writeln!(
            o,
            "| {name} | {} / {} | {rw:.2}× | {rc:.2}× | ≤ {max}× | {} |",
            t(n.wall()),
            t(d.wall()),
            verdict(rw <= max)
        );
    };
    let xargs = format!("`sha256sum` with `xargs -P{}`", available_cores());
    ratio(
        "`ctask diff --json` (warm) / `git status --porcelain`, tree a",
        ("a", "diff_warm"),
        ("a", "git_status"),
        1.3,
    );
    ratio(
        "begin+end (`ctask resume`), no change / `git status --porcelain`, tree a",
        ("a", "resume_warm"),
        ("a", "git_status"),
        3.0,
    );
    ratio(
        &format!("cold begin+end / {xargs}, tree a"),
        ("a", "resume_cold"),
        ("a", "sha_xargs"),
        0.5,
    );
    ratio(
        &format!("cold begin+end / {xargs}, page cache dropped for both, tree a"),
        ("a", "disk_resume_cold"),
        ("a", "disk_sha_xargs"),
        0.5,
    );
    ratio(
        "`ctask diff --json` (warm) / `git status --porcelain`, tree b",
        ("b", "diff_warm"),
        ("b", "git_status"),
        1.3,
    );
    ratio(
        "begin+end, no change / `git status --porcelain`, tree b",
        ("b", "resume_warm"),
        ("b", "git_status"),
        3.0,
    );
    ratio(
        &format!("cold begin+end / {xargs}, tree b"),
        ("b", "resume_cold"),
        ("b", "sha_xargs"),
        0.5,
    );
    if let Some(a) = b.tree("a") {
        let lim = limit(a.bytes);
        for (key, what) in [
            ("cold_capture", "cold capture"),
            ("resume_cold", "cold begin+end"),
        ] {
            if let Some(r) = b.row("a", key) {
                let _ = writeln!(
                    o,
                    "| {what} / SHA-256 limit, tree a | {} / {} | {:.2}× | | (report) | |",
                    t(r.series.wall()),
                    t(lim),
                    r.series.wall() / lim
                );
            }
        }
    }
    let rss = b
        .rows
        .iter()
        .filter(|r| r.tree == "a" && r.ctask)
        .map(|r| (r.series.rss.iter().copied().max().unwrap_or(0), &r.label))
        .max();
    if let Some((kib, label)) = rss {
        let mbytes = kib as f64 * 1024.0 / 1e6;
        let _ = writeln!(
            o,
            "| peak RSS of every measured ctask run, tree a (largest: {label}) | {mbytes:.1} MB | | | ≤ 150 MB | {} |",
            verdict(mbytes <= 150.0)
        );
    }
    for (key, what) in [
        (
            "resume_warm",
            "begin+end of a 10-file workspace, whole `ctask` process",
        ),
        ("resume_cold", "the same, cold (no last session)"),
    ] {
        if let Some(r) = b.row("tiny", key) {
            let w = r.series.wall();
            let _ = writeln!(
                o,
                "| {what} | {} (CPU {}) | | | ≤ 15 ms | {} |",
                t(w),
                t(r.series.cpu()),
                verdict(w <= 0.015)
            );
        }
    }
}

fn growth(b: &Bench, o: &mut String) {
    let keys = ["c10k", "c30k", "a"];
    let trees: Vec<_> = keys.iter().filter_map(|k| b.tree(k)).collect();
    if trees.len() != 3 {
        return;
    }
    let _ = writeln!(o, "\n## Growth: 10k → 30k → 100k files\n");
    let _ = writeln!(
        o,
        "Cost per file (µs, median wall and CPU), and its ratio to the largest tree's. Target: \
         linear, i.e. every ratio within 0.75 – 1.25 (judged on CPU time, which other work on the \
         machine disturbs less than wall time).\n"
    );
    let _ = writeln!(
        o,
        "| measure | {} | met |\n|---|---|---|---|---|",
        trees
            .iter()
            .map(|tr| format!("{} files ({})", tr.files, mb(tr.bytes as f64)))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for (key, what) in [
        ("cold_capture", "capture, cold"),
        ("warm_capture", "capture, warm"),
        ("resume_cold", "begin+end, cold"),
        ("resume_warm", "begin+end, no change"),
    ] {
        let per: Vec<Option<(f64, f64)>> = trees
            .iter()
            .map(|tr| {
                b.row(tr.key, key).map(|r| {
                    (
                        r.series.wall() / tr.files as f64 * 1e6,
                        r.series.cpu() / tr.files as f64 * 1e6,
                    )
                })
            })
            .collect();
        let Some(Some(last)) = per.last().copied() else {
            continue;
        };
        let mut ok = true;
        let cells: Vec<String> = per
            .iter()
            .map(|p| match p {
                Some((w, c)) => {
                    let rc = c / last.1;
                    ok &= (0.75..=1.25).contains(&rc);
                    format!("{w:.2} wall, {c:.2} CPU ({rc:.2}×)")
                }
                None => "–".into(),
            })
            .collect();
        let _ = writeln!(o, "| {what} | {} | {} |", cells.join(" | "), verdict(ok));
    }
}

/// What goes to the terminal: the report without the machine details.
pub fn console(b: &Bench) -> String {
    let text = markdown(b);
    match text.find("\n## Targets") {
        Some(i) => text[i + 1..].to_string(),
        None => text,
    }
}

/// Writes `text` to `path`, keeping hand-written notes below [`NOTES_MARKER`].
pub fn write_doc(path: &Path, text: &str) -> Result<(), String> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = text.to_string();
    out.push('\n');
    out.push_str(NOTES_MARKER);
    out.push('\n');
    if let Some(i) = old.find(NOTES_MARKER) {
        out.push_str(old[i + NOTES_MARKER.len()..].trim_start_matches('\n'));
    }
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))
}
