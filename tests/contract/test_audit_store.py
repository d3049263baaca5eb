"""The audit store contract: in memory, the faulty fake (faults off) and MongoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from audit_fakes import FaultyAuditStore
from helpers import unique_id

from scimtenancy_server.domain.audit import AuditEvent, Outcome, new_event_id
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.storage.audit import AuditStore
from scimtenancy_server.storage.audit_memory import InMemoryAuditStore
from scimtenancy_server.storage.audit_mongo import MongoAuditStore

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
RETENTION = timedelta(days=30)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "faulty-fake", "mongodb"])
def audit_store(request: pytest.FixtureRequest) -> AuditStore:
    if request.param == "memory":
        return InMemoryAuditStore(RETENTION, clock=lambda: NOW)
    if request.param == "faulty-fake":
        return FaultyAuditStore(RETENTION, clock=lambda: NOW)
    database: Any = request.getfixturevalue("mongo_database")
    return MongoAuditStore(database, RETENTION, clock=lambda: NOW)


def pending(tenant_id: str, at: datetime, resource_id: str = "u1") -> AuditEvent:
    return AuditEvent(
        new_event_id(at),
        tenant_id,
        at,
        "key-1",
        "replace",
        "User",
        resource_id,
        version_before=1,
        version_after=2,
    )


def succeeded(event: AuditEvent) -> AuditEvent:
    return replace(event, outcome=Outcome.SUCCESS)


async def everything(store: AuditStore, tenant_id: str) -> list[AuditEvent]:
    return await store.list(tenant_id, EPOCH, None, "", 1000)


async def test_the_final_stage_supersedes_the_pending_one(audit_store: AuditStore) -> None:
    tenant_id = unique_id()
    started = pending(tenant_id, NOW)
    await audit_store.add(started)
    assert await everything(audit_store, tenant_id) == [started]
    await audit_store.add(succeeded(started))
    assert await everything(audit_store, tenant_id) == [succeeded(started)]


async def test_a_final_stage_alone_is_an_event(audit_store: AuditStore) -> None:
    tenant_id = unique_id()
    failed = replace(
        pending(tenant_id, NOW),
        outcome=Outcome.FAILURE,
        version_after=None,
        error_status=400,
        error_type="invalidValue",
    )
    await audit_store.add(failed)
    assert await everything(audit_store, tenant_id) == [failed]


async def test_a_stage_written_again_is_kept_once(audit_store: AuditStore) -> None:
    tenant_id = unique_id()
    started = pending(tenant_id, NOW)
    for stage in (started, started, succeeded(started), succeeded(started)):
        await audit_store.add(stage)
    assert await everything(audit_store, tenant_id) == [succeeded(started)]


async def test_events_come_oldest_first_within_the_time_range(audit_store: AuditStore) -> None:
    tenant_id = unique_id()
    times = [NOW + timedelta(milliseconds=m) for m in (30, 0, 20, 10)]
    for at in times:
        await audit_store.add(succeeded(pending(tenant_id, at)))
    assert [e.time for e in await everything(audit_store, tenant_id)] == sorted(times)
    # From `since` (inclusive) to `until` (exclusive); a bound between milliseconds rounds up.
    since, until = NOW + timedelta(milliseconds=10), NOW + timedelta(milliseconds=30)
    found = await audit_store.list(tenant_id, since, until, "", 10)
    assert [e.time for e in found] == [since, NOW + timedelta(milliseconds=20)]
    between = await audit_store.list(tenant_id, NOW + timedelta(microseconds=1), None, "", 10)
    assert between[0].time == NOW + timedelta(milliseconds=10)


async def test_pages_after_an_event_cover_every_event_once(audit_store: AuditStore) -> None:
    tenant_id = unique_id()
    events = []
    for index in range(7):
        started = pending(tenant_id, NOW + timedelta(milliseconds=index), f"u{index}")
        await audit_store.add(started)
        if index % 3:  # some stay pending: events of one and of two stages mix
            await audit_store.add(succeeded(started))
            started = succeeded(started)
        events.append(started)
    for limit in (1, 2, 3):
        seen: list[AuditEvent] = []
        after = ""
        while page := await audit_store.list(tenant_id, EPOCH, None, after, limit):
            assert len(page) <= limit
            seen += page
            after = page[-1].event_id
        assert seen == events


async def test_a_tenant_never_reads_another_tenants_events(audit_store: AuditStore) -> None:
    # Ids that prefix each other must not share key ranges.
    base = unique_id()
    tenants = [base, f"{base}-x", f"{base}-x-y", f"{base}0"]
    for tenant_id in tenants:
        started = pending(tenant_id, NOW)
        await audit_store.add(started)
        await audit_store.add(succeeded(started))
    for tenant_id in tenants:
        found = await everything(audit_store, tenant_id)
        assert [e.tenant_id for e in found] == [tenant_id]
        after = found[0].event_id
        assert await audit_store.list(tenant_id, EPOCH, None, after, 10) == []


async def test_a_page_token_of_another_tenant_only_positions(audit_store: AuditStore) -> None:
    mine, theirs = unique_id(), unique_id()
    early, late = pending(mine, NOW), pending(mine, NOW + timedelta(seconds=1))
    foreign = pending(theirs, NOW + timedelta(milliseconds=500))
    for event in (early, late, foreign):
        await audit_store.add(event)
    assert await audit_store.list(mine, EPOCH, None, foreign.event_id, 10) == [late]


async def test_malformed_tenant_ids_are_refused(audit_store: AuditStore) -> None:
    with pytest.raises(ScimError) as refused:
        await audit_store.add(pending("a:b", NOW))
    assert refused.value.status == 400
    with pytest.raises(ScimError):
        await audit_store.list("Not Valid", EPOCH, None, "", 10)
