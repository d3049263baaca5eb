"""How a collection's expired documents go away: a TTL index where the server has them, else
bounded sweeps by the adapter itself.

FerretDB 1.24 has no TTL indexes (`expireAfterSeconds` is NotImplemented), so there the
adapter deletes expired documents: when first used, then in the background at most once per
`every` (at once again when a pass found more than it may take). Readers never rely on either:
each adapter also leaves expired documents out of what it reads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal

from pymongo.errors import OperationFailure

from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.storage.mongo_errors import database_errors

logger = logging.getLogger(__name__)

Expiry = Literal["ttl_index", "sweep"]
NOT_IMPLEMENTED = (115, 238)  # CommandNotSupported, NotImplemented


class ExpirySweeper:
    def __init__(
        self,
        what: str,
        set_up: Callable[[], Awaitable[None]],
        sweep: Callable[[], Awaitable[bool]],
        every: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        """`set_up` creates the collection's indexes, its TTL index last; `sweep` makes one
        pass and says whether more may remain."""
        self._what = what
        self._set_up = set_up
        self._sweep = sweep
        self._every = every
        self._clock = clock
        self._prepared = asyncio.Lock()
        self.expiry: Expiry | None = None  # known once the set-up succeeded
        self._next: datetime | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def prepare(self) -> None:
        """Sets expiry up on first use (once it succeeds), then sweeps when due."""
        if self.expiry is None:
            async with self._prepared:
                if self.expiry is None:
                    self.expiry = await self._choose()
        if self.expiry == "sweep":
            self._sweep_when_due()

    async def _choose(self) -> Expiry:
        with database_errors():
            try:
                await self._set_up()
            except OperationFailure as error:
                if error.code not in NOT_IMPLEMENTED:
                    raise
                logger.info("no TTL indexes on this server: expired %s are swept", self._what)
                await self._pass()
                return "sweep"
        return "ttl_index"

    def _sweep_when_due(self) -> None:
        running = self._sweeper is not None and not self._sweeper.done()
        if running or (self._next is not None and self._clock() < self._next):
            return
        self._sweeper = asyncio.create_task(self._pass_logged())

    async def _pass_logged(self) -> None:
        try:
            await self._pass()
        except Exception:
            logger.exception("sweeping expired %s failed; the next sweep retries", self._what)

    async def _pass(self) -> None:
        self._next = self._clock() + self._every
        if await self._sweep():
            self._next = self._clock()

    async def close(self) -> None:
        if self._sweeper is not None and not self._sweeper.done():
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
