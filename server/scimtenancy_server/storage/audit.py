"""The audit store port. Events are kept per tenant and read back in time order.

Each stage of an event is its own document, written once and never updated: the `pending`
stage under `<tenant>:<event id>`, the final stage under `<tenant>:<event id>+`. Inserts by
key are the cheapest write on every MongoDB-compatible server (FerretDB 1.24 scans the
collection for an update even by `_id`), a repeated insert of a stage is a harmless
duplicate, and the two stages of an event sort next to each other, so one range read over
the keys returns the tenant's events in time order with their latest stage.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta

from scimtenancy_server.domain.audit import AuditEvent, time_key
from scimtenancy_server.domain.tenant import validate_tenant_id

FINAL_SUFFIX = "+"
# The character after `:`: `<tenant>;` bounds every key of the tenant from above.
_TENANT_END = ";"


def stage_key(event: AuditEvent) -> str:
    suffix = FINAL_SUFFIX if event.final else ""
    return f"{event.tenant_id}:{event.event_id}{suffix}"


def collapse(stages: Sequence[AuditEvent], limit: int, *, complete: bool) -> list[AuditEvent]:
    """Events from stages in key order, each in its latest stage. Unless the read was
    `complete`, the last event's final stage may lie past what was read: it is left out."""
    events: dict[str, AuditEvent] = {}
    for stage in stages:
        if stage.final or stage.event_id not in events:
            events[stage.event_id] = stage
    found = list(events.values())
    if not complete:
        found = found[:-1]
    return found[:limit]


class AuditStore(ABC):
    """Keeps audit events per tenant for `retention`. Implementations must pass
    tests/contract/test_audit_store.py."""

    def __init__(self, retention: timedelta) -> None:
        self.retention = retention

    async def add(self, event: AuditEvent) -> None:
        """Stores one stage of an event; a stage already stored is left as it is, so a
        retried write is safe. Raises (a 503 ScimError) when the store cannot be written."""
        validate_tenant_id(event.tenant_id)
        await self._add(stage_key(event), event)

    async def list(
        self, tenant_id: str, since: datetime, until: datetime | None, after: str, limit: int
    ) -> list[AuditEvent]:
        """Up to `limit` events of the tenant that started in [since, until) and come after
        the event id `after` (if given), oldest first."""
        validate_tenant_id(tenant_id)
        if limit <= 0:
            return []
        lower = f"{tenant_id}:{time_key(since)}"
        if after:
            lower = max(lower, f"{tenant_id}:{after}{FINAL_SUFFIX}")
        upper = f"{tenant_id}:{time_key(until)}" if until else f"{tenant_id}{_TENANT_END}"
        # An event has at most two stages, so this many stages hold `limit` whole events.
        wanted = 2 * limit + 1
        stages = await self._stages(tenant_id, lower, upper, wanted)
        return collapse(stages, limit, complete=len(stages) < wanted)

    async def close(self) -> None:  # noqa: B027 - adapters without resources need nothing
        """Releases what the adapter holds."""

    @abstractmethod
    async def _add(self, key: str, event: AuditEvent) -> None: ...

    @abstractmethod
    async def _stages(
        self, tenant_id: str, lower: str, upper: str, limit: int
    ) -> Sequence[AuditEvent]:
        """At most `limit` stages of the tenant with `lower < key < upper`, in key order."""
