"""Audit retention: MongoDB drops expired events by a TTL index where the server has them;
FerretDB 1.24 has none, and there the adapter deletes them itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import unique_id

from scimtenancy_server.domain.audit import AuditEvent, Outcome, new_event_id
from scimtenancy_server.storage.audit_memory import InMemoryAuditStore
from scimtenancy_server.storage.audit_mongo import RETENTION_INDEX, MongoAuditStore

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
RETENTION = timedelta(days=30)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def event(tenant_id: str, age: timedelta) -> AuditEvent:
    at = NOW - age
    return AuditEvent(
        new_event_id(at), tenant_id, at, "key-1", "delete", "User", "u1", Outcome.SUCCESS
    )


async def test_mongodb_retention_is_a_ttl_index_or_a_sweep(mongo_database: Any) -> None:
    tenant_id = unique_id()
    expired, kept = event(tenant_id, RETENTION + timedelta(days=1)), event(tenant_id, RETENTION)
    first = MongoAuditStore(mongo_database, RETENTION, clock=lambda: NOW)
    await first.add(expired)
    await first.add(kept)
    indexes = await first.collection.index_information()
    if first.expiry == "ttl_index":
        assert indexes[RETENTION_INDEX]["expireAfterSeconds"] == RETENTION.total_seconds()
        assert indexes[RETENTION_INDEX]["key"] == [("time", 1)]
    else:
        assert first.expiry == "sweep"
        assert RETENTION_INDEX not in indexes
        # A store that starts sweeps what expired before it writes anything.
        again = MongoAuditStore(mongo_database, RETENTION, clock=lambda: NOW)
        await again.add(event(tenant_id, timedelta(0)))
        remaining = await again.list(tenant_id, EPOCH, None, "", 10)
        assert expired not in remaining
        assert kept in remaining
        await again.close()
    # Whichever way the server expires events, the explicit sweep removes exactly those.
    await first.add(replace(expired, event_id=new_event_id(expired.time)))
    assert await first.remove_expired() >= 1
    assert kept in await first.list(tenant_id, EPOCH, None, "", 10)
    assert all(e.time >= NOW - RETENTION for e in await first.list(tenant_id, EPOCH, None, "", 10))
    await first.close()


async def test_the_memory_store_forgets_expired_events() -> None:
    store = InMemoryAuditStore(RETENTION, clock=lambda: NOW)
    tenant_id = unique_id()
    expired, kept = event(tenant_id, RETENTION + timedelta(days=1)), event(tenant_id, RETENTION)
    await store.add(expired)
    await store.add(kept)
    store.forget_expired()
    assert await store.list(tenant_id, EPOCH, None, "", 10) == [kept]


class CountedReads(dict[str, AuditEvent]):
    """The store's events, counting how many a sweep reads."""

    reads = 0

    def items(self) -> Iterator[tuple[str, AuditEvent]]:  # type: ignore[override]
        for pair in super().items():
            self.reads += 1
            yield pair


async def test_the_memory_store_s_sweep_reads_the_expired_events_not_the_whole_log() -> None:
    store = InMemoryAuditStore(RETENTION, clock=lambda: NOW)
    tenant_id = unique_id()
    expired = [event(tenant_id, RETENTION + timedelta(days=3 - n)) for n in range(3)]
    kept = [event(tenant_id, RETENTION - timedelta(seconds=n)) for n in range(500)]
    for one in [*expired, *kept]:
        await store.add(one)
    counted = CountedReads(store._documents)
    store._documents = counted
    store.forget_expired()
    assert counted.reads == len(expired) + 1  # the expired ones and the first kept one
    assert await store.list(tenant_id, EPOCH, None, "", 1000) == kept
