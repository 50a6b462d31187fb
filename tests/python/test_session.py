"""Session lifecycle from Python: summaries, environment, launch dir, exceptions, end."""

from __future__ import annotations

import asyncio
import gc
import json
import os
from pathlib import Path

import pytest

import ctask

ALL_VARS = {
    "CTASK_TASK",
    "CTASK_WORKSPACE",
    "CTASK_ROOT",
    "CTASK_CATEGORY",
    "CTASK_TYPE",
    "CTASK_MODE",
    "CTASK_LAUNCH_DIR",
    "CTASK_SESSION_ID",
    "CTASK_SESSION_MODE",
}


def test_summary_lists_added_modified_renamed_deleted(ws: ctask.Workspace) -> None:
    p = ws.path
    (p / "keep.txt").write_text("keep\n")
    (p / "old-name.txt").write_text("moving content\n")
    (p / "doomed.txt").write_text("bye\n")
    with ctask.Session(p) as first:
        pass
    # Files that were there before the session began are its baseline, not its changes.
    assert first.summary is not None and first.summary.files_added == []

    with ctask.Session(p, agent="my-script") as s:
        assert s.state == "active"
        assert s.owns_lease
        assert s.outside_changes == ctask.Diff()
        (p / "new.txt").write_text("new\n")
        (p / "keep.txt").write_text("changed\n")
        (p / "old-name.txt").rename(p / "new-name.txt")
        (p / "doomed.txt").unlink()
        (p / "notes.md").write_text("# Notes\n\nmore\n")
    summary = s.summary
    assert summary is not None
    assert s.state == "ended"
    assert summary.files_added == ["new.txt"]
    assert summary.files_modified == ["keep.txt", "notes.md"]
    assert summary.files_deleted == ["doomed.txt"]
    assert summary.files_renamed == [ctask.Rename(from_="old-name.txt", to="new-name.txt")]
    assert summary.files_renamed[0].from_ == "old-name.txt"
    assert summary.notes_updated is True
    assert summary.end_reason == "child_exited"
    assert summary.detected_via == "child_exit"
    assert summary.exit_code == 0 and s.exit_code == 0
    assert summary.agent == "my-script"
    assert summary.session_id == s.id
    assert isinstance(summary.duration_seconds, int) and summary.duration_seconds >= 0
    assert summary.outside_changes == ctask.Diff()
    assert s.last_summary is not None and s.last_summary.session_id == first.id

    # The files on disk are the ones the CLI writes and reads.
    on_disk = json.loads((p / ".ctask" / "last-session-summary.json").read_text())
    assert on_disk["session_id"] == s.id
    assert on_disk["files_renamed"] == [{"from": "old-name.txt", "to": "new-name.txt"}]
    assert on_disk["agent"] == "my-script"
    assert not (p / ".ctask" / "session.json").exists()
    assert not (p / ".ctask" / "manifest-start.bin").exists()


def test_env_carries_every_ctask_variable(ws: ctask.Workspace, root: Path) -> None:
    with ctask.Session(ws.path, env={"EXTRA": "1"}) as s:
        env = s.env
        assert ALL_VARS <= set(env)
        assert env["CTASK_TASK"] == ws.slug
        assert env["CTASK_WORKSPACE"] == str(ws.path)
        assert env["CTASK_ROOT"] == str(root)
        assert env["CTASK_CATEGORY"] == "tests"
        assert env["CTASK_TYPE"] == "task"
        assert env["CTASK_MODE"] == "local"
        assert env["CTASK_LAUNCH_DIR"] == ""
        assert env["CTASK_SESSION_ID"] == s.id
        assert env["CTASK_SESSION_MODE"] == "direct"
        assert env["EXTRA"] == "1"
        assert s.launch_dir == ws.path


def test_launch_dir_is_honoured(ws: ctask.Workspace) -> None:
    (ws.path / "src" / "app").mkdir(parents=True)
    with ctask.Session(ws.path, launch_dir="src/app") as s:
        assert s.launch_dir == ws.path / "src" / "app"
        assert s.env["CTASK_LAUNCH_DIR"] == "src/app"
    with ctask.Session(ws.path, launch_dir=Path("src")) as s:
        assert s.launch_dir == ws.path / "src"


def test_exit_code_is_recorded(ws: ctask.Workspace) -> None:
    with ctask.Session(ws.path) as s:
        s.exit_code = 5
    assert s.summary is not None and s.summary.exit_code == 5
    assert s.summary.end_reason == "child_exited"


def test_exception_in_block_ends_with_exception_and_propagates(ws: ctask.Workspace) -> None:
    s = ctask.Session(ws.path)
    with pytest.raises(ZeroDivisionError):
        with s:
            (ws.path / "partial.txt").write_text("half done\n")
            s.exit_code = 0
            1 / 0  # noqa: B018
    assert s.summary is not None
    assert s.summary.end_reason == "exception"
    assert s.summary.exit_code == 1
    assert s.summary.files_added == ["partial.txt"]
    st = ctask.status(ws.path)
    assert st.state == "none"
    assert st.last_summary is not None and st.last_summary.end_reason == "exception"


def test_system_exit_records_its_code(ws: ctask.Workspace) -> None:
    s = ctask.Session(ws.path)
    with pytest.raises(SystemExit):
        with s:
            raise SystemExit(3)
    assert s.summary is not None and s.summary.exit_code == 3


