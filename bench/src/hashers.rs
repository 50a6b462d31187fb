//! SHA-256 backends measured the same way: ctask-core's own hasher (the `sha2` crate),
//! `ring` and `aws-lc-rs` (with the `backends` feature), `openssl` and `sha256sum`.
//!
//! Two rates per backend, both bytes per second of CPU time of one thread (one core):
//! *in cache* hashes one 256 KiB buffer again and again (what `openssl speed -bytes 262144`
//! measures); *capture-like* reads a set of files from the page cache through one reused
//! buffer of the capture's size and hashes each chunk (what a capture does per byte; the
//! command-line tools read the same files their own way).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use ctask_core::session::manifest::{BUFFER_SIZE, ContentHasher};

use crate::measure::{self, median};
use crate::{Res, io_err};

/// A running SHA-256 computation of some backend.
pub trait Sha {
    /// Feeds `bytes`.
    fn update(&mut self, bytes: &[u8]);
    /// The digest.
    fn finish(self: Box<Self>) -> [u8; 32];
}

impl Sha for ContentHasher {
    fn update(&mut self, bytes: &[u8]) {
        ContentHasher::update(self, bytes);
    }
    fn finish(self: Box<Self>) -> [u8; 32] {
        ContentHasher::finish(*self)
    }
}

#[cfg(feature = "backends")]
struct Ring(ring::digest::Context);

#[cfg(feature = "backends")]
impl Sha for Ring {
    fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(self: Box<Self>) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

#[cfg(feature = "backends")]
struct AwsLc(aws_lc_rs::digest::Context);

#[cfg(feature = "backends")]
impl Sha for AwsLc {
    fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(self: Box<Self>) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

/// A backend linked into this program.
#[derive(Clone, Copy)]
pub struct Backend {
    /// Short key (the `sha` subcommand's argument).
    pub key: &'static str,
    /// Description for the report.
    pub label: &'static str,
    make: fn() -> Box<dyn Sha>,
}

/// The backends this build has: ctask-core's always, `ring` and `aws-lc-rs` with the
/// `backends` feature.
pub fn backends() -> Vec<Backend> {
    #[cfg_attr(not(feature = "backends"), allow(unused_mut))]
    let mut v = vec![Backend {
        key: "core",
        label: "ctask-core's hasher (`sha2` 0.10)",
        make: || Box::new(ContentHasher::new()),
    }];
    #[cfg(feature = "backends")]
    {
        v.push(Backend {
            key: "ring",
            label: "`ring` 0.17",
            make: || Box::new(Ring(ring::digest::Context::new(&ring::digest::SHA256))),
        });
        v.push(Backend {
            key: "aws-lc-rs",
            label: "`aws-lc-rs` 1",
            make: || {
                Box::new(AwsLc(aws_lc_rs::digest::Context::new(
                    &aws_lc_rs::digest::SHA256,
                )))
            },
        });
    }
    v
}

/// Bytes hashed per in-cache measurement.
const IN_CACHE_BYTES: usize = 256 << 20;

/// One in-cache measurement: a 256 KiB buffer hashed until [`IN_CACHE_BYTES`], bytes per
/// CPU-second of this thread.
pub fn in_cache(b: &Backend, block: &[u8]) -> f64 {
    let rounds = IN_CACHE_BYTES / block.len();
    let t0 = measure::thread_cpu();
    let mut h = (b.make)();
    for _ in 0..rounds {
        h.update(block);
    }
    std::hint::black_box(h.finish());
    (rounds * block.len()) as f64 / (measure::thread_cpu() - t0)
}

/// Hashes each of `files` as a capture does (one reused buffer of the capture's size,
/// read-and-hash), returning the digests and bytes per CPU-second of this thread.
pub fn capture_like(
    b: &Backend,
    files: &[PathBuf],
    buf: &mut Vec<u8>,
) -> Res<(Vec<[u8; 32]>, f64)> {
    buf.resize(BUFFER_SIZE, 0);
    let t0 = measure::thread_cpu();
    let mut bytes = 0u64;
    let mut out = Vec::with_capacity(files.len());
    for p in files {
        let mut f = File::open(p).map_err(io_err(p))?;
        let mut h = (b.make)();
        loop {
            let n = f.read(buf).map_err(io_err(p))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            bytes += n as u64;
        }
        out.push(h.finish());
    }
    Ok((out, bytes as f64 / (measure::thread_cpu() - t0)))
}

/// The rates of one backend: every run's, in bytes per CPU-second.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    /// In-cache runs.
    pub in_cache: Vec<f64>,
    /// Capture-like runs.
    pub files: Vec<f64>,
    /// The same two measures (medians) in a fresh process running nothing else.
    pub standalone: Option<(f64, f64)>,
}

impl Rates {
    /// Median in-cache rate.
    pub fn in_cache(&self) -> f64 {
        median(&self.in_cache)
    }
    /// Median capture-like rate.
    pub fn files(&self) -> f64 {
        median(&self.files)
    }
}

/// One measured SHA-256 implementation.
pub struct Candidate {
    /// Backend key (`core`, `ring`, …, `openssl`, `sha256sum`).
    pub key: String,
    /// Description.
    pub label: String,
    /// Its rates.
    pub rates: Rates,
}

/// Runs `runs` rounds over every linked backend, the backends interleaved in each round so
/// that a slow phase of the machine touches them all alike; checks that every backend
/// computes the core's digests.
pub fn measure_linked(files: &[PathBuf], runs: usize) -> Res<Vec<Candidate>> {
    let block = crate::trees::corpus(256 << 10, 3)[..256 << 10].to_vec();
    let bs = backends();
    let mut rates = vec![Rates::default(); bs.len()];
    let mut buf = Vec::new();
    let mut reference: Option<Vec<[u8; 32]>> = None;
    // One untimed round warms the files and the code.
    for b in &bs {
        let (d, _) = capture_like(b, files, &mut buf)?;
        match &reference {
            None => reference = Some(d),
            Some(r) if *r != d => {
                return Err(format!("SHA-256 backend {} disagrees with the core", b.key));
            }
            Some(_) => {}
        }
    }
    for _ in 0..runs {
        for (b, r) in bs.iter().zip(rates.iter_mut()) {
            r.in_cache.push(in_cache(b, &block));
            r.files.push(capture_like(b, files, &mut buf)?.1);
        }
    }
    Ok(bs
        .iter()
        .zip(rates)
        .map(|(b, rates)| Candidate {
            key: b.key.to_string(),
            label: b.label.to_string(),
            rates,
        })
        .collect())
}

/// The `sha BACKEND LIST` subcommand: the same two measures of one backend, three runs
/// each, in this process alone; prints `in_cache files` (medians, bytes per CPU-second).
pub fn standalone(args: &[String]) -> Res<()> {
    let [key, list] = args else {
        return Err("usage: ctask-bench sha BACKEND FILE-LIST".into());
    };
    let b = backends()
        .into_iter()
        .find(|b| b.key == key)
        .ok_or_else(|| format!("no SHA-256 backend {key} in this build"))?;
    let files = read_list(Path::new(list))?;
    let block = crate::trees::corpus(256 << 10, 3)[..256 << 10].to_vec();
    let mut buf = Vec::new();
    capture_like(&b, &files, &mut buf)?;
    let (mut a, mut f) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        a.push(in_cache(&b, &block));
        f.push(capture_like(&b, &files, &mut buf)?.1);
    }
    println!("{} {}", median(&a), median(&f));
    Ok(())
}

