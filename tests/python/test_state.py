"""Agent state from Python: set_state inside a session, refused outside one, seen by
status and list_workspaces; a failing before_begin hook raises HookError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ctask


def _dir_bytes(d: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_state_transitions_are_seen_by_status(ws: ctask.Workspace) -> None:
    with ctask.Session(ws.path, agent="py-agent") as s:
        assert ctask.status(ws.path).agent_state is None
        sid = ctask.set_state(ws.path, "working", session_id=s.env["CTASK_SESSION_ID"])
        assert sid == s.env["CTASK_SESSION_ID"]
        st = ctask.status(ws.path)
        assert st.agent_state == "working"
        assert st.agent_message is None
        assert st.agent_state_at is not None
        assert st.agent_state_age_s is not None and st.agent_state_age_s >= 0

        ctask.set_state(ws.path, "waiting", message="Allow rm -rf build?")
        st = ctask.status(ws.path)
        assert (st.agent_state, st.agent_message) == ("waiting", "Allow rm -rf build?")
        assert "agent_state='waiting'" in repr(st)
        listed = ctask.list_workspaces()
        assert [w.agent_state for w in listed] == ["waiting"]

        ctask.set_state(ws.path, "done")
        assert ctask.status(ws.path).agent_state == "done"
    log = (ws.path / "logs" / "sessions.log").read_text()
    states = [line.split()[3] for line in log.splitlines() if line.split()[1] == "state"]
    assert states == ["state=working", "state=waiting", "state=done"]
    assert ctask.status(ws.path).agent_state is None


def test_state_outside_a_session_is_refused_and_writes_nothing(ws: ctask.Workspace) -> None:
    before = _dir_bytes(ws.path)
    with pytest.raises(ValueError, match="no session is running"):
        ctask.set_state(ws.path, "idle", session_id="host-1-20260101T000000Z-abcd")
    assert _dir_bytes(ws.path) == before


def test_bad_state_and_message_are_refused(ws: ctask.Workspace) -> None:
    with ctask.Session(ws.path):
        lease = (ws.path / ".ctask" / "session.json").read_bytes()
        with pytest.raises(ValueError, match="unknown agent state"):
            ctask.set_state(ws.path, "sleeping")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="control character"):
            ctask.set_state(ws.path, "waiting", message="a\x1b[2Jb")
        with pytest.raises(ValueError, match="at most 1024"):
            ctask.set_state(ws.path, "waiting", message="x" * 1025)
        assert (ws.path / ".ctask" / "session.json").read_bytes() == lease


def test_failing_before_begin_hook_raises_hook_error(
    ws: ctask.Workspace, root: Path
) -> None:
    cfg = Path.home() / ".config" / "ctask"
    cfg.mkdir(parents=True)
    (cfg / "config.yaml").write_text(
        "hooks:\n  before_begin: " + json.dumps(["sh", "-c", "exit 4"]) + "\n"
    )
    before = _dir_bytes(ws.path)
    with pytest.raises(ctask.HookError) as e:
        with ctask.Session(ws.path):
            pass
    assert (e.value.hook, e.value.program, e.value.exit) == ("before_begin", "sh", "4")
    assert "exit code 4" in str(e.value)
    assert _dir_bytes(ws.path) == before


def test_failing_on_create_hook_is_a_warning(root: Path) -> None:
    cfg = Path.home() / ".config" / "ctask"
    cfg.mkdir(parents=True)
    (cfg / "config.yaml").write_text(
        "hooks:\n  on_create: " + json.dumps(["sh", "-c", "exit 2"]) + "\n"
    )
    with pytest.warns(ctask.CtaskWarning, match="hook on_create \\(sh\\) failed: exit code 2"):
        ws = ctask.Workspace.create("Hooked from Python")
    assert ws.path.is_dir()
    log = (ws.path / "logs" / "sessions.log").read_text()
    assert log.split(" ", 1)[1] == "hook id=- name=on_create exit=2\n"
