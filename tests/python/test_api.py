"""Workspaces, manifests, run, bad input, result classes and the typed example."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import ctask

from conftest import files_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "example.py"


# --- workspaces --------------------------------------------------------------------------


def test_workspace_create_resolve_list(root: Path) -> None:
    a = ctask.Workspace.create("Fix the login bug", category="web", agent="aider")
    assert a.path.is_dir() and a.path.parent == root / "web"
    assert (a.slug, a.title, a.category, a.kind, a.status) == (
        "fix-the-login-bug",
        "Fix the login bug",
        "web",
        "task",
        "active",
    )
    assert a.agent == "aider"
    assert isinstance(a.created_at, datetime) and a.created_at.tzinfo is not None
    assert os.fspath(a) == str(a.path)
    p = ctask.Workspace.create("Big thing", project=True)
    assert p.kind == "project"
    assert ctask.resolve("fix-the-login").path == a.path
    assert ctask.resolve(a.dir_name).path == a.path
    assert ctask.resolve(str(a.path)).path == a.path
    assert ctask.Workspace.open(a.path).slug == a.slug
    assert {w.path for w in ctask.list_workspaces()} == {a.path, p.path}
    assert [w.path for w in ctask.list_workspaces(kind="project")] == [p.path]
    assert [w.path for w in ctask.list_workspaces(category="web")] == [a.path]
    assert len(ctask.list_workspaces(limit=1)) == 1
    assert a.session_status().state == "none"


def test_workspace_root_argument(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    w = ctask.Workspace.create("rooted", root=other)
    assert w.path.is_relative_to(other)
    assert ctask.resolve("rooted", root=other).path == w.path
    with pytest.raises(ctask.WorkspaceNotFoundError):
        ctask.resolve("rooted")


def test_resolve_errors(root: Path) -> None:
    ctask.Workspace.create("alpha one")
    ctask.Workspace.create("alpha two")
    with pytest.raises(ctask.AmbiguousQueryError) as amb:
        ctask.resolve("alpha")
    assert amb.value.query == "alpha"
    assert len(amb.value.candidates) == 2
    assert all(isinstance(c, Path) for c in amb.value.candidates)
    with pytest.raises(ctask.WorkspaceNotFoundError) as nf:
        ctask.resolve("nothing-like-this")
    assert nf.value.query == "nothing-like-this"
    assert isinstance(nf.value, ctask.CtaskError)


# --- manifests and diffs -----------------------------------------------------------------


def test_capture_and_diff(tmp_path: Path) -> None:
    d = tmp_path / "tree"
    d.mkdir()
    (d / "a.txt").write_text("alpha\n")
    (d / "b.txt").write_text("beta\n")
    (d / "c.txt").write_text("gamma\n")
    (d / ".gitignore").write_text("ignored/\n")
    (d / "ignored").mkdir()
    (d / "ignored" / "x").write_text("x")
    os.symlink("a.txt", d / "link")
    before = ctask.capture_manifest(d)
    assert before.paths() == [".gitignore", "a.txt", "b.txt", "c.txt", "link"]
    assert len(before) == 5 and "a.txt" in before and "ignored/x" not in before
    entry = before.get("a.txt")
    assert entry is not None and entry.size == 6 and entry.kind == "file"
    assert entry.sha256 is not None and len(entry.sha256) == 64
    # mtime_ns is the file's own nanoseconds; mtime the same instant cut to microseconds.
    assert entry.mtime_ns == os.lstat(d / "a.txt").st_mtime_ns
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert entry.mtime_ns // 1000 == (entry.mtime - epoch) // timedelta(microseconds=1)
    link = before.get("link")
    assert link is not None and link.kind == "symlink" and link.target == "a.txt"
    assert "ignored/x" in ctask.capture_manifest(d, respect_ignore=False)

    (d / "a.txt").write_text("alpha two\n")
    (d / "b.txt").rename(d / "bee.txt")
    (d / "c.txt").unlink()
    (d / "d.txt").write_text("delta\n")
    os.utime(d / ".gitignore")  # a touch is not a modification
    after = ctask.capture_manifest(d)
    delta = ctask.diff(before, after)
    assert delta == ctask.Diff(
        added=["d.txt"],
        modified=["a.txt"],
        deleted=["c.txt"],
        renamed=[ctask.Rename(from_="b.txt", to="bee.txt")],
    )
    assert not delta.is_empty() and ctask.diff(after, after).is_empty()

    again = ctask.Manifest.from_json(before.to_json())
    assert again.paths() == before.paths()
    assert ctask.diff(again, before).is_empty()
    with pytest.raises(ctask.FormatError):
        ctask.Manifest.from_json("{not json")
    with pytest.raises(TypeError):
        ctask.diff(before, "after")  # type: ignore[arg-type]


def test_diff_since_last(ws: ctask.Workspace) -> None:
    assert ctask.diff_since_last(ws.path).baseline == "none"
    with ctask.Session(ws.path) as s:
        pass
    (ws.path / "outside.txt").write_text("x")
    report = ctask.diff_since_last(ws.path)
    assert report.baseline == "last_session"
    assert report.baseline_session_id == s.id
    assert report.changes.added == ["outside.txt"]
    with ctask.Session(ws.path) as s2:
        assert s2.outside_changes is not None
        assert s2.outside_changes.added == ["outside.txt"]
    assert s2.summary is not None and s2.summary.outside_changes is not None


# --- run ---------------------------------------------------------------------------------


def test_run_records_the_child(ws: ctask.Workspace) -> None:
    (ws.path / "sub").mkdir()
    r = ctask.run(
        ws.path,
        ["sh", "-c", 'echo "$CTASK_SESSION_ID $EXTRA" > seen.txt; exit 7'],
        launch_dir="sub",
        env={"EXTRA": "hello"},
    )
    assert r.exit_code == 7
    assert r.summary.exit_code == 7 and r.summary.end_reason == "child_exited"
    assert r.summary.agent == "sh"
    assert r.summary.files_added == ["sub/seen.txt"]
    assert (ws.path / "sub" / "seen.txt").read_text() == f"{r.session_id} hello\n"
    assert not r.workspace_removed


def test_run_missing_agent(ws: ctask.Workspace) -> None:
    before = files_of(ws.path)
    with pytest.raises(ctask.AgentNotFoundError) as info:
        ctask.run(ws.path, ["no-such-agent-here-xyz"])
    assert info.value.command == "no-such-agent-here-xyz"
    assert files_of(ws.path) == before


# --- bad input ---------------------------------------------------------------------------


def test_path_that_is_not_a_workspace(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ctask.WorkspaceNotFoundError):
        ctask.Session(plain).begin()
    with pytest.raises(ctask.WorkspaceNotFoundError):
        ctask.status(plain)
    with pytest.raises(ctask.WorkspaceNotFoundError):
        ctask.Session(tmp_path / "missing").begin()
    assert list(plain.iterdir()) == []


def test_launch_dir_escaping_the_workspace(ws: ctask.Workspace) -> None:
    with ctask.Session(ws.path):
        pass
    before = files_of(ws.path)
    for bad in ("../x", "/etc", "a/../../x"):
        with pytest.raises(ctask.PathSecurityError) as info:
            ctask.Session(ws.path, launch_dir=bad).begin()
        assert info.value.detail
    os.symlink("/tmp", ws.path / "out")
    with pytest.raises(ctask.PathSecurityError):
        ctask.Session(ws.path, launch_dir="out").begin()
    (ws.path / "out").unlink()
    assert files_of(ws.path) == before
    assert ctask.status(ws.path).state == "none"


def test_wrong_types_raise_type_error(ws: ctask.Workspace) -> None:
    with pytest.raises(TypeError):
        ctask.Session(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctask.Session(ws.path, launch_dir=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctask.Session(ws.path, heartbeat="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctask.Session(ws.path, agent=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctask.Session(ws.path, env={"A": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        ctask.status(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctask.run(ws.path, "ls -l")
    with pytest.raises(TypeError):
        ctask.run(ws.path, [1, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        ctask.capture_manifest(3.5)  # type: ignore[arg-type]
    s = ctask.Session(ws.path)
    with pytest.raises(TypeError):
        s.exit_code = "0"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        s.exit_code = True
    assert ctask.status(ws.path).state == "none"


def test_bad_values_raise_value_error(ws: ctask.Workspace) -> None:
    with pytest.raises(ValueError, match="on_active"):
        ctask.Session(ws.path, on_active="share")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="agent"):
        ctask.Session(ws.path, agent=" ")
    with pytest.raises(ValueError):
        ctask.run(ws.path, [])
    with pytest.raises(ValueError):
        ctask.list_workspaces(kind="thing")  # type: ignore[arg-type]


def test_corrupt_task_yaml_is_a_format_error(ws: ctask.Workspace) -> None:
    task = ws.path / "task.yaml"
    task.write_text("title: [unclosed\n")
    with pytest.raises(ctask.FormatError) as info:
        ctask.Session(ws.path).begin()
    assert info.value.path == task
    assert task.read_text() == "title: [unclosed\n"


# --- result classes ----------------------------------------------------------------------


def test_every_result_class_has_a_field_repr(ws: ctask.Workspace) -> None:
    (ws.path / "old.txt").write_text("content\n")
    with ctask.Session(ws.path) as s:
        assert repr(s).startswith("Session(") and s.id in repr(s)
        st = ctask.status(ws.path)
        (ws.path / "old.txt").rename(ws.path / "new.txt")
    r = ctask.run(ws.path, ["true"])
    m = ctask.capture_manifest(ws.path)
    entry = m.entries[0]
    assert s.summary is not None and st.lease is not None
    cases: list[tuple[object, list[str]]] = [
        (ctask.Rename(from_="a", to="b"), ["from_=", "to="]),
        (s.summary.files_renamed[0], ["from_='old.txt'", "to='new.txt'"]),
        (ctask.Diff(added=["x"]), ["added=['x']", "modified=", "deleted=", "renamed="]),
        (s.summary, ["session_id=", "files_added=", "files_renamed=[Rename(from_='old.txt', to='new.txt')]", "end_reason='child_exited'", "exit_code=0", "duration_seconds="]),
        (st, ["state='active'", "lease=Lease(", "last_summary="]),
        (st.lease, ["session_id=", "pid=", "hostname=", "agent='python'"]),
        (r, ["session_id=", "exit_code=0", "summary=Summary(", "workspace_removed=False"]),
        (ws, ["path=", "slug=", "title=", "category="]),
        (m, ["captured_at=", "entries="]),
        (entry, ["path=", "size=", "sha256="]),
        (ctask.diff_since_last(ws.path), ["baseline='last_session'", "changes=Diff("]),
    ]
    for obj, parts in cases:
        text = repr(obj)
        name = type(obj).__name__
        assert text.startswith(f"{name}("), text
        for part in parts:
            assert part in text, (part, text)
    assert repr(ctask.Rename(from_="a", to="b")) == "Rename(from_='a', to='b')"


def test_exception_classes() -> None:
    for cls in (
        ctask.ActiveSessionError,
        ctask.LockTimeoutError,
        ctask.PathSecurityError,
        ctask.WorkspaceNotFoundError,
        ctask.AmbiguousQueryError,
        ctask.AgentNotFoundError,
        ctask.FormatError,
        ctask.TmuxError,
    ):
        assert issubclass(cls, ctask.CtaskError)
        assert cls.__module__ == "ctask._ctask"
    assert issubclass(ctask.CtaskError, Exception)
    assert issubclass(ctask.CtaskWarning, UserWarning)


def test_version() -> None:
    assert ctask.__version__.count(".") == 2


# --- the typed example -------------------------------------------------------------------


def test_example_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CTASK_ROOT"}
    r = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Rename(from_='draft.txt', to='report.txt')" in r.stdout
    assert "added: ['draft.txt'] modified: ['notes.md']" in r.stdout


def test_exceptions_pickle_with_their_attributes(ws: ctask.Workspace) -> None:
    import pickle

    with pytest.raises(ctask.WorkspaceNotFoundError) as nf:
        ctask.resolve("no-such-workspace")
    again = pickle.loads(pickle.dumps(nf.value))
    assert type(again) is ctask.WorkspaceNotFoundError
    assert again.query == "no-such-workspace" and str(again) == str(nf.value)

    with ctask.Session(ws.path) as s:
        with pytest.raises(ctask.ActiveSessionError) as busy:
            # The owner is this very process: a second begin is refused all the same.
            ctask.Session(ws.path).begin()
        err = pickle.loads(pickle.dumps(busy.value))
        assert err.session_id == s.id and err.pid == os.getpid()
        assert repr(err.owner) == repr(busy.value.owner)


def test_missing_launch_dir_warns_and_uses_the_root(ws: ctask.Workspace) -> None:
    with pytest.warns(ctask.CtaskWarning, match="nowhere"):
        with ctask.Session(ws.path, launch_dir="nowhere") as s:
            assert s.launch_dir == ws.path
