//! The cold-capture profile: a capture with ctask-core's `profile` counters (per-phase
//! time on each thread), then the manifest written and read back as JSON, timed. The child
//! (`ctask-bench profile DIR`) exists only in a build with the `profile` feature, which
//! `bench/run.sh` makes as a separate binary so the other figures carry no counters.

use crate::{Bench, Res, Row, io_err, measure};

/// What one profiled run printed.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Capture wall time, seconds.
    pub wall: f64,
    /// Capture CPU time of the process (all threads), seconds.
    pub cpu: f64,
    /// Per phase: (name, seconds summed over threads, calls).
    pub phases: Vec<(String, f64, u64)>,
    /// Writing the manifest (`write_manifest`: render, write, fsync, rename), seconds.
    pub write: f64,
    /// Reading it back (`read_manifest`: read and parse), seconds.
    pub read: f64,
    /// Size of the manifest file, bytes.
    pub manifest_bytes: u64,
    /// Writing it as a binary start manifest (`write_start`), seconds, and its size.
    pub bin_write: (f64, u64),
    /// Reading the binary one back (`read_manifest`), seconds.
    pub bin_read: f64,
}

impl Profile {
    /// Seconds of the phase `name` (0 when absent).
    pub fn phase(&self, name: &str) -> f64 {
        self.phases
            .iter()
            .find(|x| x.0 == name)
            .map_or(0.0, |x| x.1)
    }

    /// Seconds of the steps timed inside the walk threads.
    pub fn nested(&self) -> f64 {
        self.phases
            .iter()
            .filter(|x| x.0 != "Walk" && x.0 != "Merge")
            .map(|x| x.1)
            .sum()
    }

    /// The walk threads' time plus the merge after them.
    pub fn thread_time(&self) -> f64 {
        self.phase("Walk") + self.phase("Merge")
    }
}

/// Parses the child's `key value…` lines.
fn parse(text: &str) -> Res<Profile> {
    let mut p = Profile::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> Res<f64> {
            f.get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("profile child printed {line:?}"))
        };
        match f.first().copied() {
            Some("capture") => (p.wall, p.cpu) = (num(1)?, num(2)?),
            Some("phase") => p.phases.push((
                f.get(1).unwrap_or(&"?").to_string(),
                num(2)? / 1e9,
                num(3)? as u64,
            )),
            Some("write") => (p.write, p.manifest_bytes) = (num(1)?, num(2)? as u64),
            Some("read") => p.read = num(1)?,
            Some("binwrite") => p.bin_write = (num(1)?, num(2)? as u64),
            Some("binread") => p.bin_read = num(1)?,
            _ => return Err(format!("profile child printed {line:?}")),
        }
    }
    if p.phases.is_empty() || p.wall <= 0.0 {
        return Err(format!("profile child printed {text:?}"));
    }
    Ok(p)
}

/// The child: one cold capture of `DIR` with the counters on, then the manifest written
/// to and read from `OUT` as JSON, and next to it as a binary start manifest.
#[cfg(feature = "profile")]
pub fn child(args: &[String]) -> Res<()> {
    use ctask_core::session::CaptureOptions;
    use ctask_core::session::manifest::{self, profile};
    use std::path::Path;
    use std::time::Instant;
    let [dir, out] = args else {
        return Err("usage: ctask-bench-profile profile DIR OUT".into());
    };
    let _ = profile::take();
    let cpu0 = measure::self_cpu();
    let t0 = Instant::now();
    let c = manifest::capture(Path::new(dir), &CaptureOptions::default(), None)
        .map_err(|e| e.to_string())?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = measure::self_cpu() - cpu0;
    let phases = profile::take();
    println!("capture {wall} {cpu}");
    for p in phases {
        println!("phase {:?} {} {}", p.phase, p.nanos, p.calls);
    }
    let out = Path::new(out);
    let t1 = Instant::now();
    manifest::write_manifest(out, &c.manifest).map_err(|e| e.to_string())?;
    let write = t1.elapsed().as_secs_f64();
    let size = std::fs::metadata(out).map_err(io_err(out))?.len();
    let t2 = Instant::now();
    let back = manifest::read_manifest(out).map_err(|e| e.to_string())?;
    let read = t2.elapsed().as_secs_f64();
    if back.map(|m| m.entries.len()) != Some(c.manifest.entries.len()) {
        return Err("the manifest read back differs".into());
    }
    println!("write {write} {size}");
    println!("read {read}");
    let bin = out.with_extension("bin");
    let t3 = Instant::now();
    manifest::write_start(&bin, "bench", &c.manifest).map_err(|e| e.to_string())?;
    let bin_write = t3.elapsed().as_secs_f64();
    let bin_size = std::fs::metadata(&bin).map_err(io_err(&bin))?.len();
    let t4 = Instant::now();
    let back = manifest::read_manifest(&bin).map_err(|e| e.to_string())?;
    let bin_read = t4.elapsed().as_secs_f64();
    if back.map(|m| m.entries.len()) != Some(c.manifest.entries.len()) {
        return Err("the binary manifest read back differs".into());
    }
    std::fs::remove_file(&bin).map_err(io_err(&bin))?;
    println!("binwrite {bin_write} {bin_size}");
    println!("binread {bin_read}");
    Ok(())
}

/// Without the `profile` feature there are no counters to read.
#[cfg(not(feature = "profile"))]
pub fn child(_args: &[String]) -> Res<()> {
    Err("this ctask-bench was built without the profile feature".into())
}

impl Bench {
    /// Profiles a cold capture of tree `i` (`runs` runs; the run of median wall time is
    /// kept), when a profiling binary was given.
    pub(crate) fn profile_tree(&mut self, i: usize, runs: usize) -> Res<()> {
        let Some(bin) = self.profile_bin.clone() else {
            return Ok(());
        };
        let (key, dir) = (self.trees[i].key, self.trees[i].dir.clone());
        let out = self.tmp.join(format!("{key}.profile.json"));
        let mut all = Vec::new();
        for _ in 0..runs.max(1) {
            let mut c = self.cmd(&bin);
            c.arg("profile").arg(&dir).arg(&out);
            let s = self.once(&mut c, None, measure::Out::Capture)?;
            all.push(parse(&s.stdout)?);
        }
        std::fs::remove_file(&out).map_err(io_err(&out))?;
        all.sort_by(|a, b| a.wall.total_cmp(&b.wall));
        let p = all.swap_remove(all.len() / 2);
        crate::say(&format!(
            "  profiled cold capture: {:.3} s wall, {:.3} s CPU",
            p.wall, p.cpu
        ));
        self.profiles.push((key, p));
        Ok(())
    }

    /// The profile of tree `key`.
    pub fn profile(&self, key: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, p)| p)
    }
}

/// The plain cold capture row of the same tree (to show the counters' own cost).
pub fn plain_cold<'b>(b: &'b Bench, key: &str) -> Option<&'b Row> {
    b.row(key, "cold_capture")
}
