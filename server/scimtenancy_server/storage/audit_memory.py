"""The audit store in process memory, for the embedded default storage and unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from scimtenancy_server.domain.audit import AuditEvent
from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.storage.audit import AuditStore

# Expired events are forgotten after this many writes.
_FORGET_EVERY = 1000


class InMemoryAuditStore(AuditStore):
    def __init__(self, retention: timedelta = timedelta(days=365), clock: Clock = utc_now) -> None:
        super().__init__(retention)
        self._clock = clock
        self._documents: dict[str, AuditEvent] = {}  # in the order they were added
        self._writes = 0

    async def _add(self, key: str, event: AuditEvent) -> None:
        self._documents.setdefault(key, event)
        self._writes += 1
        if self._writes % _FORGET_EVERY == 0:
            self.forget_expired()

    async def _stages(
        self, tenant_id: str, lower: str, upper: str, limit: int
    ) -> Sequence[AuditEvent]:
        keys = sorted(k for k, e in self._documents.items() if lower < k < upper)
        found = (self._documents[k] for k in keys)
        return [e for e in found if e.tenant_id == tenant_id][:limit]

    def forget_expired(self) -> None:
        """Forgets the events older than the retention, oldest first, reading no further than
        the first event it keeps: events are added as they happen, so the work is the expired
        events', not the whole log's. (An event added late with an older time is forgotten
        once those added before it are.)"""
        cutoff = self._clock() - self.retention
        expired = []
        for key, event in self._documents.items():
            if event.time >= cutoff:
                break
            expired.append(key)
        for key in expired:
            del self._documents[key]
