//! Shell completion through the built binary: the bash script driven by bash itself, the
//! completion entry point for zsh and fish, workspace slugs for QUERY arguments, and
//! `ctask completion` without a shell.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;

use common::{Env, bin, path_str};

/// `ctask new TITLE --no-launch` with extra arguments.
fn new_ws(env: &Env, args: &[&str]) {
    let mut all = vec!["new", "--no-launch"];
    all.extend_from_slice(args);
    env.run(&all).ok();
}

/// Three workspaces (`first-thing`, `fix-bug`, `other`) and an archived `old-idea`.
fn populated() -> Env {
    let env = Env::new();
    for title in ["first thing", "fix bug", "other", "old idea"] {
        new_ws(&env, &[title]);
    }
    env.run(&["archive", "old-idea"]).ok();
    env
}

/// Sources `ctask completion bash` in bash and completes `line` (the cursor at its end);
/// returns the candidates bash would offer.
fn bash_complete(env: &Env, line: &str) -> BTreeSet<String> {
    let script = env.scratch("ctask.bash");
    let out = env.run(&["completion", "bash"]);
    out.ok();
    fs::write(&script, &out.stdout).expect("write the script");
    let driver = r#"
source "$1"
read -r -a COMP_WORDS <<<"$2"
[[ "$2" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9
cur="${COMP_WORDS[COMP_CWORD]}"
prev="${COMP_WORDS[COMP_CWORD-1]}"
_clap_complete_ctask ctask "$cur" "$prev"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let mut cmd = Command::new("bash");
    env.isolate(&mut cmd);
    let done = cmd
        .current_dir(env.scratch_dir())
        .args(["-c", driver, "driver", path_str(&script), line])
        .output()
        .expect("run bash");
    assert!(
        done.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    String::from_utf8_lossy(&done.stdout)
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Asks the completion entry point as `shell`'s script does for the words of `line`
/// (the last one is being completed); returns the values, without descriptions.
fn entry_point(env: &Env, shell: &str, line: &[&str]) -> BTreeSet<String> {
    let mut cmd = Command::new(bin());
    env.isolate(&mut cmd);
    cmd.current_dir(env.scratch_dir())
        .env("_CTASK_COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (line.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(line);
    let out = cmd.output().expect("run ctask");
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sep = if shell == "zsh" { ':' } else { '\t' };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(sep).next().unwrap_or(l).to_string())
        .collect()
}

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn bash_completes_workspace_slugs_for_query_arguments() {
    let env = populated();
    assert_eq!(
        bash_complete(&env, "ctask resume fi"),
        set(&["first-thing", "fix-bug"])
    );
    assert_eq!(bash_complete(&env, "ctask info oth"), set(&["other"]));
    assert_eq!(bash_complete(&env, "ctask delete fix"), set(&["fix-bug"]));
    // Archived workspaces are offered to restore only.
    let restore = bash_complete(&env, "ctask restore ");
    assert!(restore.contains("old-idea"), "{restore:?}");
    assert!(
        !restore
            .iter()
            .any(|c| !c.starts_with('-') && c != "old-idea")
    );
    assert!(bash_complete(&env, "ctask resume o").contains("other"));
    assert!(!bash_complete(&env, "ctask resume o").contains("old-idea"));
    // Subcommands and flags still complete.
    assert_eq!(bash_complete(&env, "ctask ar"), set(&["archive"]));
    assert!(bash_complete(&env, "ctask resume --fo").contains("--force"));
}

#[test]
fn zsh_and_fish_get_the_same_workspace_candidates() {
    let env = populated();
    for shell in ["zsh", "fish", "bash"] {
        assert_eq!(
            entry_point(&env, shell, &["ctask", "resume", "fi"]),
            set(&["first-thing", "fix-bug"]),
            "{shell}"
        );
        assert_eq!(
            entry_point(&env, shell, &["ctask", "status", "ot"]),
            set(&["other"]),
            "{shell}"
        );
    }
}

#[test]
fn a_shared_slug_is_offered_by_directory_name_and_root_flag_is_honoured() {
    let env = Env::new();
    new_ws(&env, &["dup", "-c", "alpha"]);
    new_ws(&env, &["dup", "-c", "beta"]);
    new_ws(&env, &["solo", "-c", "beta"]);
    let got = entry_point(&env, "fish", &["ctask", "path", ""]);
    // The same directory name in two categories: neither the slug nor the name would
    // resolve, so each is offered by its path.
    for cat in ["alpha", "beta"] {
        let dir = env.root().join(cat).join(format!("{}_dup", today()));
        let path = fs::canonicalize(&dir).expect("workspace exists");
        assert!(got.contains(path_str(&path)), "{got:?}");
    }
    assert!(got.contains("solo"), "{got:?}");
    assert!(!got.contains("dup"), "{got:?}");

    let other = env.scratch("other-root");
    fs::create_dir(&other).expect("mkdir");
    let other_s = path_str(&other).to_string();
    let mut cmd = Command::new(bin());
    env.isolate(&mut cmd);
    let made = cmd
        .args(["--root", &other_s, "new", "elsewhere", "--no-launch"])
        .output()
        .expect("ctask new");
    assert!(made.status.success());
    let line = ["ctask", "--root", &other_s, "info", "e"];
    assert_eq!(entry_point(&env, "fish", &line), set(&["elsewhere"]));
    assert!(entry_point(&env, "fish", &["ctask", "info", "e"]).is_empty());
}

#[test]
fn completion_without_a_shell_lists_the_shells() {
    let env = Env::new();
    let out = env.run(&["completion"]);
    out.ok();
    let shells: Vec<&str> = out.stdout.lines().collect();
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.contains(&shell), "{shells:?}");
    }
}

#[test]
fn the_zsh_script_completes_when_autoloaded_from_fpath() {
    let env = Env::new();
    let out = env.run(&["completion", "zsh", "--completer", "ctask"]);
    out.ok();
    assert!(out.stdout.starts_with("#compdef ctask\n"), "{}", out.stdout);
    // Autoloaded as `_ctask`, the file must call the completer, not only register it.
    assert!(
        out.stdout
            .contains("if [ \"$funcstack[1]\" = \"_ctask\" ]; then\n    _clap_dynamic_completer_ctask \"$@\"\nfi"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("_CTASK_COMPLETE=\"zsh\" \\\n        ctask -- ")
    );
}

/// Types `ctask resume fi<TAB>` in an interactive zsh (under `zpty`) whose `$fpath` holds
/// `ctask completion zsh` saved as `_ctask`, and returns what the terminal showed.
fn zsh_tab(env: &Env, fpath_dir: &std::path::Path) -> Option<String> {
    if Command::new("zsh").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "zsh is required under CI=true"
        );
        println!("skipped: zsh is not installed");
        return None;
    }
    let driver = r#"
zmodload zsh/zpty
zpty -b z "zsh -f -i"
zpty -w z 'PS1="> "; fpath=("$CTASK_TEST_FPATH" $fpath); autoload -Uz compinit; compinit -u -D; LISTMAX=1000'
zpty -w -n z $'ctask resume fi\t'
zpty -w -n z $'\C-a\C-kecho DO""NE\n'
zpty -r z out '*DONE*'
print -r -- "$out"
zpty -d z
"#;
    let bin_dir = bin().parent().expect("bin dir").to_path_buf();
    let path = format!(
        "{}:{}",
        path_str(&bin_dir),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("timeout");
    env.isolate(&mut cmd);
    let done = cmd
        .current_dir(env.scratch_dir())
        .env("PATH", path)
        .env("CTASK_TEST_FPATH", fpath_dir)
        .args(["60", "zsh", "-f", "-c", driver])
        .output()
        .expect("run zsh");
    assert!(
        done.status.success(),
        "zsh driver: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    Some(String::from_utf8_lossy(&done.stdout).into_owned())
}

#[test]
fn zsh_completes_workspace_slugs_from_fpath() {
    let env = populated();
    let fpath_dir = env.scratch("zsh-functions");
    fs::create_dir(&fpath_dir).expect("mkdir");
    let out = env.run(&["completion", "zsh", "--completer", "ctask"]);
    out.ok();
    fs::write(fpath_dir.join("_ctask"), &out.stdout).expect("write _ctask");
    let Some(screen) = zsh_tab(&env, &fpath_dir) else {
        return;
    };
    // The first TAB already completes (the autoloaded file calls the completer).
    for slug in ["first-thing", "fix-bug"] {
        assert!(screen.contains(slug), "no {slug} on the screen:\n{screen}");
    }
    assert!(!screen.contains("old-idea"), "{screen}");
}
