"""Tenant administration in memory, through the services the admin API calls: provisioning,
updates, suspension, moves and deletion, API keys, and the audit events of each action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from service_rig import audit_events, error_of, memory_application, tenant, user

from scimtenancy_server.bootstrap import Application
from scimtenancy_server.domain.audit import ADMIN_ACTOR, Outcome
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import IsolationLevel, TenantStatus


@pytest.fixture
async def app() -> AsyncIterator[Application]:
    async with memory_application() as application:
        yield application


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


async def test_a_created_tenant_is_stored_with_what_it_was_given(app: Application) -> None:
    created = await app.administration.create_tenant(
        "acme", "Acme Corp", IsolationLevel.STRICT, {"User": 5}
    )
    found = await app.administration.get_tenant("acme")
    assert found == created
    assert (found.display_name, found.isolation, found.status) == (
        "Acme Corp",
        IsolationLevel.STRICT,
        TenantStatus.ACTIVE,
    )
    assert found.limit("User") == 5
    assert found.limit("Group") is None


async def test_a_tenant_cannot_be_created_twice_or_with_bad_input(app: Application) -> None:
    await tenant(app, "acme")
    again = await error_of(app.administration.create_tenant("acme", "", None))
    assert again.status == 409
    negative = app.administration.create_tenant("globex", "", None, {"User": -1})
    assert (await error_of(negative)).status == 400
    assert (await error_of(app.administration.get_tenant("globex"))).status == 404
    bad_id = await error_of(app.administration.create_tenant("Not Valid", "", None))
    assert bad_id.status == 400
    tenants, _ = await app.administration.list_tenants(0, "")
    assert [t.tenant_id for t in tenants] == ["acme"]


async def test_an_update_changes_only_what_it_names(app: Application) -> None:
    await tenant(app, "acme", User=5)
    updated = await app.administration.update_tenant("acme", display_name="Acme Corp")
    assert updated.display_name == "Acme Corp"
    assert updated.limit("User") == 5
    assert await app.administration.get_tenant("acme") == updated


async def test_a_limit_below_what_the_tenant_holds_is_refused(app: Application) -> None:
    acme = await tenant(app, "acme")
    for name in ("alice", "bob"):
        await app.resources.create(acme, "Users", user(name))
    refused = await error_of(app.administration.update_tenant("acme", limits={"User": 1}))
    assert refused.status == 400
    assert (await app.administration.get_tenant("acme")).limit("User") is None


async def test_a_suspended_tenants_key_is_refused_until_it_is_activated(
    app: Application,
) -> None:
    await tenant(app, "acme")
    _, secret = await app.administration.issue_api_key("acme")
    assert (await app.resolver.resolve(bearer(secret))).tenant_id == "acme"
    suspended = await app.administration.set_status("acme", TenantStatus.SUSPENDED)
    assert suspended.status is TenantStatus.SUSPENDED
    assert (await error_of(app.resolver.resolve(bearer(secret)))).status == 403
    await app.administration.set_status("acme", TenantStatus.ACTIVE)
    assert (await app.resolver.resolve(bearer(secret))).tenant.status is TenantStatus.ACTIVE


async def test_a_moved_tenant_keeps_its_resources_and_serves_at_the_new_level(
    app: Application,
) -> None:
    acme = await tenant(app, "acme")
    created = await app.resources.create(acme, "Users", user("bjensen"))
    moved = await app.administration.move_tenant("acme", IsolationLevel.STRICT)
    assert (moved.isolation, moved.status) == (IsolationLevel.STRICT, TenantStatus.ACTIVE)
    _, secret = await app.administration.issue_api_key("acme")
    ctx = await app.resolver.resolve(bearer(secret))
    found = await app.resources.get(ctx, "Users", created.id)
    assert found.attributes["userName"] == "bjensen"
    assert found.version == created.version


async def test_a_suspended_tenant_cannot_be_moved(app: Application) -> None:
    await tenant(app, "acme")
    await app.administration.set_status("acme", TenantStatus.SUSPENDED)
    refused = await error_of(app.administration.move_tenant("acme", IsolationLevel.STRICT))
    assert refused.status == 409
    assert (await app.administration.get_tenant("acme")).isolation is IsolationLevel.STANDARD


async def test_a_deleted_tenant_takes_its_data_and_keys_and_leaves_others(
    app: Application,
) -> None:
    acme, globex = await tenant(app, "acme"), await tenant(app, "globex")
    _, secret = await app.administration.issue_api_key("acme")
    await app.resources.create(acme, "Users", user("bjensen"))
    kept = await app.resources.create(globex, "Users", user("bjensen"))
    await app.administration.delete_tenant("acme")
    assert (await error_of(app.administration.get_tenant("acme"))).status == 404
    assert (await error_of(app.resolver.resolve(bearer(secret)))).status == 401
    recreated = await tenant(app, "acme")
    assert (await app.resources.list_resources(recreated, "Users", ListRequest())).page.total == 0
    found = await app.resources.get(globex, "Users", kept.id)
    assert found.attributes["userName"] == "bjensen"


async def test_a_rotated_key_works_through_its_overlap_beside_its_successor(
    app: Application,
) -> None:
    await tenant(app, "acme")
    old_id, old_secret = await app.administration.issue_api_key("acme")
    new_id, new_secret = await app.administration.rotate_api_key("acme", old_id, timedelta(hours=1))
    assert new_id != old_id
    for secret in (old_secret, new_secret):
        assert (await app.resolver.resolve(bearer(secret))).tenant_id == "acme"
    keys = {k.key_id: k for k in await app.administration.list_api_keys("acme")}
    assert keys[old_id].expires is not None
    assert keys[new_id].expires is None


async def test_a_key_rotated_without_overlap_stops_working(app: Application) -> None:
    await tenant(app, "acme")
    old_id, old_secret = await app.administration.issue_api_key("acme")
    _, new_secret = await app.administration.rotate_api_key("acme", old_id, timedelta(0))
    assert (await error_of(app.resolver.resolve(bearer(old_secret)))).status == 401
    assert (await app.resolver.resolve(bearer(new_secret))).tenant_id == "acme"
    again = app.administration.rotate_api_key("acme", old_id, timedelta(0))
    assert (await error_of(again)).status == 400


async def test_a_revoked_key_is_refused_and_cannot_be_revoked_through_another_tenant(
    app: Application,
) -> None:
    await tenant(app, "acme")
    await tenant(app, "globex")
    key_id, secret = await app.administration.issue_api_key("acme")
    elsewhere = await error_of(app.administration.revoke_api_key("globex", key_id))
    assert elsewhere.status == 404
    assert (await app.resolver.resolve(bearer(secret))).tenant_id == "acme"
    revoked = await app.administration.revoke_api_key("acme", key_id)
    assert revoked.revoked
    assert (await error_of(app.resolver.resolve(bearer(secret)))).status == 401
    assert await app.administration.list_api_keys("globex") == []


async def test_admin_actions_are_audited_under_their_tenant_as_the_admin(
    app: Application,
) -> None:
    await tenant(app, "acme")
    await tenant(app, "globex")
    key_id, _ = await app.administration.issue_api_key("acme")
    await app.administration.set_status("acme", TenantStatus.SUSPENDED)
    await app.administration.revoke_api_key("acme", key_id)
    events = await audit_events(app, "acme")
    assert [(e.operation, e.resource_type, e.resource_id) for e in events] == [
        ("tenant.create", "Tenant", "acme"),
        ("api_key.issue", "ApiKey", key_id),
        ("tenant.suspend", "Tenant", "acme"),
        ("api_key.revoke", "ApiKey", key_id),
    ]
    assert {(e.actor, e.outcome) for e in events} == {(ADMIN_ACTOR, Outcome.SUCCESS)}
    others = await audit_events(app, "globex")
    assert [e.operation for e in others] == ["tenant.create"]


async def test_a_refused_admin_action_is_audited_as_a_failure(app: Application) -> None:
    await tenant(app, "acme")
    await error_of(app.administration.revoke_api_key("acme", "no-such-key"))
    await app.administration.delete_tenant("acme")
    events = await audit_events(app, "acme")
    failed = [e for e in events if e.operation == "api_key.revoke"]
    assert [(e.outcome, e.error_status) for e in failed] == [(Outcome.FAILURE, 404)]
    # The deletion is recorded, and the tenant's events outlive it.
    assert events[-1].operation == "tenant.delete"
    assert events[-1].outcome is Outcome.SUCCESS
