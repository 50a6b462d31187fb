"""One rule for the agent's environment: the CLI, `ctask.run` and `ctask.Session` give the
agent the same `CTASK_*` variables — `CTASK_ROOT` included — for a workspace under the task
root and for one opened by path from elsewhere."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import ctask


def _ctask_vars(dump: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in dump.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("CTASK_") and key != "CTASK_SESSION_ID":
            out[key] = value
    return out


def _script(dump: Path) -> list[str]:
    return ["sh", "-c", 'env > "$1"', "sh", str(dump)]


@pytest.mark.parametrize("root_from", ["environment", "config-file"])
@pytest.mark.parametrize("where", ["under-root", "elsewhere"])
def test_every_face_gives_the_agent_one_environment(
    where: str,
    root_from: str,
    root: Path,
    tmp_path: Path,
    ctask_bin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if root_from == "config-file":
        config = Path(os.environ["XDG_CONFIG_HOME"]) / "ctask" / "config.yaml"
        config.parent.mkdir(parents=True)
        config.write_text(f"root: {root}\n")
        monkeypatch.delenv("CTASK_ROOT")
    if where == "under-root":
        ws = ctask.Workspace.create("Env rule", category="tests")
    else:
        ws = ctask.Workspace.create("Env rule", category="tests", root=tmp_path / "elsewhere")
    dumps = tmp_path / f"dumps-{where}"
    dumps.mkdir()

    cli = dumps / "cli"
    r = subprocess.run(
        [ctask_bin, "resume", str(ws.path), "-a", "sh", "--", "-c", 'env > "$1"', "sh", str(cli)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r

    run = dumps / "run"
    assert ctask.run(ws.path, _script(run)).exit_code == 0

    with ctask.Session(ws.path, agent="sh") as s:
        session_env = {k: v for k, v in s.env.items() if k != "CTASK_SESSION_ID"}
        launch_dir = s.launch_dir

    # The session's variables (the agent also inherits this process's environment).
    keys = {k for k in session_env if k.startswith("CTASK_")}
    assert {"CTASK_ROOT", "CTASK_WORKSPACE", "CTASK_TASK", "CTASK_LAUNCH_DIR"} <= keys
    from_cli = {k: v for k, v in _ctask_vars(cli).items() if k in keys}
    from_run = {k: v for k, v in _ctask_vars(run).items() if k in keys}
    assert from_cli == from_run == {k: session_env[k] for k in keys}
    # The rule itself: the configured task root, wherever the workspace lies.
    assert from_run["CTASK_ROOT"] == str(root)
    assert from_run["CTASK_WORKSPACE"] == str(ws.path)
    assert Path(launch_dir) == ws.path
