"""The shared isolation level: read-only visibility of a namespace tenant's Groups, never
writable, never visible to strict or standard tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from e2e.stack import ADMIN_TOKEN, Stack, running_stack, server_settings
from helpers import require_mongodb, unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy_server.domain.schema import GROUP_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

PLATFORM = unique_id("platform")
PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "displayName", "value": "Hijacked"}],
}


def group(name: str) -> dict[str, object]:
    return {"schemas": [GROUP_SCHEMA], "displayName": name}


@pytest.fixture(params=["memory", "mongodb"])
async def shared_stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    uri = require_mongodb() if request.param == "mongodb" else ""
    settings = server_settings(request.param, uri)
    settings.shared_namespace = PLATFORM
    async with running_stack(settings) as stack:
        await stack.app.administration.create_tenant(PLATFORM, "Platform", None)
        yield stack


async def test_shared_tenants_read_but_never_write_the_namespace(shared_stack: Stack) -> None:
    _, platform_key = await shared_stack.app.administration.issue_api_key(PLATFORM)
    platform = await shared_stack.tenant(IsolationLevel.STANDARD)
    platform.tenant_id, platform.api_key = PLATFORM, platform_key
    admins = (await platform.post("/Groups", group("Platform Admins"))).json()
    await platform.post("/Users", user_body("platform-user"))

    shared = await shared_stack.tenant(IsolationLevel.SHARED)
    standard = await shared_stack.tenant(IsolationLevel.STANDARD)
    mine = (await shared.post("/Groups", group("Mine"))).json()

    listed = (await shared.get("/Groups")).json()
    assert [g["displayName"] for g in listed["Resources"]] == ["Mine", "Platform Admins"]
    assert listed["totalResults"] == 2
    found = await shared.get("/Groups", params={"filter": 'displayName eq "platform admins"'})
    assert [g["id"] for g in found.json()["Resources"]] == [admins["id"]]
    path = f"/Groups/{admins['id']}"
    assert (await shared.get(path)).json()["displayName"] == "Platform Admins"
    for response in (
        await shared.patch(path, PATCH),
        await shared.put(path, group("X")),
        await shared.delete(path),
    ):
        assert response.status_code == 403
        assert "read-only" in response.json()["detail"]
    assert (await shared.get("/Users")).json()["totalResults"] == 0  # only Groups are shared
    assert (await shared.patch(f"/Groups/{mine['id']}", PATCH)).status_code == 200

    assert (await standard.get(path)).status_code == 404
    assert (await standard.get("/Groups")).json()["totalResults"] == 0
    assert (await platform.get(path)).json()["displayName"] == "Platform Admins"


async def test_shared_level_needs_a_namespace(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await admin.CreateTenant(
                admin_pb2.CreateTenantRequest(
                    tenant_id=unique_id(), isolation_level=admin_pb2.ISOLATION_LEVEL_SHARED
                ),
                metadata=(("authorization", f"Bearer {ADMIN_TOKEN}"),),
            )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "shared namespace" in refused.value.details()
