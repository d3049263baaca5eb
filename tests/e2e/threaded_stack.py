"""The whole service (`running_stack`) on its own event loop in a thread, for synchronous
clients such as schemathesis, which would otherwise block the loop that serves them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import uvloop
from e2e.stack import Stack, running_stack

from scimtenancy_common.settings import Settings

START_TIMEOUT = 60
_T = TypeVar("_T")


@dataclass(frozen=True)
class ThreadedStack:
    stack: Stack
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Runs `coroutine` on the service's loop (e.g. to create a tenant) and waits for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(START_TIMEOUT)


@contextmanager
def threaded_stack(settings: Settings) -> Iterator[ThreadedStack]:
    loop = uvloop.new_event_loop()
    started: Future[Stack] = Future()
    stop = asyncio.Event()  # bound to `loop` when first awaited there

    async def serve() -> None:
        try:
            async with running_stack(settings) as stack:
                started.set_result(stack)
                await stop.wait()
        except BaseException as error:
            if not started.done():
                started.set_exception(error)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield ThreadedStack(started.result(START_TIMEOUT), loop)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT)
        loop.close()
