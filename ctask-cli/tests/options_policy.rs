//! One policy for options: a bad option given to the CLI gets the core's error (the same
//! kind the C ABI, Python and Go report: invalid argument, naming the option) and changes
//! nothing.

mod common;

use common::*;

#[test]
fn a_heartbeat_above_half_of_stale_after_is_refused_naming_it() {
    let env = Env::new();
    let ws = env.new_ws("Options policy");
    let before = tree_snapshot(&ws);
    for (hb, stale) in [("40", "60"), ("0", "60")] {
        let mut cmd = env.cmd(&sh_args(&ws, &[], "echo ran > ran.txt", &[]));
        cmd.env("CTASK_HEARTBEAT_SECONDS", hb)
            .env("CTASK_STALE_AFTER_SECONDS", stale);
        let out = env.run_cmd(cmd);
        out.code_is(1);
        assert!(out.stderr.contains("heartbeat_seconds"), "{out:?}");
        assert!(!ws.join("ran.txt").exists(), "the agent ran: {out:?}");
        assert_eq!(
            tree_snapshot(&ws),
            before,
            "a refused begin wrote something"
        );
    }
}

#[test]
fn attach_without_a_terminal_is_a_clear_error_that_writes_nothing() {
    let env = Env::new();
    if !tmux_available() {
        return;
    }
    let ws = env.new_ws("Attach needs a terminal");
    let before = tree_snapshot(&ws);
    let out = env.run(&["attach", path_str(&ws)]);
    out.code_is(1);
    assert!(out.stderr.contains("needs a terminal"), "{out:?}");
    assert!(out.stderr.contains("--detach"), "{out:?}");
    assert_eq!(tree_snapshot(&ws), before);
}

#[test]
fn an_empty_agent_is_refused_by_the_core_rule() {
    let env = Env::new();
    let out = env.run(&["new", "Empty agent", "-a", " ", "--no-launch"]);
    out.code_is(1);
    assert!(out.stderr.contains("must name a command"), "{out:?}");
    let ws = env.new_ws("Empty agent on resume");
    let before = tree_snapshot(&ws);
    let out = env.run(&["resume", path_str(&ws), "-a", ""]);
    out.code_is(1);
    assert!(out.stderr.contains("must name a command"), "{out:?}");
    assert_eq!(tree_snapshot(&ws), before);
}

#[test]
fn an_empty_root_flag_is_refused_naming_it() {
    // The command line refuses it as a usage error before the core sees it.
    let env = Env::new();
    let out = env.run(&["--root", "", "list"]);
    out.code_is(2);
    assert!(out.stderr.contains("--root"), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}
