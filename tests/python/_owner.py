"""A session owner run in another process (multiprocessing, spawn) by the tests."""

from __future__ import annotations

from multiprocessing.connection import Connection
from typing import Any

import ctask


def hold(path: str, conn: Connection, env: dict[str, str]) -> None:
    """Begins a session in `path`, reports (pid, id), waits for "end", then ends it."""
    import os

    os.environ.update(env)
    try:
        with ctask.Session(path, agent="owner-process") as s:
            conn.send(("ok", os.getpid(), s.id))
            msg: Any = conn.recv()
            assert msg == "end"
        conn.send(("ended", s.summary.end_reason if s.summary else None))
    except Exception as e:  # report to the parent instead of dying silently
        conn.send(("error", repr(e)))
