"""Resource limits hold across two server processes sharing one database: with a limit of 10
and 14 concurrent creates spread over both, exactly 10 succeed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import orjson
import pytest
from e2e.stack import ADMIN_TOKEN
from e2e.two_servers import two_servers
from helpers import unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc


@pytest.fixture
async def channels() -> AsyncIterator[list[grpc.aio.Channel]]:
    async with two_servers() as opened:
        yield opened


async def test_limit_is_exact_across_two_processes(channels: list[grpc.aio.Channel]) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channels[0])
    auth = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    tenant_id = unique_id()
    await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(
            tenant_id=tenant_id,
            limits=admin_pb2.Limits(max_users=10),
            isolation_level=admin_pb2.ISOLATION_LEVEL_STRICT,
        ),
        metadata=auth,
    )
    key = await admin.IssueApiKey(admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id), metadata=auth)
    as_tenant = (("authorization", f"Bearer {key.api_key}"),)
    stubs = [resources_pb2_grpc.ResourceServiceStub(c) for c in channels]

    async def create(index: int) -> str:
        request = resources_pb2.CreateResourceRequest(
            resource_type="Users", json=orjson.dumps(user_body(f"user{index}"))
        )
        try:
            await stubs[index % 2].CreateResource(request, metadata=as_tenant)
        except grpc.aio.AioRpcError as error:
            return f"{error.code().name}: {error.details()}"
        return "created"

    outcomes = await asyncio.gather(*(create(i) for i in range(14)))
    assert outcomes.count("created") == 10
    assert set(outcomes) - {"created"} == {
        "PERMISSION_DENIED: the tenant's limit max_users=10 is reached"
    }
    listed = await stubs[1].ListResources(
        resources_pb2.ListResourcesRequest(resource_type="Users", count=0), metadata=as_tenant
    )
    assert listed.total_results == 10
