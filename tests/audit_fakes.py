"""A fake audit store with switchable faults, for the audit policy's tests. It is the
in-memory adapter underneath, and runs the same contract suite (with its faults off)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from scimtenancy_server.domain.audit import AuditEvent
from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.storage.audit_memory import InMemoryAuditStore


class FaultyAuditStore(InMemoryAuditStore):
    def __init__(self, retention: timedelta = timedelta(days=365), clock: Clock = utc_now) -> None:
        super().__init__(retention, clock)
        self.down = False  # every write fails
        self.final_failures = 0  # this many writes of final stages fail, then they work
        self.refused = 0  # writes refused so far
        self.hold_final: asyncio.Event | None = None  # when set, final stages wait for it
        self.holding = asyncio.Event()  # set once a final stage waits

    async def _add(self, key: str, event: AuditEvent) -> None:
        if event.final and self.hold_final is not None:
            self.holding.set()
            await self.hold_final.wait()
        if self.down or (event.final and self.final_failures > 0):
            if not self.down:
                self.final_failures -= 1
            self.refused += 1
            raise ScimError.unavailable("the audit store is down")
        await super()._add(key, event)

    async def all_stages(self) -> list[AuditEvent]:
        """Every stored stage of every tenant, for assertions on what was written."""
        return list(self._documents.values())
