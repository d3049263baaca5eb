"""Reconciling a tenants file through the admin servicer in process, on embedded storage:
applied once, then nothing to do; a create raced by another applier; a failure mid-way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.tenants_file.admin_port import ServicerAdmin
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


async def test_a_failure_names_the_tenant_and_keeps_what_was_applied(app: Application) -> None:
    tenants = [{"id": "first"}, {"id": "second", "isolation": "shared"}, {"id": "third"}]
    with pytest.raises(ReconcileFailed) as raised:
        await reconcile(config(*tenants), ServicerAdmin(app.admin))
    assert raised.value.tenant_id == "second"
    assert raised.value.cause.code == "INVALID_ARGUMENT"
    assert "shared namespace" in raised.value.cause.detail
    names = [t.tenant_id for t in (await app.administration.list_tenants(0, ""))[0]]
    assert names == ["first"]


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
