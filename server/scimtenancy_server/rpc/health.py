"""gRPC health checking (grpc.health.v1) that tells the truth about storage, and reflection.

The overall status ("") and the resource and discovery services are SERVING only while the
storage answers a ping; the admin service is SERVING while the process is. Once the server
drains for shutdown, everything is NOT_SERVING, and watchers are told at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from scimtenancy.admin.v1 import admin_pb2
from scimtenancy.discovery.v1 import discovery_pb2
from scimtenancy.resources.v1 import resources_pb2

RESOURCE_SERVICE = resources_pb2.DESCRIPTOR.services_by_name["ResourceService"].full_name
DISCOVERY_SERVICE = discovery_pb2.DESCRIPTOR.services_by_name["DiscoveryService"].full_name
ADMIN_SERVICE = admin_pb2.DESCRIPTOR.services_by_name["TenantAdminService"].full_name
STORAGE_BOUND = frozenset({"", RESOURCE_SERVICE, DISCOVERY_SERVICE})


class StorageAwareHealth(health.aio.HealthServicer):  # type: ignore[misc]
    def __init__(self, storage_ping: Callable[[], Awaitable[bool]]) -> None:
        super().__init__()
        self._ping = storage_ping
        self._draining = False

    async def drain(self) -> None:
        self._draining = True
        await self.enter_graceful_shutdown()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        if request.service in STORAGE_BOUND:
            up = not self._draining and await self._ping()
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if up
                else (health_pb2.HealthCheckResponse.NOT_SERVING)
            )
            return health_pb2.HealthCheckResponse(status=status)
        return await super().Check(request, context)


async def add_health_and_reflection(
    server: grpc.aio.Server, storage_ping: Callable[[], Awaitable[bool]]
) -> StorageAwareHealth:
    servicer = StorageAwareHealth(storage_ping)
    for name in (ADMIN_SERVICE, *STORAGE_BOUND):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    names = (
        *STORAGE_BOUND - {""},
        ADMIN_SERVICE,
        reflection.SERVICE_NAME,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
    )
    reflection.enable_server_reflection(names, server)
    return servicer
