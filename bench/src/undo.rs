//! `ctask-bench undo`: the cost of snapshots (docs/undo.md), in-process through ctask-core
//! on a generated source-like tree: warm and cold begin+end with snapshots on and off, the
//! store's size against the tree's bytes, an undo of a session that changed 1 % of the
//! files against a warm begin+end, and the peak RSS. `BENCH_UNDO_FILES` sets the tree size
//! (default 5000 files).

use std::path::{Path, PathBuf};
use std::time::Instant;

use ctask_core::session::{Ending, Session, SessionOptions};
use ctask_core::snapshot::{self, UndoOptions};
use ctask_core::workspace::{NewOptions, Overrides, Settings, Workspace};

use crate::trees;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn opts(on: bool) -> SessionOptions {
    SessionOptions {
        agent: "bench".into(),
        heartbeat: false,
        snapshots: snapshot::Settings {
            enabled: on,
            ..snapshot::Settings::default()
        },
        ..SessionOptions::default()
    }
}

/// Seconds of one begin+end in `ws`, running `between` in the middle.
fn session(ws: &Path, on: bool, between: impl FnOnce()) -> Result<f64, String> {
    let t = Instant::now();
    let s = Session::begin(ws, opts(on)).map_err(err)?;
    between();
    s.end(Ending::child_exit(0)).map_err(err)?;
    Ok(t.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn workspace(root: &Path, title: &str, files: usize) -> Result<(PathBuf, u64), String> {
    let env = |k: &str| match k {
        "CTASK_ROOT" => Some(root.display().to_string()),
        "HOME" => Some(root.display().to_string()),
        _ => None,
    };
    let settings = Settings::resolve(&Overrides::default(), &env).map_err(err)?;
    let ws = Workspace::create(
        &settings,
        &NewOptions {
            title: title.into(),
            ..NewOptions::default()
        },
    )
    .map_err(err)?;
    let pool = trees::Pool::new(2000, 2500.0, 1.2, 6000.0, 400_000, 7);
    let w = trees::source_tree(&ws.dir, files, &pool, 11).map_err(err)?;
    Ok((ws.dir, w.bytes))
}

/// Runs the snapshot benchmark and prints its figures.
pub fn run(_args: &[String]) -> Result<(), String> {
    let files = std::env::var("BENCH_UNDO_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let tmp = std::env::temp_dir().join(format!("ctask-bench-undo-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(err)?;
    let result = measure(&tmp, files);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn measure(tmp: &Path, files: usize) -> Result<(), String> {
    let (on_ws, tree_bytes) = workspace(tmp, "on", files)?;
    let (off_ws, _) = workspace(tmp, "off", files)?;
    // Cold: no baseline yet, every file is read (the page cache is warm: this is the cost
    // of hashing, and with snapshots of compressing and writing too).
    let cold_on = session(&on_ws, true, || {})?;
    let cold_off = session(&off_ws, false, || {})?;
    let mut warm_on = Vec::new();
    let mut warm_off = Vec::new();
    for _ in 0..7 {
        warm_off.push(session(&off_ws, false, || {})?);
        warm_on.push(session(&on_ws, true, || {})?);
    }
    let (warm_on, warm_off) = (median(warm_on), median(warm_off));
    let store = snapshot::store_bytes(&on_ws).map_err(err)?;
    // A session that changes 1 % of the files, then its undo.
    let mut paths = Vec::new();
    collect_files(&on_ws.join("src"), &mut paths);
    paths.sort();
    let changed: Vec<&PathBuf> = paths.iter().step_by(100).collect();
    session(&on_ws, true, || {
        for p in &changed {
            let _ = std::fs::write(p, b"changed by the bench session\n");
        }
    })?;
    let t = Instant::now();
    let r = snapshot::undo(&on_ws, &UndoOptions::default(), opts(true)).map_err(err)?;
    let undo_s = t.elapsed().as_secs_f64();
    if !r.applied {
        return Err(format!("the bench undo was refused: {:?}", r.items.first()));
    }
    let rss_kib = peak_rss_kib();
    println!("snapshots ({files} files, {tree_bytes} bytes)");
    println!(
        "  warm begin+end, no change: on {:.1} ms, off {:.1} ms, ratio {:.2} (target <= 1.15)",
        warm_on * 1e3,
        warm_off * 1e3,
        warm_on / warm_off
    );
    println!(
        "  cold begin+end:            on {:.1} ms, off {:.1} ms, ratio {:.2} (target <= 2.5)",
        cold_on * 1e3,
        cold_off * 1e3,
        cold_on / cold_off
    );
    println!(
        "  store / tree bytes:        {store} / {tree_bytes} = {:.2} (target <= 0.6)",
        store as f64 / tree_bytes as f64
    );
    println!(
        "  undo of 1 % ({} files):     {:.1} ms, {:.2}x a warm begin+end (target <= 2)",
        changed.len(),
        undo_s * 1e3,
        undo_s / warm_on
    );
    println!(
        "  peak RSS:                  {:.1} MB (target <= 100)",
        rss_kib as f64 / 1024.0
    );
    Ok(())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => collect_files(&e.path(), out),
            Ok(t) if t.is_file() => out.push(e.path()),
            _ => {}
        }
    }
}

fn peak_rss_kib() -> i64 {
    // SAFETY: a zeroed rusage is a valid value; getrusage only writes it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss
}
