"""Cooperative pacing of long work: one request's loop over many items gives the event loop a
turn whenever it has run for a slice, so no tenant's request waits long behind another's.

Pacing by elapsed time, not by item count, holds whatever one item costs (a User with 256
emails under a 100-term value filter costs a thousand times what a plain one does)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# Longest stretch of work between two turns of the event loop.
SLICE_SECONDS = 0.001


class Pacer:
    def __init__(self, slice_seconds: float = SLICE_SECONDS) -> None:
        self._slice = slice_seconds
        self._since = time.perf_counter()

    async def pace(self) -> None:
        """Yields to the event loop if this work has run for a slice since it last did."""
        now = time.perf_counter()
        if now - self._since >= self._slice:
            await asyncio.sleep(0)
            self._since = time.perf_counter()


# Items handled between two looks at the clock.
CHUNK = 16


async def paced_chunks(items: Sequence[T], size: int = CHUNK) -> AsyncIterator[Sequence[T]]:
    """`items` a chunk at a time, with a turn for the event loop whenever a slice has passed."""
    pacer = Pacer()
    for start in range(0, len(items), size):
        await pacer.pace()
        yield items[start : start + size]
