"""Group membership under concurrency across two server processes sharing one database: the
state after racing requests is one a serial order would give (no dangling members, no lost
adds), user deletions leave every group, and memberships never cross tenants."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import orjson
import pytest
from e2e.test_admin_rpc import ADMIN, scim_error
from e2e.test_groups import PATCH_OP, group_body
from e2e.test_tenant_moves import LEVELS
from e2e.two_servers import two_servers
from helpers import unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_server.domain.tenant import IsolationLevel

pytestmark = pytest.mark.mongodb

ROUNDS = 10
CONCURRENT = 20
GROUPS = 5
Metadata = tuple[tuple[str, str], ...]


@pytest.fixture(scope="module")
async def channels() -> AsyncIterator[list[grpc.aio.Channel]]:
    async with two_servers() as opened:
        yield opened


@dataclass
class Replicas:
    """One tenant's view of both servers: request `n` goes to server `n % 2`."""

    stubs: list[resources_pb2_grpc.ResourceServiceStub]
    auth: Metadata

    def on(self, server: int) -> resources_pb2_grpc.ResourceServiceStub:
        return self.stubs[server % len(self.stubs)]

    async def create(self, server: int, resource_type: str, body: dict[str, Any]) -> str:
        request = resources_pb2.CreateResourceRequest(
            resource_type=resource_type, json=orjson.dumps(body)
        )
        created: resources_pb2.CreateResourceResponse = await self.on(server).CreateResource(
            request, metadata=self.auth
        )
        return created.resource.id

    async def user(self, server: int = 0) -> str:
        return await self.create(server, "Users", user_body(unique_id("u")))

    async def group(self, server: int, *members: str) -> str:
        return await self.create(server, "Groups", group_body(unique_id("g"), *members))

    async def patch(self, server: int, group: str, *operations: dict[str, Any]) -> None:
        body = {"schemas": [PATCH_OP], "Operations": list(operations)}
        request = resources_pb2.PatchResourceRequest(
            resource_type="Groups", id=group, json=orjson.dumps(body)
        )
        await self.on(server).PatchResource(request, metadata=self.auth)

    async def delete_user(self, server: int, user: str) -> None:
        request = resources_pb2.DeleteResourceRequest(resource_type="Users", id=user)
        await self.on(server).DeleteResource(request, metadata=self.auth)

    async def read_group(self, server: int, group: str) -> dict[str, Any]:
        request = resources_pb2.GetResourceRequest(resource_type="Groups", id=group)
        found = await self.on(server).GetResource(request, metadata=self.auth)
        read: dict[str, Any] = orjson.loads(found.resource.json)
        return read

    async def members(self, server: int, group: str) -> list[str]:
        request = resources_pb2.GetResourceRequest(
            resource_type="Groups",
            id=group,
            projection=resources_pb2.Projection(attributes=["members"]),
        )
        found = await self.on(server).GetResource(request, metadata=self.auth)
        return [m["value"] for m in orjson.loads(found.resource.json).get("members", [])]

    async def groups_with_member(self, server: int, member: str) -> int:
        request = resources_pb2.ListResourcesRequest(
            resource_type="Groups", filter=f'members.value eq "{member}"', count=0
        )
        listed: resources_pb2.ListResourcesResponse = await self.on(server).ListResources(
            request, metadata=self.auth
        )
        return listed.total_results


def add(*members: str) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": m} for m in members]}


def remove(member: str) -> dict[str, Any]:
    return {"op": "remove", "path": f'members[value eq "{member}"]'}


def outcome(result: BaseException | None) -> str:
    """`ok`, or the gRPC code and scimType of a refusal; anything else is re-raised."""
    if result is None:
        return "ok"
    if isinstance(result, grpc.aio.AioRpcError):
        return f"{result.code().name} {scim_error(result).scim_type}".rstrip()
    raise result


def accepted(users: list[str], results: list[BaseException | None]) -> set[str]:
    """The users whose request, at the same position in `results`, succeeded."""
    return {user for user, result in zip(users, results, strict=True) if outcome(result) == "ok"}


def described(error: grpc.aio.AioRpcError) -> str:
    return f"{outcome(error)}: {error.details()}"


def refusals(results: list[BaseException | None]) -> list[str]:
    """Each refused request's code, scimType and detail (`outcome` re-raises anything else)."""
    return [
        described(r) for r in results if outcome(r) != "ok" and isinstance(r, grpc.aio.AioRpcError)
    ]


async def tenant(channels: list[grpc.aio.Channel], isolation: IsolationLevel) -> Replicas:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channels[0])
    tenant_id = unique_id()
    await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id, isolation_level=LEVELS[isolation]),
        metadata=ADMIN,
    )
    key = await admin.IssueApiKey(admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id), metadata=ADMIN)
    stubs = [resources_pb2_grpc.ResourceServiceStub(c) for c in channels]
    return Replicas(stubs, (("authorization", f"Bearer {key.api_key}"),))


