"""The reloader at work beside the server: file changes and SIGHUP ask for reloads, one
worker makes them. On shutdown the triggers stop at once and a reload already running is
given the grace period to end, so that it is not cut between two admin calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from scimtenancy_server.services.tenant_config.reloader import TenantConfigReloader
from scimtenancy_server.services.tenant_config.watch import watch_sources

logger = logging.getLogger(__name__)


class TenantConfigWatch:
    def __init__(self, reloader: TenantConfigReloader) -> None:
        self._reloader = reloader
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        requests = self._reloader.requests
        loop.add_signal_handler(signal.SIGHUP, requests.forced)
        self._tasks = [
            loop.create_task(self._reloader.run(self._stop), name="tenant-config-reloads"),
            loop.create_task(
                watch_sources(self._reloader.sources, requests.changed, self._stop),
                name="tenant-config-watch",
            ),
        ]
        logger.info(
            "watching the tenants file (%s) for changes; SIGHUP reloads it",
            ", ".join(str(p) for p in self._reloader.sources),
        )

    def stop(self) -> None:
        """No new reloads from now on."""
        if self._stop.is_set():
            return
        self._stop.set()
        with contextlib.suppress(RuntimeError):  # the loop is closing
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    async def finished(self, grace: float) -> None:
        """Waits up to `grace` seconds for a running reload, then ends the rest."""
        self.stop()
        _, pending = await asyncio.wait(self._tasks, timeout=grace) if self._tasks else ((), ())
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
