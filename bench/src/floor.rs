//! The floor of a cold capture: one thread per core over a prepared list of a tree's files
//! doing only open + fstat + read (one reused 256 KiB buffer per thread) + close, and the
//! same with SHA-256 (ctask-core's hasher): no listing, no walk, no entries. The child
//! (`ctask-bench floor DIR LIST io|sha`) prints `wall cpu files bytes`, timed in-process
//! after the list is prepared.

use std::ffi::CString;
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ctask_core::session::manifest::{BUFFER_SIZE, ContentHasher};

use super::*;
use crate::report::t;

/// The floor of one tree: median wall and CPU seconds of each pass.
#[derive(Debug, Clone, Default)]
pub struct Floor {
    /// open + fstat + read + close: (wall, CPU).
    pub io: (f64, f64),
    /// The same plus SHA-256: (wall, CPU).
    pub sha: (f64, f64),
    /// Threads of each pass.
    pub threads: usize,
}

/// Opens `name` relative to `dir` (`-1`: the working directory) with `flags`.
fn open_at(dir: libc::c_int, name: &CString, flags: libc::c_int) -> std::io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; the flags are constants the kernel knows.
    let fd = unsafe {
        libc::openat(
            if dir < 0 { libc::AT_FDCWD } else { dir },
            name.as_ptr(),
            flags,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads one file opened in `dir` as a capture does: `fstat`, then reads of up to the
/// buffer's size until its size is read (or end of file), hashing them when `sha`.
fn read_one(dir: &OwnedFd, name: &CString, buf: &mut [u8], sha: bool) -> std::io::Result<u64> {
    let f = open_at(
        dir.as_raw_fd(),
        name,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
    )?;
    // SAFETY: an all-zero stat is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `f` is open; `st` is valid for writing.
    if unsafe { libc::fstat(f.as_raw_fd(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let mut h = sha.then(ContentHasher::new);
    let mut done = 0u64;
    while size == 0 || done < size {
        // SAFETY: `buf` is valid for writing `buf.len()` bytes; `f` is open.
        let n = unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            break;
        }
        let n = n as usize;
        if let Some(h) = h.as_mut() {
            h.update(&buf[..n]);
        }
        done += n as u64;
    }
    if let Some(h) = h {
        std::hint::black_box(h.finish());
    }
    drop(f);
    Ok(done)
}

/// The child: `DIR LIST io|sha`.
pub fn child(args: &[String]) -> Res<()> {
    let [dir, list, mode] = args else {
        return Err("usage: ctask-bench floor DIR LIST io|sha".into());
    };
    let sha = match mode.as_str() {
        "io" => false,
        "sha" => true,
        _ => return Err(format!("floor: mode {mode:?}: io or sha expected")),
    };
    let text = fs::read(list).map_err(|e| format!("{list}: {e}"))?;
    // The files by directory, so each thread opens a directory once and its files by name.
    let mut by_dir: BTreeMap<&[u8], Vec<CString>> = BTreeMap::new();
    for p in text.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let (d, n) = match p.iter().rposition(|&b| b == b'/') {
            Some(i) => (&p[..i], &p[i + 1..]),
            None => (&b"."[..], p),
        };
        let n = CString::new(n).map_err(|e| format!("{list}: {e}"))?;
        by_dir.entry(d).or_default().push(n);
    }
    let root = Path::new(dir);
    let groups: Vec<(CString, Vec<CString>)> = by_dir
        .into_iter()
        .map(|(d, names)| {
            let full = root.join(std::ffi::OsStr::from_bytes(d));
            CString::new(full.as_os_str().as_bytes())
                .map(|c| (c, names))
                .map_err(|e| e.to_string())
        })
        .collect::<Res<_>>()?;
    let threads = available_cores();
    let next = AtomicUsize::new(0);
    let (files, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let cpu0 = measure::self_cpu();
    let t0 = Instant::now();
    let result: Res<()> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Res<()> {
                    let mut buf = vec![0u8; BUFFER_SIZE];
                    let (mut nf, mut nb) = (0u64, 0u64);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((d, names)) = groups.get(i) else {
                            break;
                        };
                        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
                        let dfd = open_at(-1, d, flags).map_err(|e| format!("{d:?}: {e}"))?;
                        for n in names {
                            nb += read_one(&dfd, n, &mut buf, sha)
                                .map_err(|e| format!("{d:?}/{n:?}: {e}"))?;
                            nf += 1;
                        }
                    }
                    files.fetch_add(nf, Ordering::Relaxed);
                    bytes.fetch_add(nb, Ordering::Relaxed);
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err("a floor thread panicked".into()))
        })
    });
    result?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = measure::self_cpu() - cpu0;
    println!(
        "{wall} {cpu} {} {}",
        files.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed)
    );
    Ok(())
}

