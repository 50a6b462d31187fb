"""ctask.watch: live events as an iterator and an async iterator."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

import ctask

from conftest import files_of


def _session(path: Path, agent: str) -> None:
    with ctask.Session(path, agent=agent, heartbeat=False):
        pass


def _take(w: ctask.Watcher, n: int, timeout: float = 10.0) -> list[ctask.Event]:
    got: list[ctask.Event] = []
    end = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        e = w.next(0.1)
        if e is not None:
            got.append(e)
    return got


@pytest.mark.parametrize("poll", [False, True])
def test_iterator_sees_created_start_end_in_order(root: Path, poll: bool) -> None:
    root.mkdir(parents=True, exist_ok=True)
    before = ctask.Workspace.create("Before")
    with ctask.watch(poll=poll) as w:
        assert w.polling == poll
        assert w.next(0) is None
        late = ctask.Workspace.create("Late one")
        _session(before.path, "py-a")
        _session(late.path, "py-b")
        got = _take(w, 5)
    by_ws: dict[str, list[str]] = {}
    for e in got:
        by_ws.setdefault(e.workspace, []).append(e.event)
    assert by_ws == {
        str(before.path): ["start", "end"],
        str(late.path): ["created", "start", "end"],
    }
    start = next(e for e in got if e.event == "start" and e.workspace == str(late.path))
    assert start.fields["agent"] == "py-b"
    assert start.slug == late.slug
    assert start.ts is not None and start.at is None
    created = got[[e.event for e in got].index("created")]
    assert created.at is not None and created.ts is None and created.fields == {}
    assert json.loads(start.to_json())["fields"]["agent"] == "py-b"
    assert "Event(event='start'" in repr(start)
    with pytest.raises(RuntimeError, match="closed"):
        w.next(0)


def test_for_loop_waits_with_the_gil_released(ws: ctask.Workspace) -> None:
    w = ctask.watch([ws.path])
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.005)

    t = threading.Thread(target=count)
    t.start()
    threading.Timer(0.5, _session, (ws.path, "py-loop")).start()
    seen: list[str] = []
    for e in w:
        seen.append(e.event)
        if e.event == "end":
            break
    stop.set()
    t.join()
    w.close()
    assert seen == ["start", "end"]
    assert ticks > 20, "another thread ran while the iterator waited"


def test_async_iterator(ws: ctask.Workspace) -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        w = ctask.watch([str(ws.path)], poll=True, poll_interval=0.05)
        task = asyncio.create_task(asyncio.to_thread(_session, ws.path, "py-async"))
        async for e in w:
            seen.append(e.event)
            if e.event == "end":
                break
        await task
        # A pending __anext__ cancelled without delay: the loop still shuts down.
        pending = asyncio.ensure_future(w.__anext__())
        await asyncio.sleep(0.05)
        pending.cancel()
        w.close()
        return seen

    started = time.monotonic()
    assert asyncio.run(main()) == ["start", "end"]
    assert time.monotonic() - started < 10


def test_since_replays_and_bad_arguments_are_refused(ws: ctask.Workspace, root: Path) -> None:
    _session(ws.path, "py-old")
    w = ctask.watch([ws.path], since="2000-01-01T00:00:00Z")
    assert [e.event for e in _take(w, 2)] == ["start", "end"]
    w.close()
    with pytest.raises(ValueError, match="since"):
        ctask.watch([ws.path], since="yesterday")
    with pytest.raises(TypeError, match="sequence of paths"):
        ctask.watch(str(ws.path))
    with pytest.raises(ValueError, match="poll_interval"):
        ctask.watch([ws.path], poll=True, poll_interval=0)
    w = ctask.watch([ws.path])
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="timeout"):
            w.next(bad)
    with pytest.raises(TypeError, match="since"):
        ctask.watch([ws.path], since=12)  # type: ignore[arg-type]
    broken = root / "broken"
    broken.mkdir(parents=True)
    (broken / "task.yaml").write_text("title: [unclosed\n")
    before = files_of(root)
    with pytest.raises(ctask.FormatError, match="task.yaml"):
        ctask.watch([broken])
    assert files_of(root) == before