async def race_add_and_delete(scim: Replicas) -> list[str]:
    """One round: PATCH add U (server 1) against DELETE U (server 2); what went wrong."""
    user, other = await scim.user(0), await scim.user(1)
    group = await scim.group(0, other)
    added, deleted = await asyncio.gather(
        scim.patch(0, group, add(user)), scim.delete_user(1, user), return_exceptions=True
    )
    # A serial order either adds U and then removes it with U, or refuses a member that is gone.
    wrong = []
    if outcome(added) not in {"ok", "INVALID_ARGUMENT invalidValue"} or outcome(deleted) != "ok":
        wrong.append(f"add: {outcome(added)}, delete: {outcome(deleted)}")
    members = await scim.members(1, group)
    if user in members:
        wrong.append("the deleted user is a member")
    if other not in members:
        wrong.append("the other member is gone")
    return wrong + await later_patches(scim, group)


async def later_patches(scim: Replicas, group: str) -> list[str]:
    """Adding and removing a fresh member must still work, whatever the race left."""
    fresh = await scim.user(1)
    for server, operation in enumerate((add(fresh), remove(fresh))):
        try:
            await scim.patch(server, group, operation)
        except grpc.aio.AioRpcError as error:
            return [f"PATCH {operation['op']} refused: {described(error)}"]
    return []


async def test_add_member_racing_the_members_deletion_leaves_no_dangling_member(
    channels: list[grpc.aio.Channel], isolation: IsolationLevel
) -> None:
    scim = await tenant(channels, isolation)
    wrong = [problems for _ in range(ROUNDS) if (problems := await race_add_and_delete(scim))]
    assert wrong == [], f"{len(wrong)} of {ROUNDS} rounds ended wrong, first: {wrong[0]}"


async def test_concurrent_adds_and_removes_are_none_of_them_lost(
    channels: list[grpc.aio.Channel], isolation: IsolationLevel
) -> None:
    scim = await tenant(channels, isolation)
    users = [await scim.user(i) for i in range(CONCURRENT)]
    group = await scim.group(0)

    adds = await asyncio.gather(
        *(scim.patch(i, group, add(u)) for i, u in enumerate(users)), return_exceptions=True
    )
    members = await scim.members(1, group)
    lost = accepted(users, adds) - set(members)
    assert not lost, f"{len(lost)} accepted adds are not members"
    refused = refusals(adds)
    assert refused == [], f"{len(refused)} of {CONCURRENT} adds refused, first: {refused[0]}"
    assert sorted(members) == sorted(users)

    removes = await asyncio.gather(
        *(scim.patch(i + 1, group, remove(u)) for i, u in enumerate(users)),
        return_exceptions=True,
    )
    left = await scim.members(0, group)
    kept = accepted(users, removes) & set(left)
    assert not kept, f"{len(kept)} accepted removes left their member in the group"
    refused = refusals(removes)
    assert refused == [], f"{len(refused)} of {CONCURRENT} removes refused, first: {refused[0]}"
    assert left == []


async def test_deleting_a_user_removes_it_from_every_group(
    channels: list[grpc.aio.Channel], isolation: IsolationLevel
) -> None:
    scim = await tenant(channels, isolation)
    leaving, staying = await scim.user(0), await scim.user(1)
    groups = [await scim.group(i, leaving, staying) for i in range(GROUPS)]
    before = [(await scim.read_group(i, g))["meta"]["version"] for i, g in enumerate(groups)]

    await scim.delete_user(1, leaving)
    after = [await scim.read_group(i, g) for i, g in enumerate(groups)]
    assert [[m["value"] for m in g["members"]] for g in after] == [[staying]] * GROUPS
    assert all(g["meta"]["version"] != v for g, v in zip(after, before, strict=True))
    assert await scim.groups_with_member(0, leaving) == 0


async def test_memberships_stay_inside_the_tenant(
    channels: list[grpc.aio.Channel], isolation: IsolationLevel
) -> None:
    mine, theirs = await tenant(channels, isolation), await tenant(channels, isolation)
    kept, other = await mine.user(0), await mine.user(1)
    my_group = await mine.group(0, kept, other)
    their_user = await theirs.user(1)
    their_group = await theirs.group(1, their_user)
    untouched = await mine.read_group(0, my_group)
    unchanged = await theirs.read_group(0, their_group)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await theirs.patch(0, their_group, add(kept))
    assert outcome(refused.value) == "INVALID_ARGUMENT invalidValue"
    assert await theirs.read_group(1, their_group) == unchanged
    assert await mine.groups_with_member(1, kept) == 1
    assert await theirs.groups_with_member(0, kept) == 0

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await theirs.delete_user(1, kept)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    await theirs.delete_user(0, their_user)
    assert await mine.read_group(1, my_group) == untouched
