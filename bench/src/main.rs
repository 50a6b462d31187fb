//! `make bench`: builds its own trees under a temporary directory and measures, in one run,
//! ctask's manifest capture (cold and warm) and whole `ctask` commands against
//! `git status --porcelain` and `sha256sum` on the same files. See `bench/run.sh`.
//!
//! Usage: `ctask-bench run --ctask PATH [--profile-bin PATH] [--out FILE]` (settings from
//! `BENCH_*` variables, see [`Config`]). Children: `capture DIR [--cache FILE] [--write
//! FILE]` times one library capture; `sha BACKEND FILE-LIST` measures one SHA-256 backend
//! alone; `profile DIR OUT` (a build with the `profile` feature) profiles a cold capture;
//! `floor DIR LIST io|sha` times the cold capture's floor; `edit DIR LIST TAG` is the agent
//! of the sessions that are undone.

mod floor;
mod hashers;
mod measure;
mod profile;
mod realtree;
mod report;
mod snapshots;
mod suites;
mod trees;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use ctask_core::session::manifest::{self, Kind};
use ctask_core::session::{CaptureOptions, Manifest};

use measure::{Out, Sample, Series};

type Res<T> = Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("capture") => capture_child(&args[1..]),
        Some("run") => run(&args[1..]),
        Some("floor") => floor::child(&args[1..]),
        Some("edit") => snapshots::edit_child(&args[1..]),
        Some("sha") => hashers::standalone(&args[1..]),
        Some("profile") => profile::child(&args[1..]),
        Some("exec") => match measure::launcher(&args[1..]) {
            Ok(code) => std::process::exit(code),
            Err(e) => Err(e),
        },
        _ => Err("usage: ctask-bench run --ctask PATH [--profile-bin PATH] [--out FILE] | \
                  capture DIR [--cache FILE] [--write FILE] | sha BACKEND FILE-LIST | profile DIR OUT | \
                  floor DIR LIST io|sha | edit DIR LIST TAG"
            .into()),
    };
    if let Err(e) = result {
        eprintln!("ctask-bench: {e}");
        std::process::exit(1);
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The child: one library capture of `DIR`, timed in-process from before the cache (the
/// previous manifest) is read — a warm capture cannot start without it, as `git status`
/// cannot without its index; prints `wall cpu hashed cached entries`.
fn capture_child(args: &[String]) -> Res<()> {
    let dir = PathBuf::from(args.first().ok_or("capture: no directory")?);
    let cpu0 = measure::self_cpu();
    let t0 = Instant::now();
    let cache = match flag(args, "--cache") {
        Some(p) => manifest::read_manifest(Path::new(&p)).map_err(|e| e.to_string())?,
        None => None,
    };
    let c = manifest::capture(&dir, &CaptureOptions::default(), cache.as_ref())
        .map_err(|e| e.to_string())?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = measure::self_cpu() - cpu0;
    if let Some(out) = flag(args, "--write") {
        manifest::write_manifest(Path::new(&out), &c.manifest).map_err(|e| e.to_string())?;
    }
    println!(
        "{wall} {cpu} {} {} {}",
        c.hashed_files,
        c.cached_files,
        c.manifest.entries.len()
    );
    Ok(())
}

/// Settings, from the environment.
pub struct Config {
    /// `BENCH_SCALE` (default 1): multiplies every tree's file count.
    pub scale: f64,
    /// `BENCH_RUNS` (default 5): timed runs per row; the median is reported.
    pub runs: usize,
    /// `BENCH_DROP_CACHES` (default: on when running as root): also measure with the page
    /// cache dropped before each run.
    pub drop_caches: bool,
    /// `BENCH_COLD_RUNS` (default 3): runs of each row measured with the page cache dropped
    /// (each reads the whole tree from disk).
    pub cold_runs: usize,
    /// `BENCH_SNAP_COLD_RUNS` (default 3): runs of cold begin+end with snapshots on (each
    /// fills a store from empty; the runs with snapshots off take turns with them, then go
    /// on to `runs`).
    pub snap_cold_runs: usize,
    /// `BENCH_KEEP=1`: keep the temporary directory.
    pub keep: bool,
    /// `BENCH_TMPDIR` (default `$TMPDIR` or `/tmp`): where the trees are built.
    pub tmp_base: PathBuf,
}

impl Config {
    fn from_env() -> Res<Config> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let scale: f64 = var("BENCH_SCALE")
            .map_or(Ok(1.0), |v| v.parse())
            .map_err(|e| format!("BENCH_SCALE: {e}"))?;
        let runs: usize = var("BENCH_RUNS")
            .map_or(Ok(5), |v| v.parse())
            .map_err(|e| format!("BENCH_RUNS: {e}"))?;
        let cold_runs: usize = var("BENCH_COLD_RUNS")
            .map_or(Ok(3), |v| v.parse())
            .map_err(|e| format!("BENCH_COLD_RUNS: {e}"))?;
        let snap_cold_runs: usize = var("BENCH_SNAP_COLD_RUNS")
            .map_or(Ok(3), |v| v.parse())
            .map_err(|e| format!("BENCH_SNAP_COLD_RUNS: {e}"))?;
        if !(scale > 0.0 && scale <= 10.0) || runs == 0 || cold_runs == 0 || snap_cold_runs == 0 {
            return Err(
                "BENCH_SCALE must be in (0, 10], BENCH_RUNS, BENCH_COLD_RUNS and \
                        BENCH_SNAP_COLD_RUNS at least 1"
                    .into(),
            );
        }
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let drop_caches = match var("BENCH_DROP_CACHES").as_deref() {
            Some("0") => false,
            Some(_) => true,
            None => root,
        };
        Ok(Config {
            scale,
            runs,
            cold_runs,
            snap_cold_runs,
            drop_caches,
            keep: var("BENCH_KEEP").is_some_and(|v| v != "0"),
            tmp_base: var("BENCH_TMPDIR")
                .or_else(|| var("TMPDIR"))
                .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from),
        })
    }

    fn files(&self, n: usize) -> usize {
        ((n as f64 * self.scale).round() as usize).max(10)
    }
}

