"""Health checking and reflection over gRPC, liveness and readiness over HTTP."""

from __future__ import annotations

import grpc
import pytest
from e2e.stack import Stack
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

SERVICES = {
    "scimtenancy.resources.v1.ResourceService",
    "scimtenancy.discovery.v1.DiscoveryService",
    "scimtenancy.admin.v1.TenantAdminService",
}


async def test_grpc_health_and_reflection(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", *SERVICES):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await health.Check(health_pb2.HealthCheckRequest(service="no.Such"))
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        call = reflection.ServerReflectionInfo(iter([request]))
        names = {s.name async for reply in call for s in reply.list_services_response.service}
        assert names >= SERVICES | {"grpc.health.v1.Health"}


async def test_liveness_and_readiness(stack: Stack) -> None:
    origin = stack.origins["path"]
    alive = await stack.http.get(f"{origin}/healthz")
    assert (alive.status_code, alive.json()) == (200, {"status": "alive"})
    ready = await stack.http.get(f"{origin}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
