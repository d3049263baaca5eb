"""The gauges the process alerts read: whether the storage answered its last ping (and no
recount is tried while it does not), and the audit backlog against its capacity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import orjson
from audit_fakes import FaultyAuditStore
from helpers import make_tenant, user_body
from opentelemetry.metrics import Observation
from telemetry_capture import telemetry_capture

from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
from scimtenancy_server.domain.tenant import Tenant, TenantContext
from scimtenancy_server.services.audit import AuditLog
from scimtenancy_server.services.resolution import TenantResolver
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.services.usage_gauges import UsageGauges
from scimtenancy_server.storage.memory import InMemoryResourceRepository
from scimtenancy_server.storage.tenants import InMemoryTenantStore

DEADLINE = 5.0  # seconds the refresh loop gets to do what a test waits for


class Storage:
    """A storage ping that answers as told, and a tenant store that counts the recounts."""

    def __init__(self) -> None:
        self.answers: bool | Exception = True
        self.pinged = asyncio.Event()

    async def ping(self) -> bool:
        self.pinged.set()
        if isinstance(self.answers, Exception):
            raise self.answers
        return self.answers


class CountingTenantStore(InMemoryTenantStore):
    def __init__(self) -> None:
        super().__init__()
        self.listings = 0

    async def list_tenants(self, after: str, limit: int) -> list[Tenant]:
        self.listings += 1
        return await super().list_tenants(after, limit)


@dataclass
class Rig:
    gauges: UsageGauges
    tenants: CountingTenantStore
    resources: ResourceService


def rig(audit: AuditLog | None = None, storage: Storage | None = None) -> Rig:
    tenants = CountingTenantStore()
    resources = ResourceService(InMemoryResourceRepository(), DEFAULT_REGISTRY, audit=audit)
    made = UsageGauges(
        tenants,
        resources,
        TenantResolver([], ttl=30),
        tenant_labels=True,
        storage_ping=storage.ping if storage else None,
        audit=audit,
    )
    return Rig(made, tenants, resources)


def values(observations: list[Observation]) -> list[float]:
    return [o.value for o in observations]


async def test_storage_up_follows_the_last_ping() -> None:
    storage = Storage()
    gauges = rig(storage=storage).gauges
    assert gauges.observe_storage() == []  # nothing is claimed before the first ping
    assert await gauges.ping_storage()
    assert values(gauges.observe_storage()) == [1]
    storage.answers = False
    assert not await gauges.ping_storage()
    assert values(gauges.observe_storage()) == [0]
    storage.answers = ConnectionError("refused")
    assert not await gauges.ping_storage()  # a ping that raises: the storage did not answer
    assert values(gauges.observe_storage()) == [0]
    storage.answers = True
    assert await gauges.ping_storage()
    assert values(gauges.observe_storage()) == [1]


async def test_without_a_ping_no_storage_gauge_is_reported() -> None:
    gauges = rig().gauges
    assert await gauges.ping_storage()  # the recount goes ahead
    assert gauges.observe_storage() == []


@asynccontextmanager
async def refreshing(gauges: UsageGauges) -> AsyncIterator[None]:
    task = asyncio.get_running_loop().create_task(gauges.run(interval=0))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def next_ping(storage: Storage) -> None:
    storage.pinged.clear()
    await asyncio.wait_for(storage.pinged.wait(), DEADLINE)


async def test_no_recount_is_tried_while_the_storage_does_not_answer() -> None:
    storage = Storage()
    storage.answers = False
    made = rig(storage=storage)
    tenant = make_tenant()
    await made.tenants.create(tenant)
    async with refreshing(made.gauges):
        for _ in range(3):
            await next_ping(storage)
        assert made.tenants.listings == 0
        assert values(made.gauges.observe_storage()) == [0]
        storage.answers = True
        await next_ping(storage)
        await next_ping(storage)  # the round after the first answered ping: its recount is done
    assert made.tenants.listings >= 1
    assert [u.tenant_id for u in made.gauges.snapshot] == [tenant.tenant_id] * 2  # User, Group
    assert values(made.gauges.observe_storage()) == [1]


async def test_audit_backlog_counts_outcomes_waiting_against_its_capacity() -> None:
    store = FaultyAuditStore()
    audit = AuditLog(store, backlog=7, retry_delay=0)
    made = rig(audit)
    assert values(made.gauges.observe_audit_backlog()) == [0]
    assert values(made.gauges.observe_audit_backlog_limit()) == [7]
    store.final_failures = 1_000_000
    ctx = TenantContext(make_tenant(), "key-1")
    for name in ("first", "second"):
        await made.resources.create(ctx, "Users", orjson.dumps(user_body(name)))
    assert values(made.gauges.observe_audit_backlog()) == [2]  # both made, outcomes waiting
    store.final_failures = 0
    await audit.drain()
    assert values(made.gauges.observe_audit_backlog()) == [0]
    assert values(made.gauges.observe_audit_backlog_limit()) == [7]


async def test_a_service_without_an_audit_log_reports_an_empty_backlog() -> None:
    assert values(rig().gauges.observe_audit_backlog()) == [0]


async def test_the_gauges_are_exported() -> None:
    capture = telemetry_capture()
    made = rig(AuditLog(FaultyAuditStore(), backlog=9), Storage())
    assert await made.gauges.ping_storage()
    for name in ("scim.storage.up", "scim.audit.backlog", "scim.audit.backlog.limit"):
        assert capture.points(name), name