def test_end_is_explicit_and_idempotent(ws: ctask.Workspace) -> None:
    s = ctask.Session(ws.path).begin()
    (ws.path / "a.txt").write_text("a")
    first = s.end(exit_code=2)
    (ws.path / "b.txt").write_text("b")
    second = s.end()
    assert first.session_id == second.session_id
    assert first.exit_code == 2 and second.files_added == ["a.txt"]
    assert s.summary is not None and s.summary.files_added == ["a.txt"]
    # Leaving the block after an explicit end writes nothing more.
    s.__exit__(None, None, None)
    log = (ws.path / "logs" / "sessions.log").read_text()
    assert log.count(f"end id={s.id} ") == 1
    with pytest.raises(RuntimeError):
        s.begin()
    with pytest.raises(RuntimeError):
        s.exit_code = 4


def test_not_begun_session_has_no_id(ws: ctask.Workspace) -> None:
    s = ctask.Session(ws.path)
    assert s.state == "new" and s.summary is None
    with pytest.raises(RuntimeError):
        _ = s.id
    with pytest.raises(RuntimeError):
        s.end()


def test_garbage_collected_session_ends_as_abandoned(ws: ctask.Workspace) -> None:
    s = ctask.Session(ws.path).begin()
    sid = s.id
    assert ctask.status(ws.path).state == "active"
    del s
    gc.collect()
    st = ctask.status(ws.path)
    assert st.state == "none"
    assert st.last_summary is not None
    assert st.last_summary.session_id == sid
    assert st.last_summary.end_reason == "abandoned"
    assert st.last_summary.detected_via == "drop"


def test_async_with(ws: ctask.Workspace) -> None:
    async def visit() -> ctask.Session:
        async with ctask.Session(ws.path, agent="async") as s:
            assert ctask.status(ws.path).state == "active"
            await asyncio.sleep(0)
            (ws.path / "async.txt").write_text("x")
        return s

    s = asyncio.run(visit())
    assert s.summary is not None
    assert s.summary.files_added == ["async.txt"]
    assert s.summary.agent == "async"


def test_async_with_exception(ws: ctask.Workspace) -> None:
    async def visit(s: ctask.Session) -> None:
        async with s:
            raise KeyError("boom")

    s = ctask.Session(ws.path)
    with pytest.raises(KeyError):
        asyncio.run(visit(s))
    assert s.summary is not None and s.summary.end_reason == "exception"


def test_heartbeat_from_another_thread(ws: ctask.Workspace) -> None:
    import threading

    errors: list[BaseException] = []
    with ctask.Session(ws.path, heartbeat=False) as s:

        def beat() -> None:
            try:
                for _ in range(20):
                    s.heartbeat()
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=beat) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lease = ctask.status(ws.path).lease
        assert lease is not None and lease.session_id == s.id
    assert errors == []
    s.heartbeat()  # a no-op once ended


def test_forked_child_is_inert(ws: ctask.Workspace) -> None:
    lease_file = ws.path / ".ctask" / "session.json"
    with ctask.Session(ws.path) as s:
        before = lease_file.read_bytes()
        pid = os.fork()
        if pid == 0:  # the child: must never end, unlock or write the parent's session
            code = 0
            try:
                s.heartbeat()
                s.__exit__(None, None, None)
                try:
                    s.end()
                    code = 10
                except ctask.CtaskError:
                    pass
                del s
                gc.collect()
            except BaseException:
                code = 11
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert lease_file.read_bytes() == before
        st = ctask.status(ws.path)
        assert st.state == "active"
        assert st.lease is not None and st.lease.session_id == s.id
        assert st.last_summary is None
    assert s.summary is not None and s.summary.end_reason == "child_exited"
    log = (ws.path / "logs" / "sessions.log").read_text()
    assert log.count(f"end id={s.id} ") == 1


def test_forked_child_dropping_its_copy_leaves_the_session_alone(ws: ctask.Workspace) -> None:
    lease_file = ws.path / ".ctask" / "session.json"
    s = ctask.Session(ws.path).begin()
    before = lease_file.read_bytes()
    pid = os.fork()
    if pid == 0:  # the child frees its copy: the finalizer must stay inert
        del s
        gc.collect()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert lease_file.read_bytes() == before
    assert ctask.status(ws.path).state == "active"
    assert not (ws.path / ".ctask" / "last-session-summary.json").exists()
    summary = s.end()
    assert summary.end_reason == "child_exited"


def test_corrupt_summary_warns_and_proceeds_without_baseline(ws: ctask.Workspace) -> None:
    with ctask.Session(ws.path):
        pass
    summary_file = ws.path / ".ctask" / "last-session-summary.json"
    summary_file.write_text('{"session_id": "x", "files_added": [')
    with pytest.warns(ctask.CtaskWarning, match="last-session-summary.json") as record:
        with ctask.Session(ws.path) as s:
            assert s.outside_changes is None
            assert s.last_summary is None
            assert any(str(summary_file) in w for w in s.warnings)
    assert any(str(summary_file) in str(w.message) for w in record)
    assert s.summary is not None and s.summary.outside_changes is None
    # The next end wrote a good summary again.
    assert json.loads(summary_file.read_text())["session_id"] == s.id


def test_warnings_as_errors_end_the_session(ws: ctask.Workspace) -> None:
    import warnings

    s = ctask.Session(ws.path, launch_dir="missing-dir")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ctask.CtaskWarning)
        with pytest.raises(ctask.CtaskWarning):
            s.begin()
    assert s.summary is not None and s.summary.end_reason == "exception"
    assert ctask.status(ws.path).state == "none"
