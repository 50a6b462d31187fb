//! Which paths a manifest leaves out: the fixed exclusions, and the workspace's own
//! `.gitignore` / `.ctaskignore` files (for the walker and for filtering old manifests).

use std::collections::HashMap;
use std::ffi::CString;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::dirfd::Dir;
use super::listing::Listing;

/// Name of ctask's own ignore file (same syntax as `.gitignore`, higher precedence).
pub const CTASKIGNORE: &str = ".ctaskignore";
const GITIGNORE: &str = ".gitignore";
/// The most of one ignore file that is read; a larger one is not used (its files are
/// recorded) and reported.
pub const MAX_IGNORE_FILE: u64 = 1024 * 1024;

/// Whether the workspace-relative path `rel` is always excluded: `.ctask/`, the top-level
/// `task.yaml`, `logs/sessions.log`, and anything named `.git` at any depth.
pub(crate) fn fixed_excluded(rel: &str) -> bool {
    rel == ".ctask"
        || rel.starts_with(".ctask/")
        || rel == "task.yaml"
        || rel == "logs/sessions.log"
        || rel.split('/').any(|c| c == ".git")
}

/// Whether the name `name` in the directory `dir_rel` (a relative path with its trailing
/// `/`, empty for the root) is always excluded: [`fixed_excluded`] for the walker, from the
/// name alone (the directory has passed the same test).
pub(crate) fn fixed_excluded_name(dir_rel: &str, name: &[u8]) -> bool {
    name == b".git"
        || (dir_rel.is_empty() && (name == b".ctask" || name == b"task.yaml"))
        || (dir_rel == "logs/" && name == b"sessions.log")
}

/// The ignore files of one directory, linked to those of the nearest ancestor that has
/// any. The walker keeps one chain per directory; directories without ignore files share
/// their parent's.
pub(crate) struct Level {
    ctask: Option<Gitignore>,
    git: Option<Gitignore>,
    parent: Option<Arc<Level>>,
}

impl Level {
    /// The chain for the directory `dir` at `dir_rel` (relative, with its trailing `/`,
    /// empty for the root), whose names are `listing`: `parent` extended by the directory's
    /// own `.ctaskignore` and `.gitignore`, if it has either.
    pub(crate) fn child(
        parent: Option<&Arc<Level>>,
        dir: &Dir,
        dir_rel: &str,
        listing: &Listing,
        oversized: &mut Vec<String>,
    ) -> Option<Arc<Level>> {
        let has = |n: &str| listing.contains(n.as_bytes());
        let (has_ctask, has_git) = (has(CTASKIGNORE), has(GITIGNORE));
        if !has_ctask && !has_git {
            return parent.cloned();
        }
        Level::with_files(parent, dir, dir_rel, has_ctask, has_git, oversized)
    }

    fn with_files(
        parent: Option<&Arc<Level>>,
        dir: &Dir,
        dir_rel: &str,
        ctask: bool,
        git: bool,
        oversized: &mut Vec<String>,
    ) -> Option<Arc<Level>> {
        let root = dir_rel.strip_suffix('/').unwrap_or(".");
        let mut read = |on: bool, name: &str| {
            on.then(|| read_ignore_file(dir, root, name, oversized))
                .flatten()
        };
        let level = Level {
            ctask: read(ctask, CTASKIGNORE),
            git: read(git, GITIGNORE),
            parent: parent.cloned(),
        };
        if level.ctask.is_none() && level.git.is_none() {
            return parent.cloned();
        }
        Some(Arc::new(level))
    }

    /// Whether the workspace-relative `rel` is ignored, with the walker's precedence: a
    /// `.ctaskignore` match (deepest first) beats any `.gitignore` match (deepest first).
    pub(crate) fn is_ignored(&self, rel: &Path, is_dir: bool) -> bool {
        let pick = |which: fn(&Level) -> Option<&Gitignore>| {
            let mut level = Some(self);
            while let Some(l) = level {
                if let Some(gi) = which(l) {
                    match gi.matched(rel, is_dir) {
                        Match::None => {}
                        Match::Ignore(_) => return Some(true),
                        Match::Whitelist(_) => return Some(false),
                    }
                }
                level = l.parent.as_deref();
            }
            None
        };
        pick(|l| l.ctask.as_ref())
            .or_else(|| pick(|l| l.git.as_ref()))
            .unwrap_or(false)
    }
}

