"""Fixtures for the tests of the installed `ctask` wheel.

Every test runs with a private HOME, config directory and task root, so neither the
user's config nor their workspaces are touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ctask

CTASK_VARS = [
    "CTASK_ROOT",
    "CTASK_PROJECT_ROOT",
    "CTASK_SEED_DIR",
    "CTASK_SEED_PROJECT_DIR",
    "CTASK_AGENT",
    "CTASK_SESSION_MODE",
    "CTASK_HEARTBEAT_SECONDS",
    "CTASK_STALE_AFTER_SECONDS",
    "CTASK_WORKSPACE",
    "CTASK_LAUNCH_DIR",
    "CTASK_SESSION_ID",
    "CTASK_TASK",
]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOME and task root; returns the root."""
    for var in CTASK_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "root"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("CTASK_ROOT", str(root))
    monkeypatch.setenv("CTASK_PROJECT_ROOT", str(tmp_path / "projects"))
    yield root


@pytest.fixture
def root(isolated: Path) -> Path:
    return isolated


@pytest.fixture
def ws(root: Path) -> ctask.Workspace:
    """A fresh task workspace."""
    return ctask.Workspace.create("Python test", category="tests")


@pytest.fixture(scope="session")
def ctask_bin() -> str:
    """The `ctask` command installed by the wheel (next to this interpreter)."""
    candidate = Path(sys.executable).parent / "ctask"
    found = str(candidate) if candidate.exists() else shutil.which("ctask")
    assert found, "the ctask command is not installed next to the interpreter (install the wheel)"
    return found


def files_of(path: Path) -> dict[str, bytes]:
    """Every regular file under `path` with its content (for nothing-changed checks)."""
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(path))] = p.read_bytes()
    return out


def _tmux_or_skip() -> str:
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required for the persistent-mode tests under CI=true")
        pytest.skip("tmux is not installed")
    return found


@pytest.fixture
def tmux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private tmux server for this test; yields the tmux executable."""
    exe = _tmux_or_skip()
    sock_dir = tmp_path / "tmux"
    sock_dir.mkdir(mode=0o700)
    monkeypatch.setenv("TMUX_TMPDIR", str(sock_dir))
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("CTASK_HEARTBEAT_SECONDS", "1")
    try:
        yield exe
    finally:
        subprocess.run(
            [exe, "kill-server"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