impl Bench {
    /// Measures both floors of tree `i` (`runs` runs each, taking turns); every pass must
    /// have read all the tree's files and bytes.
    pub(crate) fn floor(&mut self, i: usize, runs: usize) -> Res<()> {
        let (key, dir, list, files, bytes) = {
            let t = &self.trees[i];
            (t.key, t.dir.clone(), t.list.clone(), t.files, t.bytes)
        };
        let mut io = Series::default();
        let mut sha = Series::default();
        for r in 0..runs + 1 {
            for mode in ["io", "sha"] {
                let mut c = self.cmd(&self.me);
                c.arg("floor").arg(&dir).arg(&list).arg(mode);
                let s = self.once(&mut c, None, Out::Capture)?;
                let f: Vec<f64> = s
                    .stdout
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                if f.len() != 4 {
                    return Err(format!("floor child printed {:?}", s.stdout));
                }
                if f[2] != files as f64 || f[3] != bytes as f64 {
                    return Err(format!(
                        "floor pass of tree {key} read {} files, {} bytes; the tree has {files}, \
                         {bytes}",
                        f[2], f[3]
                    ));
                }
                // The first round only warms up.
                if r > 0 {
                    let s = if mode == "io" { &mut io } else { &mut sha };
                    s.push(f[0], f[1], 0);
                }
            }
        }
        say(&format!(
            "  floor: open+fstat+read+close {:.3} s wall; with SHA-256 {:.3} s wall",
            io.wall(),
            sha.wall()
        ));
        self.floors.push((
            key,
            Floor {
                io: (io.wall(), io.cpu()),
                sha: (sha.wall(), sha.cpu()),
                threads: available_cores(),
            },
        ));
        Ok(())
    }
}

/// The "What bounds the cold row" section: the floors against the OpenSSL limit and the
/// cold capture and begin+end (snapshots off) of the same tree.
pub fn report(b: &Bench, o: &mut String) {
    if b.floors.is_empty() || b.openssl_rate <= 0.0 {
        return;
    }
    let cores = available_cores() as f64;
    let threads = b.floors.first().map_or(0, |f| f.1.threads);
    let _ = writeln!(o, "\n## What bounds the cold row\n");
    let _ = writeln!(
        o,
        "A pass of {threads} threads over a list of the tree's files prepared beforehand (no \
         listing, no walk): each thread takes the next directory, opens it, and for each of its \
         files does only `openat` + `fstat` + `read` through one reused {} KiB buffer (until the \
         file's size is read) + `close`; the second pass also hashes what it reads with \
         ctask-core's SHA-256. Median of {} runs, timed inside the process after the list is \
         prepared; every pass is checked to have read all the tree's files and bytes. Ratios \
         are to the OpenSSL limit (the tree's bytes ÷ (`openssl speed`'s one-core rate × {} \
         cores)), which issue 16's cold row must stay within 2× of; the cold begin+end is that \
         row (snapshots off).\n",
        BUFFER_SIZE >> 10,
        b.config().runs,
        cores
    );
    let _ = writeln!(
        o,
        "| tree | OpenSSL limit | open + fstat + read + close | the same + SHA-256 | cold capture | \
         cold begin+end | begin+end / the floor with SHA-256 |\n|---|---|---|---|---|---|---|"
    );
    for (key, f) in &b.floors {
        let Some(tr) = b.tree(key) else { continue };
        let lim = tr.bytes as f64 / (b.openssl_rate * cores);
        let wall = |row: &str| b.row(key, row).map(|r| r.series.wall());
        let cell =
            |w: Option<f64>| w.map_or("–".into(), |w| format!("{} ({:.2}×)", t(w), w / lim));
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            if *key == "real" { "r" } else { key },
            t(lim),
            cell(Some(f.io.0)),
            cell(Some(f.sha.0)),
            cell(wall("cold_capture")),
            cell(wall("resume_cold")),
            wall("resume_cold").map_or("–".into(), |w| format!("{:.2}×", w / f.sha.0)),
        );
    }
    let over: Vec<String> = b
        .floors
        .iter()
        .filter_map(|(key, f)| {
            let tr = b.tree(key)?;
            let lim = tr.bytes as f64 / (b.openssl_rate * cores);
            (f.io.0 > 2.0 * lim).then(|| {
                format!(
                    "tree {} ({:.1}× the limit)",
                    if *key == "real" { "r" } else { key },
                    f.io.0 / lim
                )
            })
        })
        .collect();
    let _ = writeln!(
        o,
        "\n{}",
        if over.is_empty() {
            "On no tree do the per-file system calls alone exceed 2× the OpenSSL limit.".into()
        } else {
            format!(
                "The per-file system calls alone, without hashing, exceed 2× the OpenSSL limit \
                 on {}: there, no capture that makes these calls for each file can meet the cold \
                 row, however fast it hashes.",
                over.join(", ")
            )
        }
    );
}
