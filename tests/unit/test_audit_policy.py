"""The audit policy with an audit store that fails on demand: fail closed before a change,
retried after it, a bounded backlog, and `pending` for an outcome nobody knows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from audit_fakes import FaultyAuditStore
from helpers import make_tenant, user_body

from scimtenancy_server.domain.audit import AuditEvent, Outcome
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY, USER
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.services.audit import AuditLog
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.storage.memory import InMemoryResourceRepository
from scimtenancy_server.storage.repository import Scope

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Audited:
    service: ResourceService
    repository: InMemoryResourceRepository
    store: FaultyAuditStore
    log: AuditLog
    ctx: TenantContext

    async def events(self) -> list[AuditEvent]:
        events, _ = await self.log.list_events(self.ctx.tenant_id, None, None, 1000, "")
        return events

    async def users(self) -> list[StoredResource]:
        page = await self.repository.list(self.ctx.tenant, USER, None, 0, 100)
        return page.resources


def audited(repository: InMemoryResourceRepository | None = None, backlog: int = 100) -> Audited:
    store = FaultyAuditStore()
    log = AuditLog(store, backlog=backlog, retry_delay=0)
    repository = repository or InMemoryResourceRepository()
    service = ResourceService(repository, DEFAULT_REGISTRY, audit=log)
    return Audited(service, repository, store, log, TenantContext(make_tenant(), "key-1"))


async def create(audit: Audited, user_name: str) -> StoredResource:
    return await audit.service.create(audit.ctx, "Users", orjson.dumps(user_body(user_name)))


def rename(user_name: str) -> bytes:
    return orjson.dumps(
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"userName": user_name}}]}
    )


async def test_an_audit_store_that_is_down_refuses_every_change() -> None:
    audit = audited()
    user = await create(audit, "kept")
    audit.store.down = True
    changes = [
        create(audit, "refused"),
        audit.service.patch(audit.ctx, "Users", user.id, rename("renamed"), ""),
        audit.service.replace(audit.ctx, "Users", user.id, orjson.dumps(user_body("x")), ""),
        audit.service.delete(audit.ctx, "Users", user.id, ""),
    ]
    for change in changes:
        with pytest.raises(ScimError) as refused:
            await change
        assert refused.value.status == 503
        assert "not made" in refused.value.detail
    assert await audit.users() == [user]  # nothing was written
    # Once the store is back, the refusals are on record too.
    audit.store.down = False
    await audit.log.drain()
    events = await audit.events()
    assert [(e.operation, e.outcome, e.error_status) for e in events] == [
        ("create", Outcome.SUCCESS, None),
        ("create", Outcome.FAILURE, 503),
        ("patch", Outcome.FAILURE, 503),
        ("replace", Outcome.FAILURE, 503),
        ("delete", Outcome.FAILURE, 503),
    ]


async def test_a_final_stage_that_fails_is_retried_until_it_is_stored() -> None:
    audit = audited()
    audit.store.final_failures = 3
    user = await create(audit, "bjensen")
    assert await audit.users() == [user]  # the change stands
    [event] = await audit.events()
    assert (event.outcome, event.version_after) == (Outcome.PENDING, 1)  # visible as unfinished
    assert audit.log.waiting == 1
    await audit.log.drain()
    [event] = await audit.events()
    assert (event.outcome, event.resource_id, event.version_after) == (
        Outcome.SUCCESS,
        user.id,
        1,
    )
    assert audit.store.refused == 3
    assert audit.log.waiting == 0


async def test_a_full_backlog_refuses_changes_until_it_drains() -> None:
    audit = audited(backlog=1)
    audit.store.final_failures = 1_000_000
    await create(audit, "first")  # made; its final stage waits
    with pytest.raises(ScimError) as refused:
        await create(audit, "second")
    assert refused.value.status == 503
    assert "behind" in refused.value.detail
    assert [u.attributes["userName"] for u in await audit.users()] == ["first"]
    audit.store.final_failures = 0
    await audit.log.drain()
    await create(audit, "third")
    events = await audit.events()
    assert [e.outcome for e in events] == [Outcome.SUCCESS, Outcome.SUCCESS]
    # The refusal of the second found no room either: it was logged as an error, not kept.
    assert audit.log.lost == 1


async def test_a_failure_before_any_write_is_one_final_stage() -> None:
    audit = audited()
    with pytest.raises(ScimError) as refused:
        await audit.service.create(audit.ctx, "Users", orjson.dumps(user_body("x", bogus=1)))
    [stage] = await audit.store.all_stages()
    assert (stage.outcome, stage.error_status, stage.error_type) == (
        Outcome.FAILURE,
        400,
        refused.value.scim_type,
    )
    assert stage.error_type


class _BlockingRepository(InMemoryResourceRepository):
    """Holds inserts until released, so a test can act while a change is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def _insert(self, scope: Scope, resource: StoredResource) -> None:
        self.entered.set()
        await self.release.wait()
        await super()._insert(scope, resource)


async def test_a_cancelled_change_stays_pending() -> None:
    repository = _BlockingRepository()
    audit = audited(repository)
    call = asyncio.create_task(create(audit, "bjensen"))
    await repository.entered.wait()
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    [event] = await audit.events()
    assert (event.outcome, event.version_before, event.version_after) == (
        Outcome.PENDING,
        None,
        1,
    )


async def test_a_call_cancelled_once_its_change_is_made_still_records_it() -> None:
    audit = audited()
    audit.store.hold_final = asyncio.Event()
    call = asyncio.create_task(create(audit, "bjensen"))
    await audit.store.holding.wait()  # the user is stored; its final stage is on its way
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    audit.store.hold_final.set()
    await audit.log.drain()
    [event] = await audit.events()
    assert (event.outcome, event.version_after) == (Outcome.SUCCESS, 1)
    assert len(await audit.users()) == 1


async def test_listing_checks_its_arguments_and_hides_expired_events() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    store = FaultyAuditStore(timedelta(days=30), clock=lambda: now)
    log = AuditLog(store, clock=lambda: now - timedelta(days=31))  # events written long ago
    ctx = TenantContext(make_tenant(), "key-1")
    async with log.record(ctx.tenant_id, ctx.actor, "delete", "User", "u1"):
        pass
    listing = AuditLog(store, clock=lambda: now)
    assert await listing.list_events(ctx.tenant_id, None, None, 0, "") == ([], "")
    old = now - timedelta(days=31)
    assert await listing.list_events(ctx.tenant_id, old, None, 0, "") == ([], "")
    assert len((await log.list_events(ctx.tenant_id, None, None, 0, ""))[0]) == 1
    for arguments in [
        ("Not Valid", None, None, 0, ""),
        (ctx.tenant_id, None, None, -1, ""),
        (ctx.tenant_id, None, None, 0, "not-a-token"),
        (ctx.tenant_id, now, old, 0, ""),
    ]:
        with pytest.raises(ScimError) as refused:
            await listing.list_events(*arguments)
        assert refused.value.status == 400