/// Answers "would the walker skip this path?" for paths that need not exist, with the
/// walker's rules: a path inside an ignored directory is ignored.
pub(crate) struct IgnoreRules {
    root: Option<Dir>,
    /// The chain in effect for the entries of each directory seen (key: relative path with
    /// its trailing `/`, empty for the root).
    chains: HashMap<String, Option<Arc<Level>>>,
    dirs: HashMap<String, bool>,
}

impl IgnoreRules {
    /// Rules read lazily from the ignore files under `root`.
    pub(crate) fn new(root: &Path) -> Self {
        IgnoreRules {
            root: Dir::open_root(root).ok(),
            chains: HashMap::new(),
            dirs: HashMap::new(),
        }
    }

    /// Whether the file at workspace-relative `rel` is ignored (by itself or by a parent).
    /// A path with an empty, `.` or `..` component (possible in a baseline another tool
    /// wrote) is never looked up: no ignore file outside the workspace is ever read.
    pub(crate) fn is_ignored(&mut self, rel: &str) -> bool {
        if rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return false;
        }
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            let dir = &rel[..end + i];
            if self.dir_ignored(dir) {
                return true;
            }
            end += i + 1;
        }
        let chain = self.chain(&rel[..end]);
        chain.is_some_and(|c| c.is_ignored(Path::new(rel), false))
    }

    fn dir_ignored(&mut self, dir: &str) -> bool {
        if let Some(&known) = self.dirs.get(dir) {
            return known;
        }
        let parent = dir.rfind('/').map_or("", |i| &dir[..=i]);
        let chain = self.chain(parent);
        let ignored = chain.is_some_and(|c| c.is_ignored(Path::new(dir), true));
        self.dirs.insert(dir.to_owned(), ignored);
        ignored
    }

    /// The chain for the entries of `dir_rel` (with its trailing `/`, empty for the root).
    fn chain(&mut self, dir_rel: &str) -> Option<Arc<Level>> {
        if let Some(c) = self.chains.get(dir_rel) {
            return c.clone();
        }
        let parent = match dir_rel.strip_suffix('/') {
            None => None,
            Some(d) => self.chain(d.rfind('/').map_or("", |i| &d[..=i])),
        };
        let chain = match (&self.root, dir_rel) {
            (None, _) => None,
            (Some(root), "") => Level::with_files(None, root, "", true, true, &mut Vec::new()),
            (Some(root), _) => match open_below(root, dir_rel) {
                Some(d) => {
                    Level::with_files(parent.as_ref(), &d, dir_rel, true, true, &mut Vec::new())
                }
                None => parent,
            },
        };
        self.chains.insert(dir_rel.to_owned(), chain.clone());
        chain
    }
}

/// The directory `rel` (components separated by `/`) below `root`, opened one component at
/// a time without following symlinks; `None` when it is not there.
fn open_below(root: &Dir, rel: &str) -> Option<Dir> {
    if rel.split('/').any(|c| c == "." || c == "..") {
        return None;
    }
    let mut comps = rel.split('/').filter(|c| !c.is_empty());
    let first = CString::new(comps.next()?).ok()?;
    let mut dir = root.open_dir(&first).ok()?;
    for c in comps {
        dir = dir.open_dir(&CString::new(c).ok()?).ok()?;
    }
    Some(dir)
}

