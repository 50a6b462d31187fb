"""Snapshots from Python: ctask.history and ctask.undo (docs/undo.md)."""

from __future__ import annotations

import os
import stat
import sys

import pytest

import ctask


def _session(ws: ctask.Workspace, script: str) -> None:
    r = ctask.run(ws.path, [sys.executable, "-c", script], agent="py-test")
    assert r.exit_code == 0


def test_undo_redo_and_history(ws: ctask.Workspace) -> None:
    _session(ws, "open('a.txt','w').write('one\\n'); open('b.bin','wb').write(b'\\0\\1')")
    before = {n: (ws.path / n).read_bytes() for n in ("a.txt", "b.bin", "notes.md")}
    mode = stat.S_IMODE(os.stat(ws.path / "a.txt").st_mode)
    assert mode != 0o600
    _session(
        ws,
        "import os; open('a.txt','w').write('two\\n'); os.remove('b.bin');"
        "os.rename('notes.md','moved.md'); os.symlink('a.txt','lnk'); os.chmod('a.txt', 0o600)",
    )
    entries = ctask.history(ws.path)
    assert isinstance(entries[0], ctask.HistoryEntry)
    assert entries[0].kind == "session" and entries[0].restorable
    added, modified, deleted = entries[0].changes
    assert (added, modified, deleted) == (2, 1, 2)

    dry = ctask.undo(ws.path, dry_run=True)
    assert isinstance(dry, ctask.UndoResult)
    assert not dry.applied and dry.dry_run
    assert not (ws.path / "b.bin").exists()

    r = ctask.undo(ws.path)
    assert r.applied and r.session_id is not None
    assert {i.path for i in r.items} == {"a.txt", "b.bin", "lnk", "moved.md", "notes.md"}
    assert all(isinstance(i, ctask.UndoItem) and i.status == "ok" for i in r.items)
    for n, content in before.items():
        assert (ws.path / n).read_bytes() == content
    assert stat.S_IMODE(os.stat(ws.path / "a.txt").st_mode) == mode
    assert not (ws.path / "lnk").is_symlink() and not (ws.path / "moved.md").exists()
    assert ctask.history(ws.path)[0].kind == "undo"

    # Undo of the undo: a redo.
    assert ctask.undo(ws.path).applied
    assert (ws.path / "a.txt").read_text() == "two\n"
    assert os.readlink(ws.path / "lnk") == "a.txt"


def test_a_conflict_is_listed_and_nothing_changes(ws: ctask.Workspace) -> None:
    _session(ws, "open('a.txt','w').write('a0'); open('b.txt','w').write('b0')")
    _session(ws, "open('a.txt','w').write('a1'); open('b.txt','w').write('b1')")
    (ws.path / "b.txt").write_text("by hand")
    r = ctask.undo(ws.path)
    assert not r.applied and r.session_id is None
    assert [(i.path, i.status) for i in r.blocking] == [("b.txt", "conflict")]
    assert (ws.path / "a.txt").read_text() == "a1"
    assert ctask.undo(ws.path, paths=["a.txt"]).applied
    assert (ws.path / "a.txt").read_text() == "a0"
    forced = ctask.undo(ws.path, session_id=ctask.history(ws.path)[1].session_id, force=True)
    assert forced.applied
    assert (ws.path / "b.txt").read_text() == "b0"


def test_undo_refused_during_a_session_and_bad_arguments(ws: ctask.Workspace) -> None:
    _session(ws, "open('a.txt','w').write('x')")
    with ctask.Session(ws.path, agent="holder", heartbeat=False):
        with pytest.raises(ctask.ActiveSessionError):
            ctask.undo(ws.path)
    assert (ws.path / "a.txt").read_text() == "x"
    with pytest.raises(ValueError, match="no-such"):
        ctask.undo(ws.path, session_id="no-such")
    with pytest.raises(TypeError):
        ctask.undo(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["session", "run"])
def test_snapshots_false_in_task_yaml_keeps_nothing(ws: ctask.Workspace, how: str) -> None:
    task = ws.path / "task.yaml"
    plain = task.read_text()
    task.write_text(plain + "snapshots: false\n")
    if how == "session":
        with ctask.Session(ws.path) as s:
            (ws.path / "made.txt").write_text("made\n")
        assert s.summary is not None and s.summary.files_added == ["made.txt"]
    else:
        _session(ws, "open('made.txt','w').write('made\\n')")
    assert not (ws.path / ".ctask" / "objects").exists()
    assert not (ws.path / ".ctask" / "history").exists()
    # Without the setting, the same session stores.
    task.write_text(plain)
    _session(ws, "open('again.txt','w').write('again\\n')")
    assert (ws.path / ".ctask" / "history").is_dir()
