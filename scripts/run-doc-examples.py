#!/usr/bin/env python3
"""Runs every runnable example of README.md and docs/*.md as written (`make docs-test`).

    run-doc-examples.py PYTHON CTASK_BIN_DIR [FILE…]

Runnable are the fenced blocks marked ```sh, ```bash and ```python. A block that cannot run
here says so on the line before its fence, as an HTML comment that renders as nothing:

    <!-- not run: the reason -->

Each block runs in a fresh environment: HOME, the config home and the task root in a new
temporary directory (so the defaults, such as ~/ai-workspaces, are what a new user has),
no inherited CTASK_* variables, the installed `ctask` (CTASK_BIN_DIR) and a stand-in
`claude` (it writes claude-was-here.txt and exits 0) first on PATH. Shell blocks run with
bash -euo pipefail in the repository; Python blocks run with PYTHON (which has the ctask
package) in a scratch directory, and must pass `mypy --strict` too. Prints one line per
block and `docs-examples: N passed, N failed`.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNNABLE = {"sh": "sh", "bash": "sh", "python": "python"}
SKIP = re.compile(r"^<!--\s*not run:\s*(.+?)\s*-->$")
FENCE = re.compile(r"^```(\w*)\s*$")
CLAUDE = "#!/bin/sh\necho \"claude $*\" >> claude-was-here.txt\nexit 0\n"


def blocks(path):
    """Yields (line number, language, skip reason or None, code) for each fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        prev = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        skip = SKIP.match(prev)
        yield start + 1, lang, skip.group(1) if skip else None, "\n".join(lines[start + 1 : j]) + "\n"
        i = j + 1


def environment(tmp, bin_dir, python):
    home = tmp / "home"
    stubs = tmp / "stubs"
    for d in (home, stubs, tmp / "work"):
        d.mkdir(parents=True, exist_ok=True)
    claude = stubs / "claude"
    claude.write_text(CLAUDE)
    claude.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CTASK_") and k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    real_home = os.environ.get("HOME", "/root")
    env.setdefault("CARGO_HOME", os.path.join(real_home, ".cargo"))
    env.setdefault("RUSTUP_HOME", os.path.join(real_home, ".rustup"))
    py_bin = str(Path(python).parent)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        TMUX_TMPDIR=str(tmp),
        NO_COLOR="1",
        PATH=os.pathsep.join([str(stubs), str(bin_dir), py_bin, env.get("PATH", "")]),
    )
    return env


def run_block(lang, code, tmp, env, python):
    if lang == "sh":
        return subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=REPO, env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
    script = tmp / "example.py"
    script.write_text(code)
    done = subprocess.run([python, str(script)], cwd=tmp / "work", env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        return done
    return subprocess.run([python, "-m", "mypy", "--strict", "--no-incremental",
                           "--cache-dir", os.devnull, str(script)],
                          cwd=tmp, env=env, capture_output=True, text=True)


def main():
    python, bin_dir = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve()
    files = [Path(f) for f in sys.argv[3:]] or [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    passed = failed = 0
    for path in files:
        full = path.resolve()
        rel = full.relative_to(REPO) if full.is_relative_to(REPO) else full
        for line, lang, skip, code in blocks(path):
            kind = RUNNABLE.get(lang)
            if kind is None:
                continue
            where = f"{rel}:{line} ({lang})"
            if skip:
                print(f"docs-examples: not run: {where}: {skip}")
                continue
            with tempfile.TemporaryDirectory(prefix="ctask-doc-") as t:
                tmp = Path(t)
                done = run_block(kind, code, tmp, environment(tmp, bin_dir, python), python)
            if done.returncode == 0:
                passed += 1
                print(f"docs-examples: ok: {where}")
            else:
                failed += 1
                print(f"docs-examples: FAIL: {where} (exit {done.returncode})")
                for text in (done.stdout, done.stderr):
                    for l in text.splitlines()[-30:]:
                        print(f"    {l}")
    print(f"docs-examples: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
