"""A log built with `AuditLog.off()`: its store keeps nothing and refuses what every audit
store refuses, and the services run every path through it as through a real log."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from helpers import make_tenant, user_body

from scimtenancy_server.domain.audit import AuditEvent, new_event_id
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.services.audit import AuditLog, NullAuditStore
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.storage.memory import InMemoryResourceRepository

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def event(tenant_id: str) -> AuditEvent:
    return AuditEvent(new_event_id(NOW), tenant_id, NOW, "key-1", "create", "User", "u1")


async def test_the_null_store_keeps_nothing() -> None:
    store = NullAuditStore()
    await store.add(event("acme"))
    assert await store.list("acme", EPOCH, None, "", 10) == []


async def test_the_null_store_refuses_malformed_tenant_ids_as_every_store_does() -> None:
    store = NullAuditStore()
    with pytest.raises(ScimError) as refused:
        await store.add(event("a:b"))
    assert refused.value.status == 400
    with pytest.raises(ScimError):
        await store.list("Not Valid", EPOCH, None, "", 10)


async def test_a_service_without_a_log_changes_resources_and_lists_no_events() -> None:
    log = AuditLog.off()
    service = ResourceService(InMemoryResourceRepository(), DEFAULT_REGISTRY, audit=log)
    ctx = TenantContext(make_tenant(), "key-1")
    created = await service.create(ctx, "Users", orjson.dumps(user_body("bjensen")))
    await service.delete(ctx, "Users", created.id, "")
    await log.drain()
    assert await log.list_events(ctx.tenant_id, None, None, 100, "") == ([], "")
    assert (log.waiting, log.lost) == (0, 0)
    await log.close()


async def test_listing_a_log_that_is_off_still_checks_the_request() -> None:
    log = AuditLog.off()
    with pytest.raises(ScimError) as refused:
        await log.list_events("acme", None, None, -1, "")
    assert refused.value.status == 400
    with pytest.raises(ScimError):
        await log.list_events("acme", None, None, 10, "not a token")