/// Paths, one per line.
pub fn read_list(list: &Path) -> Res<Vec<PathBuf>> {
    Ok(std::fs::read_to_string(list)
        .map_err(io_err(list))?
        .lines()
        .map(PathBuf::from)
        .collect())
}

/// Runs the `sha` subcommand of `me` for `key` and parses what it prints.
pub fn run_standalone(me: &Path, key: &str, list: &Path) -> Res<(f64, f64)> {
    let out = Command::new(me)
        .args(["sha", key])
        .arg(list)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "ctask-bench sha {key}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match v[..] {
        [a, f] => Ok((a, f)),
        _ => Err(format!("ctask-bench sha {key} printed {text:?}")),
    }
}

/// One core's SHA-256 rate according to `openssl speed -evp sha256 -bytes 262144`,
/// bytes/s; `None` when openssl is not installed.
pub fn openssl_speed() -> Option<f64> {
    let out = Command::new("openssl")
        .args([
            "speed", "-seconds", "2", "-bytes", "262144", "-evp", "sha256",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    // The last line reads "sha256   1234567.89k" (thousands of bytes per second).
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.strip_suffix('k'))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|k| k * 1000.0)
}

/// Whether `a` is measurably faster than `b`: its median more than 5 % higher and its
/// slowest run faster than `b`'s fastest.
pub fn clearly_faster(a: &[f64], b: &[f64]) -> bool {
    let lo = a.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = b.iter().copied().fold(0.0, f64::max);
    median(a) > 1.05 * median(b) && lo > hi
}
