"""Reconciling a tenants file through the admin servicer in process, on embedded storage:
applied once, then nothing to do; a create raced by another applier; refused tenants reported
while the others are applied; an outage stops the apply; listing gives the loop turns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from helpers import LoopTurns

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.schema import USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel, TenantContext
from scimtenancy_server.tenants_file import admin_port
from scimtenancy_server.tenants_file.admin_port import AdminCallFailed, ServicerAdmin
from scimtenancy_server.tenants_file.apply import ReconcileFailed, reconcile
from scimtenancy_server.tenants_file.model import TenantsConfig

TENANTS = [
    {"id": "acme", "isolation": "strict", "limits": {"users": 5}, "permissions": ["scim:read"]},
    {"id": "globex", "compatibility": "lenient", "display_name": "Globex"},
]


def config(*tenants: dict[str, Any]) -> TenantsConfig:
    return TenantsConfig.model_validate({"version": 1, "tenants": list(tenants or TENANTS)})


@pytest.fixture
async def app() -> AsyncIterator[Application]:
    application = build_application(Settings(storage="memory", admin_token="t"))
    try:
        yield application
    finally:
        await application.close()


class StaleFirstListing(ServicerAdmin):
    """The admin API as an applier sees it when another one changes tenants between its
    listing and its requests: the first listing comes from before."""

    def __init__(self, app: Application, stale: list[pb.Tenant]) -> None:
        super().__init__(app.admin)
        self._stale: list[pb.Tenant] | None = stale

    async def list_tenants(self) -> list[pb.Tenant]:
        stale, self._stale = self._stale, None
        return stale if stale is not None else await super().list_tenants()


async def test_applied_once_then_nothing_to_do(app: Application) -> None:
    admin = ServicerAdmin(app.admin)
    first = await reconcile(config(), admin)
    assert [(e.action, e.tenant_id) for e in first.entries] == [
        ("create", "acme"),
        ("create", "globex"),
    ]
    acme = await app.administration.get_tenant("acme")
    assert acme.isolation is IsolationLevel.STRICT
    assert acme.limits == {"User": 5}
    assert {p.value for p in acme.permissions} == {"scim:read"}
    second = await reconcile(config(), admin)
    assert [e.action for e in second.entries] == ["unchanged", "unchanged"], second.render()
    assert not second.has_changes


async def test_a_dry_run_changes_nothing(app: Application) -> None:
    plan = await reconcile(config(), ServicerAdmin(app.admin), dry_run=True)
    assert plan.has_changes
    tenants, _ = await app.administration.list_tenants(0, "")
    assert tenants == []


async def test_a_create_raced_by_another_applier_becomes_an_update(app: Application) -> None:
    admin = ServicerAdmin(app.admin)
    await reconcile(config({"id": "acme", "limits": {"users": 1}}), admin)
    raced = StaleFirstListing(app, stale=[])  # planned before the other applier's create
    plan = await reconcile(config({"id": "acme", "limits": {"users": 2}}), raced)
    [entry] = plan.entries
    assert entry.action == "update"
    assert (await app.administration.get_tenant("acme")).limits == {"User": 2}


class UnavailableFor(ServicerAdmin):
    """The admin API failing for one tenant as it would for every call once the database
    went away."""

    def __init__(self, app: Application, tenant_id: str) -> None:
        super().__init__(app.admin)
        self.tenant_id = tenant_id
        self.created: list[str] = []

    async def create_tenant(self, request: pb.CreateTenantRequest) -> pb.Tenant:
        if request.tenant_id == self.tenant_id:
            raise AdminCallFailed("UNAVAILABLE", "the database is unavailable; retry later")
        self.created.append(request.tenant_id)
        return await super().create_tenant(request)


async def _names(app: Application) -> list[str]:
    return [t.tenant_id for t in (await app.administration.list_tenants(0, ""))[0]]


async def test_a_refused_tenant_fails_alone_and_every_other_is_applied(app: Application) -> None:
    tenants = [{"id": "first"}, {"id": "second", "isolation": "shared"}, {"id": "third"}]
    with pytest.raises(ReconcileFailed) as raised:
        await reconcile(config(*tenants), ServicerAdmin(app.admin))
    [failure] = raised.value.failures
    assert failure.tenant_id == "second"
    assert failure.entry.action == "create"
    assert failure.cause.code == "INVALID_ARGUMENT"
    assert "shared namespace" in failure.cause.detail
    assert raised.value.skipped == ()
    assert [(e.action, e.tenant_id) for e in raised.value.plan.entries] == [
        ("create", "first"),
        ("create", "third"),
    ]
    assert await _names(app) == ["first", "third"]
    assert raised.value.render() == [f"! create second failed: {failure.cause}"]


async def test_every_refused_tenant_is_reported_with_its_cause(app: Application) -> None:
    admin = ServicerAdmin(app.admin)
    await reconcile(config({"id": "acme"}, {"id": "globex"}, {"id": "initech"}), admin)
    users = orjson.dumps({"schemas": [USER_SCHEMA], "userName": "ann"})
    for tenant_id in ("acme", "initech"):
        context = TenantContext(await app.administration.get_tenant(tenant_id), "test")
        for name in ("ann", "bob"):
            await app.resources.create(context, "Users", users.replace(b"ann", name.encode()))
    lowered = config(
        {"id": "acme", "limits": {"users": 1}},
        {"id": "globex", "limits": {"users": 7}},
        {"id": "initech", "limits": {"users": 1}},
    )
    with pytest.raises(ReconcileFailed) as raised:
        await reconcile(lowered, admin)
    failures = raised.value.failures
    assert [(f.tenant_id, f.cause.code) for f in failures] == [
        ("acme", "INVALID_ARGUMENT"),
        ("initech", "INVALID_ARGUMENT"),
    ]
    assert all("holds 2 Users, more than the limit 1" in f.cause.detail for f in failures)
    assert [(e.action, e.tenant_id) for e in raised.value.plan.entries] == [("update", "globex")]
    assert (await app.administration.get_tenant("globex")).limits == {"User": 7}
    assert (await app.administration.get_tenant("acme")).limits == {}
    assert "tenant acme" in str(raised.value)
    assert "tenant initech" in str(raised.value)


async def test_a_failure_every_call_would_meet_stops_the_apply(app: Application) -> None:
    admin = UnavailableFor(app, "second")
    tenants = [{"id": "first"}, {"id": "second"}, {"id": "third"}, {"id": "fourth"}]
    with pytest.raises(ReconcileFailed) as raised:
        await reconcile(config(*tenants), admin)
    assert [(f.tenant_id, f.cause.code) for f in raised.value.failures] == [
        ("second", "UNAVAILABLE")
    ]
    assert [e.tenant_id for e in raised.value.skipped] == ["third", "fourth"]
    assert admin.created == ["first"]  # nothing was tried after the outage
    assert await _names(app) == ["first"]
    assert raised.value.render()[-1] == (
        "not attempted after that failure: 2 changes (third, fourth)"
    )


async def test_listing_gives_the_event_loop_a_turn_between_pages(
    app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    await reconcile(config(*({"id": f"t-{n}"} for n in range(7))), ServicerAdmin(app.admin))
    monkeypatch.setattr(admin_port, "_PAGE_SIZE", 2)
    async with LoopTurns() as turns:
        listed = await ServicerAdmin(app.admin).list_tenants()  # in process: no I/O to wait
    assert [t.tenant_id for t in listed] == [f"t-{n}" for n in range(7)]
    assert turns.count >= 3  # four pages: a turn after each of the first three


async def test_prune_deletes_and_a_tenant_deleted_meanwhile_is_not_an_error(
    app: Application,
) -> None:
    admin = ServicerAdmin(app.admin)
    await reconcile(config({"id": "keep"}, {"id": "gone"}), admin)
    kept = await reconcile(config({"id": "keep"}), admin)
    assert [e.action for e in kept.entries] == ["unchanged", "would_delete"]
    assert await app.administration.get_tenant("gone")
    listing = await admin.list_tenants()
    await app.administration.delete_tenant("gone")
    pruned = await reconcile(config({"id": "keep"}), StaleFirstListing(app, listing), prune=True)
    assert [e.action for e in pruned.entries] == ["unchanged", "delete"]
