//! The measurement suites of one tree: manifest captures (cold, warm), the reference tools
//! (`git status`, `sha256sum`), whole commands (begin+end, diff), an edited tree, captures
//! from a cold page cache, and the SHA-256 rates.

use super::*;

impl Bench {
    /// One library capture in a child process: (in-process wall, in-process CPU, RSS).
    /// Without a cache it must have hashed all `files` regular files (a cold capture); with
    /// one, none.
    pub(crate) fn capture_once(
        &self,
        dir: &Path,
        cache: Option<&Path>,
        files: u64,
    ) -> Res<(f64, f64, u64)> {
        let mut c = self.cmd(&self.me);
        c.arg("capture").arg(dir);
        if let Some(m) = cache {
            c.arg("--cache").arg(m);
        }
        let s = self.once(&mut c, None, Out::Capture)?;
        let f: Vec<f64> = s
            .stdout
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        if f.len() != 5 || f.iter().any(|x| x.is_nan()) {
            return Err(format!("capture child printed {:?}", s.stdout));
        }
        let (hashed, cached) = (f[2], f[3]);
        if cache.is_some() && hashed > 0.0 {
            return Err(format!(
                "warm capture hashed {hashed} files (cached {cached})"
            ));
        }
        if cache.is_none() && (hashed != files as f64 || cached > 0.0) {
            return Err(format!(
                "cold capture of {}: hashed {hashed} of {files} files (cached {cached})",
                dir.display()
            ));
        }
        Ok((f[0], f[1], s.maxrss_kib))
    }

    pub(crate) fn captures(&mut self, i: usize, runs: usize) -> Res<()> {
        let (key, dir, m, files) = {
            let t = &self.trees[i];
            (t.key, t.dir.clone(), t.manifest.clone(), t.files)
        };
        self.capture_once(&dir, None, files)?;
        let mut cold = Series::default();
        for _ in 0..runs {
            let (w, c, r) = self.capture_once(&dir, None, files)?;
            cold.push(w, c, r);
        }
        self.add(key, "cold_capture", "capture, cold (no cache)", cold, false);
        let mut warm = Series::default();
        for _ in 0..runs {
            let (w, c, r) = self.capture_once(&dir, Some(&m), files)?;
            warm.push(w, c, r);
        }
        self.add(
            key,
            "warm_capture",
            "capture, warm (hash cache)",
            warm,
            false,
        );
        Ok(())
    }

    pub(crate) fn git_status(&self, dir: &Path) -> Command {
        let mut c = self.cmd("git");
        c.current_dir(dir).args(["status", "--porcelain"]);
        c
    }

    pub(crate) fn xargs_sha(&self, dir: &Path, files: u64) -> Command {
        let procs = available_cores();
        // Batches small enough that every core gets work, large enough to amortise exec.
        let per = (files as usize / (procs * 8)).clamp(16, 2000);
        let mut c = self.cmd("xargs");
        c.current_dir(dir).args([
            "-0",
            "-P",
            &procs.to_string(),
            "-n",
            &per.to_string(),
            "sha256sum",
            "--",
        ]);
        c
    }

    pub(crate) fn reference_tools(&mut self, i: usize, runs: usize) -> Res<()> {
        let (key, dir, list, files) = {
            let t = &self.trees[i];
            (t.key, t.dir.clone(), t.list.clone(), t.files)
        };
        self.once(&mut self.git_status(&dir), None, Out::Null)?;
        let s = self.series(runs, |_| Ok(()), || self.git_status(&dir), None)?;
        self.add(key, "git_status", "git status --porcelain", s, false);
        let one = || {
            let mut c = self.cmd("xargs");
            c.current_dir(&dir).args(["-0", "sha256sum", "--"]);
            c
        };
        let s = self.series(runs, |_| Ok(()), one, Some(&list))?;
        self.add(
            key,
            "sha_one",
            "sha256sum, one process at a time (xargs without -P)",
            s,
            false,
        );
        let s = self.series(
            runs,
            |_| Ok(()),
            || self.xargs_sha(&dir, files),
            Some(&list),
        )?;
        let label = format!("sha256sum, xargs -P{}", available_cores());
        self.add(key, "sha_xargs", &label, s, false);
        Ok(())
    }

    pub(crate) fn resume(&self, dir: &Path) -> Command {
        let mut c = self.cmd(&self.ctask);
        c.arg("resume").arg(dir).args(["--agent", "true"]);
        c
    }

