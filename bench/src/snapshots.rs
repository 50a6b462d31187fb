//! Issue 17, the cost of snapshots, through the release `ctask` binary: cold and warm
//! begin+end with snapshots on (the default settings: no `snapshots` key) and off
//! (`snapshots: false` in the run's `config.yaml`), the store's size after a cold capture,
//! and `ctask undo` of a session whose agent edited 1 % of the files, checked to give every
//! file back. Also that agent (`ctask-bench edit DIR LIST TAG`) and the report's table.

use std::collections::HashSet;
use std::fmt::Write as _;

use ctask_core::session::manifest::ContentHasher;
use ctask_core::session::paths::{INDEX, SUMMARY};
use ctask_core::snapshot::history::HISTORY_DIR;
use ctask_core::snapshot::store::OBJECTS_DIR;

use super::*;
use crate::report::t;

/// Issue 17's figures of one tree that are not rows.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Bytes under `.ctask/objects` after each cold begin+end with snapshots on.
    pub store: Vec<u64>,
    /// Files whose content was checked to be given back by the undos, summed over runs.
    pub restored: u64,
    /// Other files checked to be left alone by the undos, summed over runs.
    pub untouched: u64,
}

impl Figures {
    /// The median store size, bytes.
    pub fn store_bytes(&self) -> f64 {
        measure::median(&self.store.iter().map(|&b| b as f64).collect::<Vec<_>>())
    }
}

/// The agent of the undone sessions: appends a line tagged `TAG` to each file of the
/// NUL-separated `LIST` (paths relative to `DIR`).
pub fn edit_child(args: &[String]) -> Res<()> {
    let [dir, list, tag] = args else {
        return Err("usage: ctask-bench edit DIR LIST TAG".into());
    };
    let text = fs::read(list).map_err(|e| format!("{list}: {e}"))?;
    let paths: Vec<&str> = text
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| std::str::from_utf8(p).map_err(|e| format!("{list}: {e}")))
        .collect::<Res<_>>()?;
    let tag: u64 = tag.parse().map_err(|e| format!("TAG {tag}: {e}"))?;
    trees::edit(Path::new(dir), &paths, tag).map_err(|e| format!("{dir}: {e}"))
}

/// Bytes of the regular files under `dir` (0 when it does not exist); symlinks are not
/// followed.
pub fn dir_bytes(dir: &Path) -> Res<u64> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut total = 0;
    for e in rd {
        let e = e.map_err(io_err(dir))?;
        let m = fs::symlink_metadata(e.path()).map_err(io_err(&e.path()))?;
        if m.is_dir() {
            total += dir_bytes(&e.path())?;
        } else if m.is_file() {
            total += m.len();
        }
    }
    Ok(total)
}

