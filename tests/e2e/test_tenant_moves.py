"""Moving a tenant between isolation levels while an identity provider keeps writing: every
acknowledged write survives, the old storage is cleaned up, isolation holds throughout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from e2e.stack import ADMIN_TOKEN, ScimClient, Stack, running_stack, server_settings
from helpers import require_mongodb, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy_server.domain.tenant import IsolationLevel

ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
LEVELS = {
    IsolationLevel.STRICT: admin_pb2.ISOLATION_LEVEL_STRICT,
    IsolationLevel.STANDARD: admin_pb2.ISOLATION_LEVEL_STANDARD,
}


@pytest.fixture
async def quick_stack() -> AsyncIterator[Stack]:
    settings = server_settings("mongodb", require_mongodb())
    settings.tenant_cache_ttl = 0.3  # how long a move waits for caches to see its freeze
    async with running_stack(settings) as stack:
        yield stack


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (IsolationLevel.STRICT, IsolationLevel.STANDARD),
        (IsolationLevel.STANDARD, IsolationLevel.STRICT),
    ],
    ids=["strict-to-standard", "standard-to-strict"],
)
async def test_writes_continue_through_a_move(
    quick_stack: Stack, start: IsolationLevel, end: IsolationLevel
) -> None:
    scim = await quick_stack.tenant(start)
    neighbour = await quick_stack.tenant(IsolationLevel.STANDARD)
    await neighbour.post("/Users", user_body("neighbour"))
    for index in range(15):
        await scim.post("/Users", user_body(f"before{index}", title="v0"))
    acknowledged: dict[str, str] = {}  # userName -> title, for every 2xx answer
    refused = 0
    moving = True

    async def writer() -> None:
        nonlocal refused
        index = 0
        while moving and index < 400:
            name = f"during{index}"
            response = await scim.post("/Users", user_body(name, title="v1"))
            if response.status_code == 201:
                acknowledged[name] = "v1"
            else:
                assert response.status_code == 503, response.text
                refused += 1
            index += 1

    task = asyncio.create_task(writer())
    async with grpc.aio.insecure_channel(quick_stack.grpc_target) as channel:
        admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
        moved = await admin.MoveTenant(
            admin_pb2.MoveTenantRequest(tenant_id=scim.tenant_id, isolation_level=LEVELS[end]),
            metadata=ADMIN,
        )
    moving = False
    await task
    assert moved.tenant.isolation_level == LEVELS[end]
    assert moved.tenant.status == admin_pb2.TENANT_STATUS_ACTIVE
    assert acknowledged, "no write was acknowledged while the move ran"

    listed = (await scim.get("/Users", params={"count": 1000})).json()
    titles = {u["userName"]: u.get("title") for u in listed["Resources"]}
    assert all(titles.get(name) == title for name, title in acknowledged.items())
    assert {f"before{i}" for i in range(15)} <= titles.keys()
    assert listed["totalResults"] == 15 + len(acknowledged)
    assert "neighbour" not in titles
    assert (await neighbour.get("/Users")).json()["totalResults"] == 1
    assert (await scim.post("/Users", user_body("after"))).status_code == 201

    database = quick_stack.app.repository._database  # type: ignore[attr-defined]
    collections = await database.list_collection_names()
    strict_users = f"t.{scim.tenant_id}.users"
    assert (strict_users in collections) == (end is IsolationLevel.STRICT)
    if end is IsolationLevel.STRICT:
        leftovers = await database["users"].count_documents({"tenant_id": scim.tenant_id})
        assert leftovers == 0


@pytest.mark.parametrize("start", [IsolationLevel.STRICT, IsolationLevel.STANDARD])
async def test_memberships_move_with_their_tenant_and_nobody_elses_do(
    quick_stack: Stack, start: IsolationLevel
) -> None:
    end = IsolationLevel.STANDARD if start is IsolationLevel.STRICT else IsolationLevel.STRICT
    scim = await quick_stack.tenant(start)
    neighbour = await quick_stack.tenant(start)
    group_schema = "urn:ietf:params:scim:schemas:core:2.0:Group"

    async def group_of(client: ScimClient, names: list[str]) -> tuple[str, set[str]]:
        ids = {(await client.post("/Users", user_body(n))).json()["id"] for n in names}
        body = {
            "schemas": [group_schema],
            "displayName": "G",
            "members": [{"value": i} for i in ids],
        }
        created = await client.post("/Groups", body)
        assert created.status_code == 201, created.text
        return created.json()["id"], ids

    group, members = await group_of(scim, ["ann", "bob"])
    theirs, their_members = await group_of(neighbour, ["cid"])
    async with grpc.aio.insecure_channel(quick_stack.grpc_target) as channel:
        admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
        await admin.MoveTenant(
            admin_pb2.MoveTenantRequest(tenant_id=scim.tenant_id, isolation_level=LEVELS[end]),
            metadata=ADMIN,
        )

    def values(answer: httpx.Response) -> set[str]:
        return {m["value"] for m in answer.json().get("members", [])}

    assert values(await scim.get(f"/Groups/{group}")) == members
    user = next(iter(members))
    groups = (await scim.get(f"/Users/{user}")).json()["groups"]
    assert [g["value"] for g in groups] == [group]
    found = await scim.get("/Groups", params={"filter": f'members[value eq "{user}"]'})
    assert [g["id"] for g in found.json()["Resources"]] == [group]
    assert values(await neighbour.get(f"/Groups/{theirs}")) == their_members
    database = quick_stack.app.repository._database  # type: ignore[attr-defined]
    strict = f"t.{scim.tenant_id}.memberships"
    if end is IsolationLevel.STANDARD:
        assert strict not in await database.list_collection_names()  # the old level is purged
    else:
        leftovers = await database["memberships"].count_documents({"tenant_id": scim.tenant_id})
        assert leftovers == 0
