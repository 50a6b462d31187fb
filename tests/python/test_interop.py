"""One session, several faces: Python begins, the CLI (the wheel's `ctask`) sees it."""

from __future__ import annotations

import json
import multiprocessing
import os
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
import subprocess
import sys
from pathlib import Path

import pytest

import ctask

from conftest import files_of


def cli(ctask_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ctask_bin, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_sees_python_session_and_refuses_a_second_begin(
    ws: ctask.Workspace, ctask_bin: str
) -> None:
    with ctask.Session(ws.path, agent="py-interop") as s:
        r = cli(ctask_bin, "status", str(ws.path), "--json")
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert st["state"] == "active"
        assert st["lease"]["session_id"] == s.id
        assert st["lease"]["agent"] == "py-interop"
        assert st["lease"]["pid"] == os.getpid()

        busy = cli(ctask_bin, "resume", str(ws.path), "-a", "true")
        assert busy.returncode == 3, busy.stderr
        assert s.id in busy.stderr
        (ws.path / "from-python.txt").write_text("hi\n")

    r = cli(ctask_bin, "log", str(ws.path), "--json")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    mine = [e for e in entries if e["fields"].get("id") == s.id]
    assert [e["event"] for e in mine] == ["start", "end"]
    end = mine[1]["fields"]
    assert end["agent"] == "py-interop"
    assert end["added"] == "1"
    assert end["reason"] == "child_exited"
    assert "py-interop" in cli(ctask_bin, "log", str(ws.path)).stdout


def test_cli_session_is_seen_by_python(ws: ctask.Workspace, ctask_bin: str) -> None:
    r = cli(ctask_bin, "resume", str(ws.path), "-a", "sh", "--", "-c", "echo x > cli.txt")
    assert r.returncode == 0, r.stderr
    st = ctask.status(ws.path)
    assert st.state == "none"
    assert st.last_summary is not None
    assert st.last_summary.files_added == ["cli.txt"]
    assert st.last_summary.agent == "sh"


def test_python_module_and_console_script(ctask_bin: str, root: Path) -> None:
    for argv in ([ctask_bin, "--version"], [sys.executable, "-m", "ctask", "--version"]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert ctask.__version__ in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "ctask", "new", "From CLI", "--no-launch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    made = Path(r.stdout.strip())
    assert made.is_dir() and made.is_relative_to(root)
    assert ctask.resolve("from-cli").path == made
    bad = subprocess.run([sys.executable, "-m", "ctask", "--no-such-flag"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "ctask" in bad.stderr


def _start_owner(path: Path) -> tuple[BaseProcess, Connection, int, str]:
    from _owner import hold

    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe()
    env = {k: v for k, v in os.environ.items() if k.startswith(("CTASK_", "HOME", "XDG_"))}
    proc = mp.Process(target=hold, args=(str(path), child, env))
    proc.start()
    assert parent.poll(60), "owner process did not report"
    msg = parent.recv()
    assert msg[0] == "ok", msg
    return proc, parent, int(msg[1]), str(msg[2])


def _stop_owner(proc: BaseProcess, conn: Connection) -> object:
    conn.send("end")
    assert conn.poll(60)
    result = conn.recv()
    proc.join(30)
    assert proc.exitcode == 0
    return result


def test_active_session_error_names_the_owner_process(ws: ctask.Workspace) -> None:
    proc, conn, owner_pid, owner_id = _start_owner(ws.path)
    try:
        before = files_of(ws.path)
        with pytest.raises(ctask.ActiveSessionError) as info:
            ctask.Session(ws.path).begin()
        err = info.value
        assert isinstance(err, ctask.CtaskError)
        assert err.pid == owner_pid
        assert err.session_id == owner_id
        lease = ctask.status(ws.path).lease
        assert lease is not None
        assert err.hostname == lease.hostname
        assert err.owner.agent == "owner-process"
        assert str(owner_pid) in str(err)
        assert files_of(ws.path) == before  # a refused begin changes nothing
    finally:
        result = _stop_owner(proc, conn)
    assert result == ("ended", "child_exited")


def test_coexist_leaves_the_owner_untouched(ws: ctask.Workspace) -> None:
    proc, conn, owner_pid, owner_id = _start_owner(ws.path)
    try:
        lease = (ws.path / ".ctask" / "session.json").read_bytes()
        start = (ws.path / ".ctask" / "manifest-start.bin").read_bytes()
        with ctask.Session(ws.path, on_active="coexist", agent="guest") as c:
            assert not c.owns_lease
            assert c.owner is not None and c.owner.pid == owner_pid
            (ws.path / "guest.txt").write_text("guest was here\n")
        assert (ws.path / ".ctask" / "session.json").read_bytes() == lease
        assert (ws.path / ".ctask" / "manifest-start.bin").read_bytes() == start
        assert not (ws.path / ".ctask" / "last-session-summary.json").exists()
        assert c.summary is not None and c.summary.files_added == ["guest.txt"]
        st = ctask.status(ws.path)
        assert st.state == "active" and st.lease is not None
        assert st.lease.session_id == owner_id
    finally:
        result = _stop_owner(proc, conn)
    assert result == ("ended", "child_exited")
    log = (ws.path / "logs" / "sessions.log").read_text()
    assert f"start id={c.id} agent=guest" in log and "role=coexist" in log
    owner_summary = ctask.status(ws.path).last_summary
    assert owner_summary is not None and owner_summary.session_id == owner_id
    assert owner_summary.files_added == ["guest.txt"]