/// Removes the store, the history, the last summary and the index of the workspace `dir`,
/// so the next begin has no baseline and hashes (and, with snapshots on, stores) every file.
fn forget_all(dir: &Path) -> Res<()> {
    let ctask = dir.join(".ctask");
    for name in [OBJECTS_DIR, HISTORY_DIR] {
        let p = ctask.join(name);
        match fs::remove_dir_all(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("{}: {e}", p.display()));
            }
            _ => {}
        }
    }
    for name in [SUMMARY, INDEX] {
        let p = ctask.join(name);
        match fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("{}: {e}", p.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// SHA-256 of each file of `paths` (relative to `dir`).
fn hashes(dir: &Path, paths: &[&str]) -> Res<Vec<[u8; 32]>> {
    let mut buf = vec![0u8; ctask_core::session::manifest::BUFFER_SIZE];
    paths
        .iter()
        .map(|p| {
            let path = dir.join(p);
            let mut f = File::open(&path).map_err(io_err(&path))?;
            let mut h = ContentHasher::new();
            loop {
                let n = std::io::Read::read(&mut f, &mut buf).map_err(io_err(&path))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            Ok(h.finish())
        })
        .collect()
}

impl Bench {
    fn figures(&mut self, key: &'static str) -> &mut Figures {
        if let Some(i) = self.snaps.iter().position(|(k, _)| *k == key) {
            return &mut self.snaps[i].1;
        }
        self.snaps.push((key, Figures::default()));
        &mut self.snaps.last_mut().expect("just pushed").1
    }

    /// Cold begin+end (no store, history, last summary or index), snapshots on and off in
    /// turn, each run from the same state; the store's size after each run with them on.
    /// The off runs (`runs`; the on ones: `BENCH_SNAP_COLD_RUNS`, at most `runs`) are
    /// issue 16's cold row (`resume_cold`).
    pub(crate) fn cold_pair(&mut self, i: usize, runs: usize) -> Res<()> {
        let (key, dir) = (self.trees[i].key, self.trees[i].dir.clone());
        let objects = dir.join(".ctask").join(OBJECTS_DIR);
        let (mut on, mut off) = (Series::default(), Series::default());
        let mut store = Vec::new();
        let on_runs = self.cfg.snap_cold_runs.min(runs);
        for r in 0..runs {
            // Which one goes first alternates, so neither always follows the other.
            let order = if r >= on_runs {
                &[false][..]
            } else if r % 2 == 0 {
                &[true, false][..]
            } else {
                &[false, true][..]
            };
            for &snap in order {
                self.set_snapshots(snap)?;
                forget_all(&dir)?;
                let x = self.once(&mut self.resume(&dir), None, Out::Null)?;
                let bytes = dir_bytes(&objects)?;
                if snap {
                    if bytes == 0 {
                        return Err(format!(
                            "a cold begin+end with snapshots on stored nothing in {}",
                            objects.display()
                        ));
                    }
                    store.push(bytes);
                    on.push(x.wall, x.cpu, x.maxrss_kib);
                } else {
                    if bytes != 0 {
                        return Err(format!(
                            "a begin+end with snapshots off stored {bytes} bytes in {}",
                            objects.display()
                        ));
                    }
                    off.push(x.wall, x.cpu, x.maxrss_kib);
                }
            }
        }
        let label = "ctask resume --agent true, cold (no store, history, last summary, index)";
        self.push_row(key, "resume_cold", label, off, Some(false));
        self.push_row(key, "resume_cold_on", label, on, Some(true));
        self.figures(key).store = store;
        Ok(())
    }

    /// Begin+end with no change, snapshots off (the row with them on is `resume_warm`).
    pub(crate) fn warm_off(&mut self, i: usize, runs: usize) -> Res<()> {
        let (key, dir) = (self.trees[i].key, self.trees[i].dir.clone());
        self.set_snapshots(false)?;
        self.once(&mut self.resume(&dir), None, Out::Null)?;
        let s = self.series(runs, |_| Ok(()), || self.resume(&dir), None)?;
        self.add(
            key,
            "resume_warm_off",
            "ctask resume --agent true, no change",
            s,
            true,
        );
        Ok(())
    }

    /// A session whose agent edits 1 % of the files, then `ctask undo` of it, snapshots on;
    /// each run checks that the agent changed every file it was given and that the undo gave
    /// every one back and left a sample of the others alone (by SHA-256).
    pub(crate) fn undo_rows(&mut self, i: usize, runs: usize) -> Res<()> {
        self.set_snapshots(true)?;
        let (key, dir) = (self.trees[i].key, self.trees[i].dir.clone());
        // Not the workspace's own files at the top (task.yaml must stay YAML).
        let paths: Vec<String> = self.trees[i]
            .paths
            .iter()
            .filter(|p| p.contains('/'))
            .cloned()
            .collect();
        let k = (self.trees[i].paths.len() / 100).max(1).min(paths.len());
        let list = self.tmp.join(format!("{key}.undo-list"));
        let mut rng = trees::Rng::new(17);
        let (mut session, mut undo) = (Series::default(), Series::default());
        let (mut restored, mut untouched) = (0, 0);
        // The store is complete after this one, whatever the runs before did.
        self.once(&mut self.resume(&dir), None, Out::Null)?;
        for r in 0..runs {
            let mut chosen = HashSet::new();
            while chosen.len() < k {
                chosen.insert(rng.below(paths.len() as u64) as usize);
            }
            let pick: Vec<&str> = chosen.iter().map(|&j| paths[j].as_str()).collect();
            let step = (paths.len() / 64).max(1);
            let others: Vec<&str> = (r % step..paths.len())
                .step_by(step)
                .filter(|j| !chosen.contains(j))
                .map(|j| paths[j].as_str())
                .collect();
            let before = hashes(&dir, &pick)?;
            let before_others = hashes(&dir, &others)?;
            let mut nul = Vec::new();
            for p in &pick {
                nul.extend_from_slice(p.as_bytes());
                nul.push(0);
            }
            fs::write(&list, nul).map_err(io_err(&list))?;
            let mut c = self.cmd(&self.ctask);
            c.arg("resume")
                .arg(&dir)
                .arg("--agent")
                .arg(&self.me)
                .arg("--")
                .arg("edit")
                .arg(&dir)
                .arg(&list)
                .arg(r.to_string());
            let x = self.once(&mut c, None, Out::Null)?;
            session.push(x.wall, x.cpu, x.maxrss_kib);
            for (p, (a, b)) in pick.iter().zip(before.iter().zip(hashes(&dir, &pick)?)) {
                if *a == b {
                    return Err(format!(
                        "the session's agent did not change {p} in tree {key}"
                    ));
                }
            }
            let mut c = self.cmd(&self.ctask);
            c.arg("undo").arg(&dir);
            let x = self.once(&mut c, None, Out::Null)?;
            undo.push(x.wall, x.cpu, x.maxrss_kib);
            for (p, (a, b)) in pick.iter().zip(before.iter().zip(hashes(&dir, &pick)?)) {
                if *a != b {
                    return Err(format!("ctask undo did not give back {p} in tree {key}"));
                }
            }
            for (p, (a, b)) in others
                .iter()
                .zip(before_others.iter().zip(hashes(&dir, &others)?))
            {
                if *a != b {
                    return Err(format!("ctask undo changed {p} in tree {key}"));
                }
            }
            restored += pick.len() as u64;
            untouched += others.len() as u64;
        }
        fs::remove_file(&list).map_err(io_err(&list))?;
        self.add(
            key,
            "session_edit",
            "ctask resume, its agent edits 1 % of the files",
            session,
            true,
        );
        self.add(key, "undo", "ctask undo of that session", undo, true);
        let f = self.figures(key);
        f.restored = restored;
        f.untouched = untouched;
        Ok(())
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

/// The "Targets (issue 17)" section.
pub fn report(b: &Bench, o: &mut String) {
    if b.snaps.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n## Targets (issue 17)\n");
    let _ = writeln!(
        o,
        "The cost of snapshots, through the release `ctask` binary, on wall time (the CPU-time \
         ratio in brackets). *On* is the default settings (no `snapshots` key); *off* is \
         `snapshots: false` in the run's `config.yaml`, switched between measurements (the \
         *snapshots* column of the table of all measurements says which rows ran with which). \
         Cold begin+end removes the store (`.ctask/objects`), the history, the last summary and \
         the index before each run, so begin hashes (and, on, stores) every file; on and off \
         runs take turns ({} runs on, the median; the off runs go on to {}). The store's size is the bytes of the files under `.ctask/objects` \
         after such a run (median), against the tree's bytes; a store keeps one copy of each \
         distinct content, so the ratio depends on how many the tree has (given; trees a and b \
         draw theirs from a pool). The undo row: a session whose agent appends a line to 1 % of \
         the files (a new random choice each run), then `ctask undo`, timed alone, against the \
         begin+end with no change (snapshots on).\n",
        b.config().snap_cold_runs.min(b.config().runs),
        b.config().runs
    );
    let checked: Vec<String> = b
        .snaps
        .iter()
        .map(|(k, f)| {
            format!(
                "{} files given back and {} others left alone on tree {}",
                f.restored,
                f.untouched,
                tag(k)
            )
        })
        .collect();
    let _ = writeln!(
        o,
        "Every undo was checked by SHA-256 of the files before the session and after the undo: \
         {} (the run stops at the first mismatch).\n",
        checked.join(", ")
    );
    let _ = writeln!(
        o,
        "| target | tree | measured | value | must | must met |\n|---|---|---|---|---|---|"
    );
    for (key, f) in &b.snaps {
        let Some(tr) = b.tree(key) else { continue };
        let tg = tag(key);
        let pair = |n: &str, d: &str| -> Option<(f64, String)> {
            let (n, d) = (&b.row(key, n)?.series, &b.row(key, d)?.series);
            Some((
                n.wall() / d.wall(),
                format!(
                    "{} / {} (CPU {:.2}×)",
                    t(n.wall()),
                    t(d.wall()),
                    n.cpu() / d.cpu()
                ),
            ))
        };
        for (n, d, what, must) in [
            (
                "resume_warm",
                "resume_warm_off",
                "warm begin+end, no change, snapshots on / off",
                1.15,
            ),
            (
                "resume_cold_on",
                "resume_cold",
                "cold begin+end, snapshots on / off",
                2.5,
            ),
            (
                "undo",
                "resume_warm",
                "`ctask undo` of a session that changed 1 % / warm begin+end (on)",
                2.0,
            ),
        ] {
            if let Some((v, m)) = pair(n, d) {
                let _ = writeln!(
                    o,
                    "| {what} | {tg} | {m} | {v:.2}× | ≤ {must}× | {} |",
                    verdict(v <= must)
                );
            }
        }
        if !f.store.is_empty() {
            let v = f.store_bytes() / tr.bytes as f64;
            let _ = writeln!(
                o,
                "| store size after the cold capture / the tree's bytes | {tg} | {:.1} MB / {:.1} \
                 MB ({} distinct contents in {} files) | {v:.3}× | ≤ 0.6× (judged on a) | {} |",
                f.store_bytes() / 1e6,
                tr.bytes as f64 / 1e6,
                tr.distinct,
                tr.files,
                if *key == "a" {
                    verdict(v <= 0.6)
                } else {
                    "shown"
                }
            );
        }
        let rss = b
            .rows
            .iter()
            .filter(|r| r.tree == *key && r.snapshots == Some(true))
            .map(|r| (r.series.rss.iter().copied().max().unwrap_or(0), &r.label))
            .max();
        if let Some((kib, label)) = rss {
            let mbytes = kib as f64 * 1024.0 / 1e6;
            let _ = writeln!(
                o,
                "| peak RSS of any ctask process, snapshots on | {tg} | largest: {label} | {mbytes:.1} \
                 MB | ≤ 100 MB | {} |",
                verdict(mbytes <= 100.0)
            );
        }
    }
}

/// The tree's name in the report.
fn tag(key: &str) -> &str {
    if key == "real" { "r" } else { key }
}
