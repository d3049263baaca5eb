"""Groups written before memberships had their own documents (members inline in the group
document, as the previous release stored them) keep serving, and move to the membership index
on their next write or with `scimtenancy-migrate memberships`: online, idempotent, no member
lost, and a member that no longer exists never blocks the group."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from e2e.test_migration import run
from helpers import require_mongodb, unique_id, user_body

from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import GROUP, GROUP_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantContext
from scimtenancy_server.storage.mongo import connect

pytestmark = pytest.mark.mongodb
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
T0 = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
async def app() -> AsyncIterator[tuple[Application, str, str]]:
    uri, database = require_mongodb(), f"scimtenancy_members_{uuid.uuid4().hex[:8]}"
    application = build_application(
        Settings(storage="mongodb", mongodb_uri=uri, mongodb_database=database)
    )
    try:
        yield application, uri, database
    finally:
        await application.close()
        client = connect(uri)
        await client.drop_database(database)
        client.close()


async def legacy_group(app: Application, tenant: Tenant, group_id: str, *members: str) -> None:
    """A group document as the previous release wrote it: `members` inside the group."""
    attributes = {
        "schemas": [GROUP_SCHEMA],
        "displayName": group_id,
        "members": [{"value": m, "type": "User"} for m in members],
    }
    group = StoredResource("Group", group_id, 3, T0, T0, attributes)
    await app.repository.insert(tenant, group, GROUP)


async def member_ids(app: Application, ctx: TenantContext, group_id: str) -> list[str]:
    group = await app.resources.get(ctx, "Groups", group_id, Projection())
    return [m["value"] for m in group.attributes.get("members", [])]


@pytest.mark.parametrize("isolation", [IsolationLevel.STRICT, IsolationLevel.STANDARD])
async def test_inline_members_serve_then_move_without_loss(
    app: tuple[Application, str, str], isolation: IsolationLevel
) -> None:
    application, uri, database = app
    tenant = await application.administration.create_tenant(unique_id("legacy"), "", isolation)
    other = await application.administration.create_tenant(unique_id("other"), "", isolation)
    ctx = TenantContext(tenant, "test")
    users = [
        (await application.resources.create(ctx, "Users", orjson.dumps(user_body(f"u{i}")))).id
        for i in range(3)
    ]
    await legacy_group(application, tenant, "g1", users[0], users[1], "deleted-long-ago")
    await legacy_group(application, tenant, "g2", users[0])
    other_ctx = TenantContext(other, "test")
    theirs = await application.resources.create(other_ctx, "Users", orjson.dumps(user_body("o")))
    await legacy_group(application, other, "g2", theirs.id, users[1])  # not their user

    # Served before anything moved, without the member that no longer exists (a deletion
    # only sees the membership index, so reads check inline members).
    assert await member_ids(application, ctx, "g1") == [users[0], users[1]]

    # The next write moves them; the member that no longer exists does not block it.
    add = {"op": "add", "path": "members", "value": [{"value": users[2]}]}
    body = orjson.dumps({"schemas": [PATCH_OP], "Operations": [add]})
    patched = await application.resources.patch(ctx, "Groups", "g1", body, '"3"')
    assert patched.resource.version == 4
    assert await member_ids(application, ctx, "g1") == sorted(users)
    stored = await application.repository.get(tenant, GROUP, "g1")
    assert stored is not None
    assert "members" not in stored.attributes

    # The command moves the rest, once, in every tenant; a second run finds nothing to move.
    code, out = run(uri, database, "memberships")
    assert code == 0, out
    assert f"{tenant.tenant_id} │ 1" in out or f"{tenant.tenant_id} | 1" in out, out
    code, out = run(uri, database, "memberships", tenant.tenant_id)
    assert code == 0, out
    assert " 0 " in out or "│ 0" in out, out
    g2 = await application.repository.get(tenant, GROUP, "g2")
    assert g2 is not None
    assert (g2.version, "members" in g2.attributes) == (3, False)  # ETags stay valid

    # Reads now come from the index: filters, a User's groups, the other tenant untouched.
    where = parse_filter(f'members[value eq "{users[0]}"]')
    page = await application.repository.list(tenant, GROUP, where, 0, 10)
    assert [g.id for g in page.resources] == ["g1", "g2"]
    user = await application.resources.get(ctx, "Users", users[0], Projection())
    assert [g["value"] for g in user.attributes["groups"]] == ["g1", "g2"]
    assert await member_ids(application, other_ctx, "g2") == [theirs.id]
