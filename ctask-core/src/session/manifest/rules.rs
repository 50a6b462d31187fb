//! Which paths a manifest leaves out: the fixed exclusions, and the workspace's own
//! `.gitignore` / `.ctaskignore` files (for the walker and for filtering old manifests).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{Match, WalkBuilder, WalkParallel};

use super::CaptureOptions;

/// Name of ctask's own ignore file (same syntax as `.gitignore`, higher precedence).
pub const CTASKIGNORE: &str = ".ctaskignore";
const GITIGNORE: &str = ".gitignore";

/// Whether the workspace-relative path `rel` is always excluded: `.ctask/`, the top-level
/// `task.yaml`, `logs/sessions.log`, and anything named `.git` at any depth.
pub(crate) fn fixed_excluded(rel: &str) -> bool {
    rel == ".ctask"
        || rel.starts_with(".ctask/")
        || rel == "task.yaml"
        || rel == "logs/sessions.log"
        || rel.split('/').any(|c| c == ".git")
}

/// The walker, configured so that the result never depends on the machine: hidden files
/// included, no global gitignore, no `.git/info/exclude`, no parent directories, no
/// `.ignore` files, gitignore honoured without a git repository, links never followed.
pub(crate) fn walker(root: &Path, opts: &CaptureOptions, threads: usize) -> WalkParallel {
    let mut b = WalkBuilder::new(root);
    b.standard_filters(false)
        .hidden(false)
        .parents(false)
        .ignore(false)
        .git_global(false)
        .git_exclude(false)
        .git_ignore(opts.respect_ignore)
        .require_git(false)
        .ignore_case_insensitive(false)
        .follow_links(false)
        .same_file_system(false)
        .skip_stdout(false)
        .threads(threads);
    if opts.respect_ignore {
        b.add_custom_ignore_filename(CTASKIGNORE);
    }
    b.filter_entry(|e| !fixed_excluded_entry(e));
    b.build_parallel()
}

/// [`fixed_excluded`] for a walker entry, from its depth and names alone (its ancestors
/// have passed the same test).
fn fixed_excluded_entry(e: &ignore::DirEntry) -> bool {
    let name = e.file_name();
    match e.depth() {
        0 => false,
        _ if name == ".git" => true,
        1 => name == ".ctask" || name == "task.yaml",
        2 => {
            name == "sessions.log"
                && e.path().parent().and_then(Path::file_name) == Some("logs".as_ref())
        }
        _ => false,
    }
}

/// The ignore files of one directory.
#[derive(Default)]
struct Level {
    ctask: Option<Gitignore>,
    git: Option<Gitignore>,
}

/// Answers "would the walker skip this path?" for paths that need not exist, with the
/// walker's precedence: a `.ctaskignore` match (deepest first) beats any `.gitignore`
/// match (deepest first); a path inside an ignored directory is ignored.
pub(crate) struct IgnoreRules {
    root: PathBuf,
    levels: HashMap<String, Level>,
    dirs: HashMap<String, bool>,
}

impl IgnoreRules {
    /// Rules read lazily from the ignore files under `root`.
    pub(crate) fn new(root: &Path) -> Self {
        IgnoreRules {
            root: root.to_path_buf(),
            levels: HashMap::new(),
            dirs: HashMap::new(),
        }
    }

    /// Whether the file at workspace-relative `rel` is ignored (by itself or by a parent).
    pub(crate) fn is_ignored(&mut self, rel: &str) -> bool {
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            let dir = &rel[..end + i];
            if self.dir_ignored(dir) {
                return true;
            }
            end += i + 1;
        }
        self.matches(rel, false)
    }

    fn dir_ignored(&mut self, dir: &str) -> bool {
        if let Some(&known) = self.dirs.get(dir) {
            return known;
        }
        let ignored = self.matches(dir, true);
        self.dirs.insert(dir.to_owned(), ignored);
        ignored
    }

    /// Whether `rel` itself is matched as ignored by the ignore files of its ancestors.
    fn matches(&mut self, rel: &str, is_dir: bool) -> bool {
        let full = self.root.join(rel);
        let ancestors: Vec<&str> = std::iter::once("")
            .chain(rel.match_indices('/').map(|(i, _)| &rel[..i]))
            .collect();
        for &a in &ancestors {
            self.load(a);
        }
        let pick = |m: &dyn Fn(&Level) -> Option<&Gitignore>| {
            ancestors.iter().rev().find_map(|a| {
                match self.levels.get(*a).and_then(m)?.matched(&full, is_dir) {
                    Match::None => None,
                    Match::Ignore(_) => Some(true),
                    Match::Whitelist(_) => Some(false),
                }
            })
        };
        pick(&|l: &Level| l.ctask.as_ref())
            .or_else(|| pick(&|l: &Level| l.git.as_ref()))
            .unwrap_or(false)
    }

    fn load(&mut self, dir: &str) {
        if self.levels.contains_key(dir) {
            return;
        }
        let path = self.root.join(dir);
        let level = Level {
            ctask: read_ignore_file(&path, CTASKIGNORE),
            git: read_ignore_file(&path, GITIGNORE),
        };
        self.levels.insert(dir.to_owned(), level);
    }
}

/// The rules of `dir/name`, or `None` when it is absent or has none. Lines that do not
/// parse are dropped, as the walker does.
fn read_ignore_file(dir: &Path, name: &str) -> Option<Gitignore> {
    let file = dir.join(name);
    let mut b = GitignoreBuilder::new(dir);
    let _partial = b.add(&file);
    let gi = b.build().ok()?;
    (gi.num_ignores() + gi.num_whitelists() > 0).then_some(gi)
}

#[cfg(test)]
mod tests {
    use super::*;

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
