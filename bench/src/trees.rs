//! Deterministic test trees: source-like files with a log-normal size spread, and a
//! `node_modules`-like tree of many tiny files in deep nesting.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A small, fast, seedable generator (SplitMix64): the trees must be the same every run.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal deviate (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "value", "index", "buffer", "count", "state", "result", "config", "handle", "request",
    "response", "parse", "render", "update", "item", "entry", "cache", "token", "node", "path",
    "error", "options", "context", "writer", "reader", "offset", "length", "stream", "session",
    "record", "build", "layout", "event", "queue", "limit", "scope", "frame", "digest", "table",
];

const KEYWORDS: &[&str] = &[
    "let", "const", "if", "return", "for", "while", "match", "fn", "pub", "static", "else",
];

/// Text that looks like program source: indented statements, calls, comments, braces.
pub fn corpus(bytes: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(bytes + 256);
    let mut depth = 0usize;
    while out.len() < bytes {
        let indent = "    ".repeat(depth);
        let line = match rng.below(10) {
            0 => format!(
                "{indent}// {} the {} before the {} is {}\n",
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.pick(WORDS)
            ),
            1 if depth < 4 => {
                depth += 1;
                format!(
                    "{indent}{} {}_{}({}: &{}) {{\n",
                    rng.pick(KEYWORDS),
                    rng.pick(WORDS),
                    rng.below(100),
                    rng.pick(WORDS),
                    rng.pick(WORDS)
                )
            }
            2 if depth > 0 => {
                depth -= 1;
                format!("{}}}\n", "    ".repeat(depth))
            }
            3 => "\n".to_string(),
            _ => format!(
                "{indent}{} {}_{} = {}.{}({}, {});\n",
                rng.pick(KEYWORDS),
                rng.pick(WORDS),
                rng.below(1000),
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.below(65536)
            ),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// A pool of file contents: `(offset, len)` slices of a corpus, with sizes drawn from a
/// log-normal distribution (median `median`, shape `sigma`, within `min..=max`) and then
/// scaled so that their mean is `mean`. Files draw from the pool, so the size spread is
/// realistic while git stores only the pool's distinct blobs.
pub struct Pool {
    corpus: Vec<u8>,
    slices: Vec<(usize, usize)>,
}

impl Pool {
    /// Draws `n` sizes; see the type's description.
    pub fn new(n: usize, median: f64, sigma: f64, mean: f64, max: usize, seed: u64) -> Pool {
        let mut rng = Rng::new(seed);
        let raw: Vec<f64> = (0..n)
            .map(|_| (median.ln() + sigma * rng.normal()).exp().min(max as f64))
            .collect();
        let scale = mean / (raw.iter().sum::<f64>() / n as f64);
        let sizes: Vec<usize> = raw
            .iter()
            .map(|s| ((s * scale) as usize).clamp(1, max))
            .collect();
        let longest = sizes.iter().copied().max().unwrap_or(1);
        let corpus = corpus(longest.max(4 << 20) + 64, seed ^ 0x5EED);
        let slices = sizes
            .iter()
            .map(|&len| {
                let room = corpus.len() - len;
                (rng.below(room as u64 + 1) as usize, len)
            })
            .collect();
        Pool { corpus, slices }
    }

    /// Number of distinct contents.
    pub fn len(&self) -> usize {
        self.slices.len()
    }

    /// Content number `i`.
    pub fn get(&self, i: usize) -> &[u8] {
        let (off, len) = self.slices[i];
        &self.corpus[off..off + len]
    }
}

/// Writes files, creating each directory once.
pub struct Writer {
    made: HashSet<PathBuf>,
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Writer {
    /// A writer that has written nothing yet.
    pub fn new() -> Self {
        Writer {
            made: HashSet::new(),
            files: 0,
            bytes: 0,
        }
    }

    /// Directories files were written into.
    pub fn dirs(&self) -> u64 {
        self.made.len() as u64
    }

    /// Writes `content` to `path`, creating its parent directories.
    pub fn write(&mut self, path: &Path, content: &[u8]) -> io::Result<()> {
        if let Some(dir) = path.parent()
            && !self.made.contains(dir)
        {
            fs::create_dir_all(dir)?;
            self.made.insert(dir.to_path_buf());
        }
        fs::write(path, content)?;
        self.files += 1;
        self.bytes += content.len() as u64;
        Ok(())
    }
}

const EXTS: &[&str] = &[
    "rs", "rs", "rs", "c", "h", "py", "py", "ts", "js", "go", "md", "json", "toml", "txt",
];

/// A source tree of `files` files under `root/src`: packages of modules of directories,
/// about 20 files per directory, contents from `pool`.
pub fn source_tree(root: &Path, files: usize, pool: &Pool, seed: u64) -> io::Result<Writer> {
    let mut rng = Rng::new(seed);
    let dirs = (files / 20).max(1);
    let dir_paths: Vec<PathBuf> = (0..dirs)
        .map(|d| {
            root.join("src")
                .join(format!("pkg{:02}", d / 250))
                .join(format!(
                    "{}_{}",
                    WORDS[(d / 25) % WORDS.len()],
                    (d / 25) % 10
                ))
                .join(format!("{}{}", WORDS[d % WORDS.len()], d % 25))
        })
        .collect();
    let mut w = Writer::new();
    for i in 0..files {
        let dir = &dir_paths[rng.below(dirs as u64) as usize];
        let name = format!(
            "{}_{i}.{}",
            WORDS[rng.below(WORDS.len() as u64) as usize],
            rng.pick(EXTS)
        );
        let content = pool.get(rng.below(pool.len() as u64) as usize);
        w.write(&dir.join(name), content)?;
    }
    Ok(w)
}

/// A `node_modules` tree of about `files` tiny files: packages with `package.json`,
/// a readme, a licence, an entry point and nested `lib/` files, many of them with their
/// own `node_modules` several levels deep.
pub fn node_modules(root: &Path, files: usize, pool: &Pool, seed: u64) -> io::Result<Writer> {
    let mut g = Npm {
        rng: Rng::new(seed),
        w: Writer::new(),
        next_id: 0,
        limit: files as u64,
        pool,
    };
    let top = root.join("node_modules");
    while g.w.files < g.limit {
        g.package(&top, 0)?;
    }
    Ok(g.w)
}

struct Npm<'p> {
    rng: Rng,
    w: Writer,
    next_id: u64,
    limit: u64,
    pool: &'p Pool,
}

impl Npm<'_> {
    fn content(&mut self) -> &[u8] {
        let i = self.rng.below(self.pool.len() as u64) as usize;
        self.pool.get(i)
    }

    fn package(&mut self, modules: &Path, depth: u32) -> io::Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        let name = if self.rng.below(5) == 0 {
            format!(
                "@{}-{}/{}-{id}",
                self.rng.pick(WORDS),
                id % 7,
                self.rng.pick(WORDS)
            )
        } else {
            format!("{}-{}-{id}", self.rng.pick(WORDS), self.rng.pick(WORDS))
        };
        let dir = modules.join(name);
        let manifest = format!("{{\"name\":\"pkg-{id}\",\"version\":\"1.{depth}.{id}\"}}\n");
        self.w
            .write(&dir.join("package.json"), manifest.as_bytes())?;
        for f in ["README.md", "LICENSE", "index.js"] {
            let c = self.content().to_vec();
            self.w.write(&dir.join(f), &c)?;
        }
        // A few source directories per package, some nested (lib/a/b/c).
        let mut subdirs = vec![dir.join("lib")];
        if self.rng.below(2) == 0 {
            subdirs.push(dir.join("dist"));
        }
        for _ in 0..self.rng.below(4) {
            let mut p = subdirs[self.rng.below(subdirs.len() as u64) as usize].clone();
            p.push(self.rng.pick(WORDS));
            subdirs.push(p);
        }
        let lib_files = 4 + self.rng.below(30);
        for i in 0..lib_files {
            let mut p = subdirs[self.rng.below(subdirs.len() as u64) as usize].clone();
            p.push(format!("{}{i}.js", self.rng.pick(WORDS)));
            let c = self.content().to_vec();
            self.w.write(&p, &c)?;
            if self.w.files >= self.limit {
                return Ok(());
            }
        }
        if depth < 6 && self.rng.below(10) < 4 {
            let nested = dir.join("node_modules");
            for _ in 0..1 + self.rng.below(3) {
                if self.w.files >= self.limit {
                    break;
                }
                self.package(&nested, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// Appends a line to each file of `paths` (relative to `root`): an edit that changes size,
/// content, mtime and ctime.
pub fn edit(root: &Path, paths: &[&str], tag: u64) -> io::Result<()> {
    for p in paths {
        let mut f = fs::OpenOptions::new().append(true).open(root.join(p))?;
        writeln!(f, "// edited in round {tag}")?;
    }
    Ok(())
}