/// A generated tree inside a ctask workspace.
pub struct Tree {
    /// Short key: `a`, `b`, `real`, `c10k`, `c30k`, `tiny`.
    pub key: &'static str,
    /// Description for the report.
    pub label: String,
    /// The workspace directory (the tree is inside it).
    pub dir: PathBuf,
    /// Regular files a capture lists.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Distinct contents among them (what a snapshot store keeps of the tree).
    pub distinct: u64,
    /// Directories generated.
    pub dirs: u64,
    /// NUL-separated list of those files, relative to `dir` (input of sha256sum).
    pub list: PathBuf,
    /// A manifest of the tree (the warm-capture cache).
    pub manifest: PathBuf,
    /// The relative paths of the regular files.
    pub paths: Vec<String>,
}

/// One row of results.
pub struct Row {
    /// Tree key.
    pub tree: &'static str,
    /// Row key within the tree (`cold_capture`, `git_status`, …).
    pub key: &'static str,
    /// What was measured.
    pub label: String,
    /// The runs.
    pub series: Series,
    /// Whether this is a `ctask` command (its peak RSS counts against the target).
    pub ctask: bool,
    /// For a `ctask` command: whether it ran with snapshots on (the default settings).
    pub snapshots: Option<bool>,
}

/// The whole benchmark: settings, paths and results.
pub struct Bench {
    cfg: Config,
    tmp: PathBuf,
    ctask: PathBuf,
    me: PathBuf,
    env: BTreeMap<String, String>,
    /// The `ctask-bench` built with the `profile` feature, if given.
    profile_bin: Option<PathBuf>,
    /// Rows in measurement order.
    pub rows: Vec<Row>,
    /// Trees, in build order.
    pub trees: Vec<Tree>,
    /// Load average (1, 5, 15 min) at the start of each section.
    pub loads: Vec<(String, String)>,
    /// One core's SHA-256 rate of ctask's hasher reading files as a capture does, bytes per
    /// CPU-second.
    pub sha2_rate: f64,
    /// `openssl speed` SHA-256 rate on 256 KiB blocks, bytes/s (0: no openssl).
    pub openssl_rate: f64,
    /// Every SHA-256 implementation measured.
    pub hashers: Vec<hashers::Candidate>,
    /// Bytes of the file set the capture-like hash rates read.
    pub hash_set_bytes: u64,
    /// Profiled cold captures, by tree.
    pub profiles: Vec<(&'static str, profile::Profile)>,
    /// What the real tree was copied from.
    pub real_sources: Vec<realtree::Copied>,
    /// Whether the `ctask` commands run now have snapshots on (no `config.yaml`, the default
    /// settings) or off (`snapshots: false` in the run's `config.yaml`).
    pub snap_on: bool,
    /// Issue 17's figures that are not rows, by tree.
    pub snaps: Vec<(&'static str, snapshots::Figures)>,
    /// The cold capture's floor, by tree.
    pub floors: Vec<(&'static str, floor::Floor)>,
    /// Whether the page cache could be dropped.
    pub dropped: bool,
    /// Peak RSS reported for `true`: the floor every RSS figure includes, KiB.
    pub rss_floor_kib: u64,
    /// When the measurement started.
    pub started: chrono::DateTime<chrono::Utc>,
    /// Seconds the whole run took.
    pub elapsed: f64,
}

fn run(args: &[String]) -> Res<()> {
    let ctask = PathBuf::from(flag(args, "--ctask").ok_or("run: --ctask PATH is required")?);
    let ctask = fs::canonicalize(&ctask).map_err(|e| format!("{}: {e}", ctask.display()))?;
    let out = flag(args, "--out").map(PathBuf::from);
    if cfg!(feature = "profile") {
        return Err(
            "run: this build has the profile counters in every capture; build \
                    ctask-bench without the profile feature and pass the profiling build as \
                    --profile-bin"
                .into(),
        );
    }
    let profile_bin = match flag(args, "--profile-bin") {
        Some(p) => Some(fs::canonicalize(&p).map_err(|e| format!("{p}: {e}"))?),
        None => None,
    };
    let cfg = Config::from_env()?;
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let tmp = cfg
        .tmp_base
        .join(format!("ctask-bench-{}-{stamp}", std::process::id()));
    fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let tmp = fs::canonicalize(&tmp).map_err(|e| e.to_string())?;
    let mut env = BTreeMap::new();
    for (k, v) in [
        ("CTASK_ROOT", tmp.join("root").display().to_string()),
        ("XDG_CONFIG_HOME", tmp.join("config").display().to_string()),
        ("CTASK_SESSION_MODE", "direct".to_string()),
        ("GIT_CONFIG_NOSYSTEM", "1".to_string()),
        ("GIT_CONFIG_GLOBAL", "/dev/null".to_string()),
        ("LC_ALL", "C".to_string()),
        ("NO_COLOR", "1".to_string()),
    ] {
        env.insert(k.to_string(), v);
    }
    let mut b = Bench {
        me: std::env::current_exe().map_err(|e| e.to_string())?,
        cfg,
        tmp: tmp.clone(),
        ctask,
        env,
        profile_bin,
        rows: Vec::new(),
        trees: Vec::new(),
        loads: Vec::new(),
        sha2_rate: 0.0,
        openssl_rate: 0.0,
        hashers: Vec::new(),
        hash_set_bytes: 0,
        profiles: Vec::new(),
        real_sources: Vec::new(),
        snap_on: true,
        snaps: Vec::new(),
        floors: Vec::new(),
        dropped: false,
        rss_floor_kib: 0,
        started: chrono::Utc::now(),
        elapsed: 0.0,
    };
    let t0 = Instant::now();
    let result = b.all();
    b.elapsed = t0.elapsed().as_secs_f64();
    say("cleaning up");
    if b.cfg.keep {
        eprintln!("kept {}", tmp.display());
    } else {
        let _ = fs::remove_dir_all(&tmp);
    }
    result?;
    let text = report::markdown(&b);
    println!("{}", report::console(&b));
    if let Some(out) = out {
        report::write_doc(&out, &text)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

pub(crate) fn say(msg: &str) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("[bench {t:6.1}s] {msg}");
}

pub(crate) fn io_err(what: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", what.display())
}

impl Bench {
    fn all(&mut self) -> Res<()> {
        let runs = self.cfg.runs;
        self.load("start");
        self.rss_floor_kib = self
            .once(&mut self.cmd("true"), None, Out::Null)?
            .maxrss_kib;
        self.sha_rates()?;
        self.user_config()?;
        let pool = trees::Pool::new(2000, 4000.0, 1.35, 10_000.0, 4 << 20, 1);
        let small = trees::Pool::new(1000, 500.0, 1.0, 900.0, 64 << 10, 2);

        // Build every tree first, so file writes and git's work are over before timing.
        let n_a = self.cfg.files(100_000);
        let a = self.build("a", format!("(a) source-like, {n_a} files"), |d| {
            trees::source_tree(d, n_a, &pool, 11)
        })?;
        let n_b = self.cfg.files(100_000);
        let bt = self.build("b", format!("(b) node_modules-like, {n_b} files"), |d| {
            trees::node_modules(d, n_b, &small, 12)
        })?;
        let n_r = self.cfg.files(100_000);
        let sources = realtree::sources(std::env::var("BENCH_REAL_SOURCES").ok().as_deref());
        let mut copied = Vec::new();
        let mut real = self.build("real", format!("(r) real files, {n_r} wanted"), |d| {
            let (w, c) = realtree::copy(d, &sources, n_r as u64)?;
            copied = c;
            Ok(w)
        })?;
        self.real_sources = copied;
        real.label = format!("(r) real files, {} files", real.files);
        let n10 = self.cfg.files(10_000);
        let c10 = self.build("c10k", format!("(c) source-like, {n10} files"), |d| {
            trees::source_tree(d, n10, &pool, 13)
        })?;
        let n30 = self.cfg.files(30_000);
        let c30 = self.build("c30k", format!("(c) source-like, {n30} files"), |d| {
            trees::source_tree(d, n30, &pool, 14)
        })?;
        let tiny = self.build("tiny", "10-file workspace".into(), |d| {
            // The new workspace's own files count towards the ten.
            let own = manifest::capture(d, &CaptureOptions::default(), None)
                .map_err(std::io::Error::other)?
                .manifest
                .entries
                .len();
            let mut w = trees::Writer::new();
            for i in 0..10usize.saturating_sub(own) {
                w.write(
                    &d.join(format!("f{i}.txt")),
                    format!("file {i}\n").as_bytes(),
                )?;
            }
            Ok(w)
        })?;
        self.trees = vec![a, bt, real, c10, c30, tiny];
        say("sync");
        // SAFETY: sync has no preconditions.
        unsafe { libc::sync() };
        // Every file must be older than the racy window (2 s) of any later capture.
        std::thread::sleep(Duration::from_millis(2100));
        // The warm-capture cache: a manifest taken now, when no file is racily clean.
        for tr in &self.trees {
            let c = manifest::capture(&tr.dir, &CaptureOptions::default(), None)
                .map_err(|e| e.to_string())?;
            manifest::write_manifest(&tr.manifest, &c.manifest).map_err(|e| e.to_string())?;
        }

        for i in 0..self.trees.len() {
            let key = self.trees[i].key;
            self.load(key);
            say(&format!("measuring tree {key}"));
            match key {
                "a" | "b" | "real" => {
                    self.captures(i, runs)?;
                    self.profile_tree(i, 3)?;
                    // Before any edit, while the tree is as listed.
                    self.floor(i, runs)?;
                    self.reference_tools(i, runs)?;
                    // Cold begin+end, snapshots on and off in turn (the off runs are
                    // issue 16's cold row); then the warm rows, on, and warm off.
                    self.cold_pair(i, runs)?;
                    self.commands(i, runs, true, None)?;
                    self.warm_off(i, runs)?;
                    if key == "a" && self.cfg.drop_caches {
                        self.disk_cold(i, runs)?;
                    }
                    self.edited(i, runs)?;
                    self.undo_rows(i, runs)?;
                }
                "c10k" | "c30k" => {
                    self.captures(i, runs)?;
                    self.commands(i, runs, false, Some(false))?;
                }
                _ => self.commands(i, (runs * 3).max(10), false, Some(true))?,
            }
        }
        self.load("end");
        Ok(())
    }

    fn load(&mut self, at: &str) {
        let l = fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let l: Vec<&str> = l.split_whitespace().take(3).collect();
        self.loads.push((at.to_string(), l.join(" ")));
    }

    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.envs(&self.env);
        c
    }

    fn errlog(&self) -> PathBuf {
        self.tmp.join("stderr.txt")
    }

    fn once(&self, c: &mut Command, stdin: Option<&Path>, out: Out) -> Res<Sample> {
        let input = match stdin {
            Some(p) => Some(File::open(p).map_err(io_err(p))?),
            None => None,
        };
        measure::run(&self.me, c, input, out, &self.errlog())
    }

    /// A ctask workspace with a generated tree, committed to git.
    fn build(
        &mut self,
        key: &'static str,
        label: String,
        fill: impl FnOnce(&Path) -> std::io::Result<trees::Writer>,
    ) -> Res<Tree> {
        say(&format!("building {label}"));
        let t0 = Instant::now();
        let s = self.once(
            self.cmd(&self.ctask)
                .args(["new", &format!("bench {key}"), "--no-launch"]),
            None,
            Out::Capture,
        )?;
        let dir = PathBuf::from(s.stdout.trim());
        let w = fill(&dir).map_err(io_err(&dir))?;
        let git = |args: &[&str]| -> Res<()> {
            let mut c = self.cmd("git");
            c.current_dir(&dir).args([
                "-c",
                "user.name=ctask bench",
                "-c",
                "user.email=bench@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ]);
            self.once(c.args(args), None, Out::Null).map(|_| ())
        };
        if key != "tiny" {
            git(&["init", "-q"])?;
            for (k, v) in [
                ("gc.auto", "0"),
                ("maintenance.auto", "false"),
                ("core.fsmonitor", "false"),
                // Objects stored uncompressed: committing the real tree's distinct files
                // stays quick; `git status` never reads them.
                ("core.compression", "0"),
            ] {
                git(&["config", k, v])?;
            }
            // What ctask itself writes into the workspace stays out of git's view.
            fs::write(dir.join(".git/info/exclude"), "/.ctask/\n/logs/\n").map_err(io_err(&dir))?;
            git(&["add", "-A"])?;
            git(&["commit", "-q", "-m", "bench tree"])?;
        }
        let manifest_path = self.tmp.join(format!("{key}.manifest.json"));
        let c =
            manifest::capture(&dir, &CaptureOptions::default(), None).map_err(|e| e.to_string())?;
        let (paths, bytes) = files_of(&c.manifest);
        let distinct = c
            .manifest
            .entries
            .iter()
            .filter_map(|e| e.sha256.filter(|_| e.kind == Kind::File))
            .collect::<std::collections::HashSet<_>>()
            .len() as u64;
        let list = self.tmp.join(format!("{key}.files0"));
        let mut nul = Vec::new();
        for p in &paths {
            nul.extend_from_slice(p.as_bytes());
            nul.push(0);
        }
        fs::write(&list, nul).map_err(io_err(&list))?;
        say(&format!(
            "  {} files ({} written), {:.0} MB, {:.1} s",
            paths.len(),
            w.files,
            bytes as f64 / 1e6,
            t0.elapsed().as_secs_f64()
        ));
        Ok(Tree {
            key,
            label,
            dir,
            files: paths.len() as u64,
            bytes,
            distinct,
            dirs: w.dirs(),
            list,
            manifest: manifest_path,
            paths,
        })
    }

    /// Adds a row; a `ctask` row ran with the snapshot setting in effect now.
    fn add(&mut self, tree: &'static str, key: &'static str, label: &str, s: Series, ctask: bool) {
        let snapshots = ctask.then_some(self.snap_on);
        self.push_row(tree, key, label, s, snapshots);
    }

    /// Adds a row; `snapshots` is `Some` for a `ctask` command (whether they were on).
    fn push_row(
        &mut self,
        tree: &'static str,
        key: &'static str,
        label: &str,
        s: Series,
        snapshots: Option<bool>,
    ) {
        say(&format!(
            "  {label}{}: {:.3} s wall, {:.3} s CPU, {:.1} MiB",
            match snapshots {
                Some(true) => " [snapshots on]",
                Some(false) => " [snapshots off]",
                None => "",
            },
            s.wall(),
            s.cpu(),
            s.rss_mib()
        ));
        self.rows.push(Row {
            tree,
            key,
            label: label.to_string(),
            series: s,
            ctask: snapshots.is_some(),
            snapshots,
        });
    }

    fn series(
        &self,
        runs: usize,
        mut before: impl FnMut(usize) -> Res<()>,
        mut make: impl FnMut() -> Command,
        stdin: Option<&Path>,
    ) -> Res<Series> {
        let mut s = Series::default();
        for r in 0..runs {
            before(r)?;
            let x = self.once(&mut make(), stdin, Out::Null)?;
            s.push(x.wall, x.cpu, x.maxrss_kib);
        }
        Ok(s)
    }

    /// The row `key` of tree `tree`.
    pub fn row(&self, tree: &str, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.tree == tree && r.key == key)
    }

    /// The tree `key`.
    pub fn tree(&self, key: &str) -> Option<&Tree> {
        self.trees.iter().find(|t| t.key == key)
    }

    /// Settings in effect.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
}

/// Regular files of a manifest and their total size.
fn files_of(m: &Manifest) -> (Vec<String>, u64) {
    let mut bytes = 0;
    let paths = m
        .entries
        .iter()
        .filter(|e| e.kind == Kind::File)
        .map(|e| {
            bytes += e.size;
            e.path.clone()
        })
        .collect();
    (paths, bytes)
}

/// Cores this process may use.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Up to `n` of the tree's regular files, spread over it, as absolute paths.
fn sample_files(tree: &Tree, n: usize) -> Vec<PathBuf> {
    let step = (tree.paths.len() / n.max(1)).max(1);
    tree.paths
        .iter()
        .step_by(step)
        .take(n)
        .map(|p| tree.dir.join(p))
        .collect()
}

/// Checks that no page of the `sample` files is in the page cache (`mincore` on a mapping
/// of each): a drop that left the files cached would make a "page cache dropped" row a
/// warm one.
fn cache_is_cold(sample: &[PathBuf]) -> Res<()> {
    let mut resident = 0u64;
    let mut pages = 0u64;
    for p in sample {
        let (r, n) = measure::resident_pages(p).map_err(io_err(p))?;
        resident += r;
        pages += n;
    }
    if pages == 0 {
        return Err("no page of the sample files to check the page-cache drop with".into());
    }
    if resident > 0 {
        return Err(format!(
            "the page cache was not dropped: {resident} of {pages} pages of {} sample files \
             still resident",
            sample.len()
        ));
    }
    Ok(())
}

/// Writes back dirty pages and drops the page, dentry and inode caches; false when not
/// permitted.
fn drop_caches() -> bool {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}
