"""One policy for options: Python reports a bad option with the core's rule and message
(the same option named by the CLI and the C ABI), before anything is written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import ctask
from conftest import files_of


@pytest.mark.parametrize(("heartbeat", "stale"), [("40", "60"), ("0", "60")])
def test_bad_heartbeat_is_refused_naming_it(
    ws: ctask.Workspace, monkeypatch: pytest.MonkeyPatch, heartbeat: str, stale: str
) -> None:
    before = files_of(ws.path)
    monkeypatch.setenv("CTASK_HEARTBEAT_SECONDS", heartbeat)
    monkeypatch.setenv("CTASK_STALE_AFTER_SECONDS", stale)
    with pytest.raises(ValueError, match="heartbeat_seconds"):
        ctask.Session(ws.path)
    with pytest.raises(ValueError, match="heartbeat_seconds"):
        ctask.run(ws.path, ["true"])
    assert files_of(ws.path) == before


def test_mode_and_on_active_use_the_core_parser(ws: ctask.Workspace) -> None:
    with pytest.raises(ValueError, match="`mode`"):
        ctask.run(ws.path, ["true"], mode="tmux")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="`on_active`"):
        ctask.Session(ws.path, on_active="share")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`agent`"):
        ctask.Session(ws.path, agent=" ")


def test_resolve_reports_the_session_as_info_does(ws: ctask.Workspace, ctask_bin: str) -> None:
    assert ctask.resolve(str(ws.path)).session_state is None
    with ctask.Session(ws.path, agent="probe"):
        found = ctask.resolve(str(ws.path))
        assert found.session_state == "active"
        info = subprocess.run(
            [ctask_bin, "info", str(ws.path), "--json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert info.returncode == 0, info
        assert json.loads(info.stdout)["session"]["state"] == found.session_state
    after = ctask.resolve(str(ws.path))
    assert after.session_state is None
    assert after.last_ended_at is not None


def test_agent_and_kind_use_the_core_rules(root: Path) -> None:
    with pytest.raises(ValueError, match="must name a command"):
        ctask.Workspace.create("Empty agent", agent=" ")
    with pytest.raises(ValueError, match="`kind`"):
        ctask.list_workspaces(kind="both")  # type: ignore[arg-type]
    assert not root.exists() or not any(root.iterdir())


def test_an_empty_root_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="`root` must not be empty"):
        ctask.list_workspaces(root="")