/// The rules of the ignore file `name` in `dir` (at relative `root`, `.` for the workspace
/// root), or `None` when it is absent, not a regular file, or has no rules. It is opened
/// without following a symlink and without blocking (a FIFO is not read). Lines are split
/// and cleaned as the `ignore` crate's own reader does (a UTF-8 BOM dropped from the first
/// line, `\r\n` endings, lines that are not UTF-8 skipped); lines that do not parse are
/// dropped.
fn read_ignore_file(
    dir: &Dir,
    root: &str,
    name: &str,
    oversized: &mut Vec<String>,
) -> Option<Gitignore> {
    let c_name = CString::new(name).ok()?;
    let file = dir.open_file(&c_name).ok()?;
    let meta = file.metadata().ok()?;
    let source = Path::new(root).join(name);
    if !meta.is_file() {
        return None;
    }
    let mut text = Vec::new();
    // A read error keeps what was read before it, as a line reader would.
    let _partial = file.take(MAX_IGNORE_FILE + 1).read_to_end(&mut text);
    if meta.len() > MAX_IGNORE_FILE || text.len() as u64 > MAX_IGNORE_FILE {
        // Not used: the files it would ignore are recorded (never hidden), and the caller
        // is told which file it was.
        oversized.push(source.to_string_lossy().into_owned());
        return None;
    }
    let mut b = GitignoreBuilder::new(root);
    let mut pieces = text.split(|&c| c == b'\n').peekable();
    let mut i = 0;
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        if last && piece.is_empty() {
            break;
        }
        let piece = match piece.strip_suffix(b"\r") {
            Some(p) if !last => p,
            _ => piece,
        };
        if let Ok(line) = std::str::from_utf8(piece) {
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            let _bad_line = b.add_line(Some(source.clone()), line);
        }
        i += 1;
    }
    let gi = b.build().ok()?;
    (gi.num_ignores() + gi.num_whitelists() > 0).then_some(gi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_in_a_baseline_path_never_reads_an_ignore_file_above_the_workspace() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".gitignore"), "*\n").unwrap();
        let ws = d.path().join("ws");
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        let mut r = IgnoreRules::new(&ws);
        for p in ["../secret", "sub/../../secret", "./x", "sub//x"] {
            assert!(!r.is_ignored(p), "{p}");
        }
        assert!(open_below(r.root.as_ref().unwrap(), "../").is_none());
    }

    #[test]
    fn an_oversized_ignore_file_is_not_used_and_reported() {
        let d = tempfile::tempdir().unwrap();
        let mut big = b"*.secret\n".to_vec();
        big.resize(MAX_IGNORE_FILE as usize + 10, b'#');
        std::fs::write(d.path().join(".gitignore"), &big).unwrap();
        let dir = Dir::open_root(d.path()).unwrap();
        let mut oversized = Vec::new();
        assert!(read_ignore_file(&dir, ".", GITIGNORE, &mut oversized).is_none());
        assert_eq!(oversized, ["./.gitignore"]);
    }

    #[test]
    fn fixed_rules() {
        for p in [
            ".ctask",
            ".ctask/session.json",
            "task.yaml",
            "logs/sessions.log",
            ".git/HEAD",
            "sub/.git/config",
            ".git",
        ] {
            assert!(fixed_excluded(p), "{p}");
        }
        for p in [
            "sub/task.yaml",
            "logs/other.log",
            ".gitignore",
            "a.git/x",
            "x/.ctask/y",
        ] {
            assert!(!fixed_excluded(p), "{p}");
        }
    }

    #[test]
    fn ignore_rules_precedence() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::write(root.join(".gitignore"), "*.log\nbuild/\n!keep.log\n").unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/.gitignore"), "!x.log\n").unwrap();
        std::fs::write(root.join(".ctaskignore"), "secret*\nsub/x.log\n").unwrap();
        let mut r = IgnoreRules::new(root);
        assert!(r.is_ignored("a.log"));
        assert!(!r.is_ignored("keep.log"));
        assert!(r.is_ignored("build/deep/file.rs"));
        assert!(!r.is_ignored("src/build.rs"));
        assert!(r.is_ignored("secret.txt"));
        assert!(r.is_ignored("sub/x.log"));
        assert!(!r.is_ignored("sub/y.txt"));
    }
}
