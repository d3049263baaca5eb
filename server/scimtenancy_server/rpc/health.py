"""gRPC health checking (grpc.health.v1) that tells the truth about storage, and reflection.

Check: the overall status ("") and the resource and discovery services are SERVING only while
the storage answers a ping; the admin service is SERVING while the process is. Once the server
drains for shutdown, everything is NOT_SERVING, and watchers are told at once.

A server started with a tenants file also reports `scimtenancy.tenant_config`: SERVING while
the file's latest version is the one applied, NOT_SERVING while the server runs on an older
one because the latest was invalid or could not be applied. The overall status does not
follow it: an invalid file must not take a serving replica out of rotation.

Watch, which the transcoder's channel follows to choose replicas (gRPC client-side health
checking), reports draining only, not storage, on purpose: every replica shares the database,
so an outage would take them all out at once, and the channel's own "no replica" failure
would replace the answers the server gives within MONGODB_TIMEOUT_MS (503, "retry" or
"outcome is unknown"). Readiness probes use Check.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

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
# Not a gRPC service: the state of the tenants file, as health checkers already read states.
TENANT_CONFIG_SERVICE = "scimtenancy.tenant_config"
SERVING: int = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING: int = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN: int = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class StorageAwareHealth(health.aio.HealthServicer):  # type: ignore[misc]
    def __init__(self, storage_ping: Callable[[], Awaitable[bool]]) -> None:
        super().__init__()
        self._ping = storage_ping
        self._draining = False
        self._watched: dict[str, int] = {"": SERVING}
        self._changed = asyncio.Condition()

    async def set(self, service: str, status: int) -> None:
        await super().set(service, status)
        async with self._changed:
            self._watched[service] = status
            self._changed.notify_all()

    async def report_tenant_config(self, current: bool) -> None:
        """Whether the running tenant configuration is the file's latest version."""
        await self.set(TENANT_CONFIG_SERVICE, SERVING if current else NOT_SERVING)

    async def drain(self) -> None:
        async with self._changed:
            self._draining = True
            self._changed.notify_all()
        await self.enter_graceful_shutdown()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        if request.service in STORAGE_BOUND:
            up = not self._draining and await self._ping()
            return health_pb2.HealthCheckResponse(status=SERVING if up else NOT_SERVING)
        return await super().Check(request, context)

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        """The library's Watch, yielding its answers: the library's own writes them with
        `context.write`, which fails under OpenTelemetry's server interceptor (it iterates a
        streaming handler), so that a tracing server would look unhealthy to every client."""
        sent: int | None = None
        while True:
            sent = await self._next_status(request.service, sent)
            yield health_pb2.HealthCheckResponse(status=sent)

    async def _next_status(self, service: str, sent: int | None) -> int:
        async with self._changed:
            await self._changed.wait_for(lambda: self._watched_status(service) != sent)
            return self._watched_status(service)

    def _watched_status(self, service: str) -> int:
        if self._draining:
            return NOT_SERVING
        return self._watched.get(service, SERVICE_UNKNOWN)


async def add_health_and_reflection(
    server: grpc.aio.Server, storage_ping: Callable[[], Awaitable[bool]]
) -> StorageAwareHealth:
    servicer = StorageAwareHealth(storage_ping)
    for name in (ADMIN_SERVICE, *STORAGE_BOUND):
        await servicer.set(name, SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    names = (
        *STORAGE_BOUND - {""},
        ADMIN_SERVICE,
        reflection.SERVICE_NAME,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
    )
    reflection.enable_server_reflection(names, server)
    return servicer
