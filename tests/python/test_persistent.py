"""Persistent sessions from Python: `ctask.run(path, argv, mode="persistent")` starts the agent
in tmux under a detached supervisor (this interpreter running `-m ctask __supervise`) and
returns once the tmux session runs.

Every test uses a private tmux server (`TMUX_TMPDIR` in this process's environment, which
the supervisor and tmux inherit) and kills it at teardown. Without tmux the tests are skipped,
except under `CI=true`, where a missing tmux is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import ctask


def tmux_has(exe: str, name: str) -> bool:
    r = subprocess.run(
        [exe, "has-session", "-t", f"={name}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    return r.returncode == 0


def log_text(path: Path) -> str:
    log = path / "logs" / "sessions.log"
    return log.read_text() if log.exists() else ""


def wait_for_summary(path: Path, session_id: str, timeout: float = 30.0) -> ctask.Summary:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = ctask.status(path)
        last = st.last_summary
        if last is not None and last.session_id == session_id and st.state == "none":
            return last
        time.sleep(0.1)
    raise AssertionError(f"session {session_id} did not end within {timeout} s")


def test_detached_start_runs_in_tmux_and_ends_by_itself(
    ws: ctask.Workspace, tmux: str
) -> None:
    started = ctask.run(
        ws.path, ["sh", "-c", "echo hi > f.txt; sleep 2"], mode="persistent", agent="py-tmux"
    )
    assert isinstance(started, ctask.PersistentSession)
    assert started.tmux_session.startswith("ctask-tests-python-test-")
    assert started.workspace == ws.path
    assert started.adopted is False
    assert started.supervisor_pid > 0
    assert started.attach_command() == ["tmux", "attach-session", "-t", f"={started.tmux_session}"]
    text = repr(started)
    assert text.startswith("PersistentSession(session_id=")
    for field in ("tmux_session=", "supervisor_pid=", "adopted=False", "warnings=[]"):
        assert field in text

    # The tmux session exists as soon as run() returns, and the session is recorded.
    assert tmux_has(tmux, started.tmux_session)
    st = ctask.status(ws.path)
    assert st.state == "active"
    assert st.mode == "persistent"
    assert st.tmux_session == started.tmux_session
    assert st.lease is not None
    assert st.lease.session_id == started.session_id
    assert st.lease.pid == started.supervisor_pid
    assert st.lease.agent == "py-tmux"
    assert st.lease.pid != os.getpid()

    summary = wait_for_summary(ws.path, started.session_id)
    assert summary.files_added == ["f.txt"]
    assert summary.end_reason == "tmux_session_ended"
    assert summary.detected_via == "polling"
    assert summary.session_ownership == "created"
    assert summary.mode == "persistent"
    assert summary.exit_code == 0
    assert (ws.path / "f.txt").read_text() == "hi\n"
    assert not tmux_has(tmux, started.tmux_session)
    assert not (ws.path / ".ctask" / "session.json").exists()

    log = (ws.path / "logs" / "sessions.log").read_text()
    mine = [line for line in log.splitlines() if f"id={started.session_id}" in line]
    assert len(mine) == 2, mine


def test_agent_environment_and_exit_code(ws: ctask.Workspace, tmux: str) -> None:
    script = 'printf "%s %s" "$CTASK_SESSION_MODE" "$EXTRA" > env.txt; exit 7'
    started = ctask.run(
        ws.path, ["sh", "-c", script], mode="persistent", env={"EXTRA": "from-python"}
    )
    summary = wait_for_summary(ws.path, started.session_id)
    assert summary.exit_code == 7
    assert summary.agent == "sh"
    assert (ws.path / "env.txt").read_text() == "persistent from-python"


def test_a_ctask_module_in_the_launch_dir_does_not_shadow_the_package(
    ws: ctask.Workspace, tmux: str
) -> None:
    (ws.path / "ctask.py").write_text("raise SystemExit(99)\n")
    started = ctask.run(ws.path, ["sh", "-c", "echo ok > ok.txt"], mode="persistent")
    summary = wait_for_summary(ws.path, started.session_id)
    assert summary.exit_code == 0
    assert summary.files_added == ["ok.txt"]


def test_busy_workspace_is_refused(ws: ctask.Workspace, tmux: str) -> None:
    started = ctask.run(ws.path, ["sleep", "30"], mode="persistent")
    try:
        with pytest.raises(ctask.ActiveSessionError) as info:
            ctask.run(ws.path, ["sh", "-c", "echo no > no.txt"], mode="persistent")
        assert info.value.session_id == started.session_id
        assert info.value.pid == started.supervisor_pid
        with pytest.raises(ctask.ActiveSessionError):
            ctask.run(ws.path, ["true"])
    finally:
        subprocess.run(
            [tmux, "kill-session", "-t", f"={started.tmux_session}"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
    summary = wait_for_summary(ws.path, started.session_id)
    assert summary.end_reason == "tmux_session_ended"
    assert not (ws.path / "no.txt").exists()


def test_missing_agent_begins_nothing(ws: ctask.Workspace, tmux: str) -> None:
    with pytest.raises(ctask.AgentNotFoundError) as info:
        ctask.run(ws.path, ["no-such-agent-xyz"], mode="persistent")
    assert info.value.command == "no-such-agent-xyz"
    assert ctask.status(ws.path).state == "none"
    assert " start " not in log_text(ws.path)


def test_missing_tmux_is_a_tmux_error_and_begins_nothing(
    ws: ctask.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs whether tmux is installed or not: PATH below holds no tmux either way.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "sleep"):
        real = shutil.which(tool)
        assert real is not None
        (bin_dir / tool).symlink_to(real)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("TMUX_TMPDIR", str(tmp_path))
    before = sorted(p.name for p in (ws.path / ".ctask").iterdir()) if (
        ws.path / ".ctask"
    ).exists() else []
    with pytest.raises(ctask.TmuxError) as info:
        ctask.run(ws.path, ["sh", "-c", "echo hi > f.txt"], mode="persistent")
    assert "tmux" in str(info.value)
    assert ctask.status(ws.path).state == "none"
    assert not (ws.path / "f.txt").exists()
    after = sorted(p.name for p in (ws.path / ".ctask").iterdir()) if (
        ws.path / ".ctask"
    ).exists() else []
    assert "session.json" not in after
    assert after == before
    assert " start " not in log_text(ws.path)


def test_bad_arguments(ws: ctask.Workspace, root: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        ctask.run(ws.path, ["true"], mode="tmux")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="coexist"):
        ctask.run(ws.path, ["true"], mode="persistent", on_active="coexist")
    with pytest.raises(ValueError, match="heartbeat"):
        ctask.run(ws.path, ["true"], mode="persistent", heartbeat=False)
    with pytest.raises(ValueError, match="empty"):
        ctask.run(ws.path, [], mode="persistent")
    with pytest.raises(TypeError):
        ctask.run(ws.path, "sh -c true", mode="persistent")
    with pytest.raises(ctask.WorkspaceNotFoundError):
        ctask.run(root / "nowhere", ["true"], mode="persistent")
    assert ctask.status(ws.path).state == "none"


def test_status_json_of_the_cli_agrees(ws: ctask.Workspace, tmux: str, ctask_bin: str) -> None:
    started = ctask.run(ws.path, ["sleep", "3"], mode="persistent")
    r = subprocess.run(
        [ctask_bin, "status", str(ws.path), "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["state"] == "active"
    assert st["mode"] == "persistent"
    assert st["tmux_session"] == started.tmux_session
    wait_for_summary(ws.path, started.session_id)
