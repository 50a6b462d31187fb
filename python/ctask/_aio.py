"""Awaitables behind the extension's async iteration (``async for event in ctask.watch()``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ctask._ctask import Event, Watcher

# Longest a worker thread blocks in one wait: a cancelled task frees its thread this soon.
_SLICE = 0.25


async def next_event(watcher: Watcher) -> Event:
    """Waits, without blocking the event loop, for the watcher's next event."""
    while True:
        event = await asyncio.to_thread(watcher.next, _SLICE)
        if event is not None:
            return event
