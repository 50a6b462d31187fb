"""The `ctask` command hosted by Python (the wheel's console script and `python -m ctask`):
persistent sessions re-enter ctask through this interpreter, never through the interpreter
pretending to be the `ctask` binary.

Each test uses a private tmux server (`TMUX_TMPDIR`); under `CI=true` a missing tmux fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ctask


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    # No terminal: stdin from /dev/null, output captured.
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def _status(launcher: list[str], path: Path) -> dict[str, object]:
    r = _run([*launcher, "status", str(path), "--json"])
    assert r.returncode == 0, r
    data = json.loads(r.stdout)
    assert isinstance(data, dict)
    return data


def _cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [a.decode() for a in raw.split(b"\0") if a]


@pytest.mark.parametrize("how", ["console-script", "python-m"])
def test_detached_session_from_the_python_hosted_cli(
    how: str, ctask_bin: str, tmux: str, tmp_path: Path
) -> None:
    launcher = [ctask_bin] if how == "console-script" else [sys.executable, "-m", "ctask"]
    ws = ctask.Workspace.create(f"hosted {how}", category="tests")
    gate = tmp_path / "gate"
    script = f'while [ ! -e "{gate}" ]; do sleep 0.1; done; exit 7'

    r = _run([*launcher, "resume", str(ws.path), "--detach", "-a", "/bin/sh", "--", "-c", script])
    assert r.returncode == 0, r
    assert "started session" in r.stderr, r

    st = _status(launcher, ws.path)
    assert st["state"] == "active", st
    lease = st["lease"]
    assert isinstance(lease, dict)
    pid = lease["pid"]
    assert isinstance(pid, int)
    # The owner is this interpreter running the package, in its owner stage.
    owner = _cmdline(pid)
    assert owner[0] == sys.executable or Path(owner[0]).resolve() == Path(sys.executable).resolve(), owner
    assert owner[-2:] == ["__supervise", "--owner"], owner
    assert "ctask" in owner, owner

    # attach without a terminal: a clear error, and the session goes on untouched.
    r = _run([*launcher, "attach", str(ws.path)])
    assert r.returncode == 1, r
    assert "needs a terminal" in r.stderr and "--detach" in r.stderr, r
    assert _status(launcher, ws.path)["state"] == "active"

    gate.write_text("")
    deadline = time.monotonic() + 60
    while True:
        st = _status(launcher, ws.path)
        last = st.get("last_summary")
        if st["state"] == "none" and isinstance(last, dict) and last.get("exit_code") == 7:
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.2)
