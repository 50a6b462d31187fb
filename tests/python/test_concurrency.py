"""Blocking work runs with the GIL released: sessions in two threads overlap."""

from __future__ import annotations

import threading
import time

import ctask


def test_two_threads_run_sessions_in_parallel(root: object) -> None:
    a = ctask.Workspace.create("thread a")
    b = ctask.Workspace.create("thread b")
    results: dict[str, ctask.RunResult] = {}
    errors: list[BaseException] = []

    def work(name: str, ws: ctask.Workspace) -> None:
        try:
            results[name] = ctask.run(ws.path, ["sh", "-c", "sleep 1; echo done > out.txt"])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    # One alone, for the sum.
    t0 = time.monotonic()
    work("alone", ctask.Workspace.create("alone"))
    alone = time.monotonic() - t0

    threads = [threading.Thread(target=work, args=(n, w)) for n, w in (("a", a), ("b", b))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    # The main thread keeps running Python meanwhile.
    spins = 0
    while any(t.is_alive() for t in threads):
        spins += 1
        time.sleep(0.01)
    both = time.monotonic() - t0
    assert errors == []
    assert results["a"].summary.files_added == ["out.txt"]
    assert results["b"].summary.files_added == ["out.txt"]
    assert results["a"].exit_code == 0 and results["b"].exit_code == 0
    assert spins > 10
    assert both < 1.6 * alone, f"two sessions took {both:.2f}s, one alone {alone:.2f}s"


def test_sessions_in_threads_with_context_managers(root: object) -> None:
    spaces = [ctask.Workspace.create(f"ctx {i}") for i in range(2)]
    barrier = threading.Barrier(2)
    spans: list[tuple[float, float]] = []
    summaries: list[ctask.Summary] = []
    errors: list[BaseException] = []

    def visit(ws: ctask.Workspace) -> None:
        try:
            barrier.wait()
            with ctask.Session(ws.path, agent="thread") as s:
                entered = time.monotonic()
                (ws.path / "thread.txt").write_text("x")
                time.sleep(0.5)
                left = time.monotonic()
            spans.append((entered, left))
            assert s.summary is not None
            summaries.append(s.summary)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=visit, args=(w,)) for w in spaces]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(summaries) == 2
    assert all(s.files_added == ["thread.txt"] and s.agent == "thread" for s in summaries)
    # Both sessions were open at the same moment.
    assert max(a for a, _ in spans) < min(b for _, b in spans)
