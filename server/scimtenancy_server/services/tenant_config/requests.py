"""Requests for a reload, coalesced: however many arrive while a reload runs (a burst of file
events, SIGHUP twice), one more reload follows it, and it reads the newest file."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Wanted:
    forced: bool  # reload even if the files did not change (SIGHUP, a retry)


class ReloadRequests:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._forced = False

    def changed(self) -> None:
        """The files may have changed."""
        self._event.set()

    def forced(self) -> None:
        """Reload whether or not the files changed."""
        self._forced = True
        self._event.set()

    async def next(self, stop: asyncio.Event, retry: float | None = None) -> Wanted | None:
        """The next request, a forced one after `retry` seconds without any, or None once
        `stop` is set."""
        waiters = {asyncio.ensure_future(self._event.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waiters, timeout=retry, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if stop.is_set():
            return None
        forced = self._forced or not self._event.is_set()  # no request: the retry is due
        self._event.clear()
        self._forced = False
        return Wanted(forced)
