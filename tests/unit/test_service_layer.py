"""The service layer on embedded storage, without sockets: `build_application` wires the same
services the gRPC server runs, so these tests exercise SCIM behaviour (limits, isolation,
preconditions, /Bulk, memberships, audit) in milliseconds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from service_rig import (
    BULK_REQUEST,
    GROUP,
    USER,
    error_of,
    group,
    memory_application,
    patch,
    tenant,
    user,
)

from scimtenancy_server.bootstrap import Application
from scimtenancy_server.domain.permissions import Permission
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import TenantContext


@pytest.fixture
async def app() -> AsyncIterator[Application]:
    async with memory_application() as application:
        yield application


async def test_a_created_user_reads_back_with_its_first_version(app: Application) -> None:
    acme = await tenant(app, "acme")
    created = await app.resources.create(acme, "Users", user("bjensen", displayName="Barbara"))
    found = await app.resources.get(acme, "Users", created.id)
    assert found.attributes["userName"] == "bjensen"
    assert found.attributes["displayName"] == "Barbara"
    assert found.version == created.version


async def test_another_tenant_can_neither_see_nor_change_a_resource(app: Application) -> None:
    acme, globex = await tenant(app, "acme"), await tenant(app, "globex")
    created = await app.resources.create(acme, "Users", user("bjensen"))
    rename = patch({"op": "replace", "path": "displayName", "value": "Mallory"})
    for call in (
        app.resources.get(globex, "Users", created.id),
        app.resources.patch(globex, "Users", created.id, rename, ""),
        app.resources.replace(globex, "Users", created.id, user("mallory"), ""),
        app.resources.delete(globex, "Users", created.id, ""),
    ):
        assert (await error_of(call)).status == 404
    listed = await app.resources.list_resources(globex, "Users", ListRequest())
    assert listed.page.total == 0
    kept = await app.resources.get(acme, "Users", created.id)
    assert kept.attributes["userName"] == "bjensen"
    assert kept.version == created.version


async def test_the_user_limit_refuses_the_create_past_it_and_stores_nothing(
    app: Application,
) -> None:
    acme = await tenant(app, "acme", User=1)
    await app.resources.create(acme, "Users", user("first"))
    refused = await error_of(app.resources.create(acme, "Users", user("second")))
    assert refused.status == 403
    assert "User" in refused.detail or "max_users" in refused.detail
    listed = await app.resources.list_resources(acme, "Users", ListRequest())
    assert listed.page.total == 1


async def test_one_tenants_limit_leaves_another_tenant_free(app: Application) -> None:
    acme, globex = await tenant(app, "acme", User=1), await tenant(app, "globex")
    await app.resources.create(acme, "Users", user("first"))
    for index in range(3):
        await app.resources.create(globex, "Users", user(f"user{index}"))
    listed = await app.resources.list_resources(globex, "Users", ListRequest())
    assert listed.page.total == 3


async def test_a_credential_without_the_permission_is_refused(app: Application) -> None:
    acme = await tenant(app, "acme")
    reader = TenantContext(acme.tenant, "reader", frozenset({Permission.READ}))
    refused = await error_of(app.resources.create(reader, "Users", user("bjensen")))
    assert refused.status == 403
    assert (await app.resources.list_resources(acme, "Users", ListRequest())).page.total == 0


async def test_patch_changes_the_value_and_a_stale_if_match_is_refused(app: Application) -> None:
    acme = await tenant(app, "acme")
    created = await app.resources.create(acme, "Users", user("bjensen"))
    rename = patch({"op": "replace", "path": "displayName", "value": "Babs"})
    patched = await app.resources.patch(acme, "Users", created.id, rename, created.etag)
    assert patched.resource.attributes["displayName"] == "Babs"
    assert patched.resource.version > created.version
    again = patch({"op": "replace", "path": "displayName", "value": "Barb"})
    stale = await error_of(app.resources.patch(acme, "Users", created.id, again, created.etag))
    assert stale.status == 412
    kept = await app.resources.get(acme, "Users", created.id)
    assert kept.attributes["displayName"] == "Babs"


async def test_a_bad_patch_changes_nothing(app: Application) -> None:
    acme = await tenant(app, "acme")
    created = await app.resources.create(acme, "Users", user("bjensen", displayName="Barbara"))
    bad = patch(
        {"op": "replace", "path": "displayName", "value": "Babs"},
        {"op": "replace", "path": "noSuchAttribute", "value": 1},
    )
    refused = await error_of(app.resources.patch(acme, "Users", created.id, bad, ""))
    assert refused.status == 400
    kept = await app.resources.get(acme, "Users", created.id)
    assert kept.attributes["displayName"] == "Barbara"
    assert kept.version == created.version


async def test_a_filter_lists_only_the_matching_resources_of_the_tenant(
    app: Application,
) -> None:
    acme, globex = await tenant(app, "acme"), await tenant(app, "globex")
    for name in ("alice", "bob", "carol"):
        await app.resources.create(acme, "Users", user(name))
    await app.resources.create(globex, "Users", user("alice"))
    listed = await app.resources.list_resources(
        acme, "Users", ListRequest(filter='userName sw "a"')
    )
    assert [r.attributes["userName"] for r in listed.page.resources] == ["alice"]
    assert listed.page.total == 1


async def test_a_group_member_of_another_tenant_is_refused(app: Application) -> None:
    acme, globex = await tenant(app, "acme"), await tenant(app, "globex")
    outsider = await app.resources.create(globex, "Users", user("mallory"))
    refused = await error_of(app.resources.create(acme, "Groups", group("staff", outsider.id)))
    assert refused.status == 400
    assert (await app.resources.list_resources(acme, "Groups", ListRequest())).page.total == 0


async def test_a_deleted_user_leaves_its_groups(app: Application) -> None:
    acme = await tenant(app, "acme")
    member = await app.resources.create(acme, "Users", user("bjensen"))
    staff = await app.resources.create(acme, "Groups", group("staff", member.id))
    shown = Projection()
    before = await app.resources.get(acme, "Groups", staff.id, shown)
    assert [m["value"] for m in before.attributes["members"]] == [member.id]
    await app.resources.delete(acme, "Users", member.id, "")
    after = await app.resources.get(acme, "Groups", staff.id, shown)
    assert after.attributes.get("members", []) == []


async def test_bulk_resolves_bulk_ids_and_reports_each_operation(app: Application) -> None:
    acme = await tenant(app, "acme")
    body = orjson.dumps(
        {
            "schemas": [BULK_REQUEST],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g",
                    "data": {
                        "schemas": [GROUP],
                        "displayName": "staff",
                        "members": [{"value": "bulkId:u"}],
                    },
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "u",
                    "data": {"schemas": [USER], "userName": "bjensen"},
                },
                {"method": "DELETE", "path": "/Users/no-such-user"},
            ],
        }
    )
    answer = await app.bulk.run(acme, body, "https://scim.example/acme")
    statuses = {op.get("bulkId", op["method"]): op["status"] for op in answer["Operations"]}
    assert statuses == {"g": "201", "u": "201", "DELETE": "404"}
    groups = await app.resources.list_resources(
        acme, "Groups", ListRequest(projection=Projection())
    )
    users = await app.resources.list_resources(acme, "Users", ListRequest())
    assert [m["value"] for m in groups.page.resources[0].attributes["members"]] == [
        users.page.resources[0].id
    ]


async def test_changes_are_audited_under_their_tenant_and_actor(app: Application) -> None:
    acme, globex = await tenant(app, "acme"), await tenant(app, "globex")
    created = await app.resources.create(acme, "Users", user("bjensen"))
    await app.resources.delete(acme, "Users", created.id, "")
    await app.audit.drain()
    events, _ = await app.audit.list_events("acme", None, None, 100, "")
    changes = [(e.operation, e.resource_id, e.actor) for e in events if e.resource_type == "User"]
    assert changes == [("create", created.id, "key-acme"), ("delete", created.id, "key-acme")]
    others, _ = await app.audit.list_events(globex.tenant_id, None, None, 100, "")
    assert [e for e in others if e.resource_type == "User"] == []