    /// Begin+end cold (with snapshots on or off as `cold` says; `None`: no cold row) and
    /// with no change, and with `with_diff` a warm `ctask diff`; the warm rows with snapshots
    /// on (the default settings).
    pub(crate) fn commands(
        &mut self,
        i: usize,
        runs: usize,
        with_diff: bool,
        cold: Option<bool>,
    ) -> Res<()> {
        let (key, dir) = (self.trees[i].key, self.trees[i].dir.clone());
        if let Some(on) = cold {
            self.set_snapshots(on)?;
            let summary = dir.join(".ctask/last-session-summary.json");
            let forget = |_| match fs::remove_file(&summary) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("{e}")),
                _ => Ok(()),
            };
            let s = self.series(runs, forget, || self.resume(&dir), None)?;
            self.add(
                key,
                "resume_cold",
                "ctask resume --agent true, cold (no last session)",
                s,
                true,
            );
        }
        self.set_snapshots(true)?;
        // Also the run that fills the store when the runs before had snapshots off.
        self.once(&mut self.resume(&dir), None, Out::Null)?;
        let s = self.series(runs, |_| Ok(()), || self.resume(&dir), None)?;
        self.add(
            key,
            "resume_warm",
            "ctask resume --agent true, no change",
            s,
            true,
        );
        if with_diff {
            let diff = || {
                let mut c = self.cmd(&self.ctask);
                c.arg("diff").arg(&dir).arg("--json");
                c
            };
            self.once(&mut diff(), None, Out::Null)?;
            let s = self.series(runs, |_| Ok(()), diff, None)?;
            self.add(key, "diff_warm", "ctask diff --json, no change", s, true);
        }
        Ok(())
    }

    /// Begin+end after 1% of the files were edited just before it (outside a session).
    pub(crate) fn edited(&mut self, i: usize, runs: usize) -> Res<()> {
        let (key, dir) = (self.trees[i].key, self.trees[i].dir.clone());
        let paths = self.trees[i].paths.clone();
        let k = (paths.len() / 100).max(1);
        let mut rng = trees::Rng::new(99);
        let edit = |r: usize| {
            let pick: Vec<&str> = (0..k)
                .map(|_| paths[rng.below(paths.len() as u64) as usize].as_str())
                .collect();
            trees::edit(&dir, &pick, r as u64).map_err(|e| e.to_string())
        };
        self.set_snapshots(true)?;
        self.once(&mut self.resume(&dir), None, Out::Null)?;
        let s = self.series(runs, edit, || self.resume(&dir), None)?;
        self.add(
            key,
            "resume_edit",
            "ctask resume --agent true, 1% of files edited before it",
            s,
            true,
        );
        Ok(())
    }

    /// The same measures with the page cache (and dentry/inode caches) dropped before each run.
    pub(crate) fn disk_cold(&mut self, i: usize, runs: usize) -> Res<()> {
        let (key, dir, list, files) = {
            let t = &self.trees[i];
            (t.key, t.dir.clone(), t.list.clone(), t.files)
        };
        if !drop_caches() {
            say("cannot drop the page cache; skipping the disk-cold rows");
            return Ok(());
        }
        self.dropped = true;
        // The cold row of issue 16 runs with snapshots off.
        self.set_snapshots(false)?;
        let runs = self.cfg.cold_runs.min(runs);
        let summary = dir.join(".ctask/last-session-summary.json");
        // Every run starts from a dropped page cache, checked on a sample of the tree's files.
        let sample = sample_files(&self.trees[i], 64);
        let dropped = || -> Res<()> {
            if !drop_caches() {
                return Err("dropping the page cache failed".into());
            }
            cache_is_cold(&sample)
        };
        let s = self.series(
            runs,
            |_| {
                dropped()?;
                // Without a last summary, begin has no cache and hashes every file.
                match fs::remove_file(&summary) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(format!("{}: {e}", summary.display()))
                    }
                    _ => Ok(()),
                }
            },
            || self.resume(&dir),
            None,
        )?;
        self.add(
            key,
            "disk_resume_cold",
            "ctask resume --agent true, cold, page cache dropped",
            s,
            true,
        );
        let s = self.series(runs, |_| dropped(), || self.git_status(&dir), None)?;
        self.add(
            key,
            "disk_git_status",
            "git status --porcelain, page cache dropped",
            s,
            false,
        );
        let s = self.series(
            runs,
            |_| dropped(),
            || self.xargs_sha(&dir, files),
            Some(&list),
        )?;
        let label = format!(
            "sha256sum, xargs -P{}, page cache dropped",
            available_cores()
        );
        self.add(key, "disk_sha_xargs", &label, s, false);
        // Back to a warm page cache for what follows.
        self.capture_once(&dir, None, files)?;
        Ok(())
    }

    /// The SHA-256 candidates ([`hashers`]): the linked backends in this process (and each
    /// again in a fresh process alone), `openssl speed` in cache and `openssl dgst` /
    /// `sha256sum` on the same files.
    pub(crate) fn sha_rates(&mut self) -> Res<()> {
        say("SHA-256 backends");
        let dir = self.tmp.join("hashset");
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        // 64 files of 4 MiB: 256 MiB in the page cache.
        let data = trees::corpus(4 << 20, 5);
        let mut files = Vec::new();
        for i in 0..64u8 {
            let p = dir.join(format!("f{i:02}"));
            let mut d = data[..4 << 20].to_vec();
            d[0] = i;
            fs::write(&p, &d).map_err(io_err(&p))?;
            files.push(p);
        }
        self.hash_set_bytes = 64 * (4 << 20);
        let list = self.tmp.join("hashset.list");
        let text: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        fs::write(&list, text.join("\n")).map_err(io_err(&list))?;
        let mut cands = hashers::measure_linked(&files, self.cfg.runs)?;
        for c in &mut cands {
            c.rates.standalone = Some(hashers::run_standalone(&self.me, &c.key, &list)?);
        }
        let core = cands
            .iter()
            .find(|c| c.key == "core")
            .map_or(0.0, |c| c.rates.files());
        self.sha2_rate = core;
        let cpu_rate = |program: &str, args: &[&str]| -> Res<Vec<f64>> {
            let mut v = Vec::new();
            for _ in 0..self.cfg.runs {
                let mut c = self.cmd(program);
                c.args(args).args(&files);
                let s = self.once(&mut c, None, Out::Null)?;
                v.push(self.hash_set_bytes as f64 / s.cpu);
            }
            Ok(v)
        };
        let openssl_files = cpu_rate("openssl", &["dgst", "-sha256", "-r"]).ok();
        let sha256sum_files = cpu_rate("sha256sum", &["--"])?;
        let speed: Vec<f64> = (0..3).filter_map(|_| hashers::openssl_speed()).collect();
        if !speed.is_empty() {
            self.openssl_rate = measure::median(&speed);
            cands.push(hashers::Candidate {
                key: "openssl".into(),
                label: "OpenSSL (`openssl speed -evp sha256 -bytes 262144`; files: `openssl dgst \
                        -sha256`, which reads 8 KiB at a time)"
                    .into(),
                rates: hashers::Rates {
                    in_cache: speed,
                    files: openssl_files.unwrap_or_default(),
                    standalone: None,
                },
            });
        }
        cands.push(hashers::Candidate {
            key: "sha256sum".into(),
            label: "`sha256sum` (coreutils; one process, its own reads)".into(),
            rates: hashers::Rates {
                in_cache: Vec::new(),
                files: sha256sum_files,
                standalone: None,
            },
        });
        self.hashers = cands;
        fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        say(&format!(
            "  SHA-256, one core, files in the page cache: ctask {:.0} MB/s; openssl speed {:.0} MB/s",
            self.sha2_rate / 1e6,
            self.openssl_rate / 1e6
        ));
        Ok(())
    }

    /// Makes the run's config directory and checks that this `ctask` knows the config key
    /// `snapshots` (an unknown key is an error), leaving snapshots on.
    pub(crate) fn user_config(&mut self) -> Res<()> {
        let dir = self.tmp.join("config/ctask");
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        self.set_snapshots(false)?;
        self.once(self.cmd(&self.ctask).arg("list"), None, Out::Null)
            .map_err(|e| format!("this ctask does not take `snapshots: false`: {e}"))?;
        self.set_snapshots(true)
    }

    /// Snapshots on for the `ctask` commands from now on (no `config.yaml`: the default
    /// settings) or off (`snapshots: false` in the run's `config.yaml`).
    pub(crate) fn set_snapshots(&mut self, on: bool) -> Res<()> {
        let file = self.tmp.join("config/ctask/config.yaml");
        if on {
            match fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("{}: {e}", file.display()));
                }
                _ => {}
            }
        } else {
            fs::write(&file, "snapshots: false\n").map_err(io_err(&file))?;
        }
        self.snap_on = on;
        Ok(())
    }
}
