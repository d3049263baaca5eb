"""The admin calls that applying a tenants file needs: over gRPC for the CLI (`StubAdmin`),
or straight into the servicer for a server applying its own file (`ServicerAdmin`). Both
raise AdminCallFailed, so the applier sees one kind of failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

import grpc

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.rpc.admin import TenantAdminServicer
from scimtenancy_server.rpc.errors import grpc_code

_PAGE_SIZE = 500
# A listing stops here: far more tenants than a tenants file may hold (MAX_TENANTS).
_MAX_PAGES = 1000
_Reply = TypeVar("_Reply")
# Codes of a refusal of one request: the request, or its tenant's state, is at fault, and
# the next tenant's request may well succeed. Any other code (UNAVAILABLE, DEADLINE_EXCEEDED,
# UNKNOWN, INTERNAL, UNAUTHENTICATED, ...) may hold for every call that follows.
_REFUSALS = frozenset(
    {
        "INVALID_ARGUMENT",
        "FAILED_PRECONDITION",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "ABORTED",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "OUT_OF_RANGE",
    }
)


class AdminCallFailed(Exception):
    """An admin call was refused or failed; `code` is the gRPC status code's name."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")

    @property
    def already_exists(self) -> bool:
        # A second CreateTenant of one id is a 409 conflict: ABORTED over gRPC (rpc/errors.py).
        return self.code in ("ALREADY_EXISTS", "ABORTED") and "already exists" in self.detail

    @property
    def refusal(self) -> bool:
        """Whether the server refused this request only (a limit below what the tenant holds)
        rather than failing in a way the next calls would meet too (the database is away)."""
        return self.code in _REFUSALS


class TenantAdminPort(Protocol):
    async def list_tenants(self) -> list[pb.Tenant]:
        """Every tenant, all pages."""

    async def create_tenant(self, request: pb.CreateTenantRequest) -> pb.Tenant: ...

    async def update_tenant(self, request: pb.UpdateTenantRequest) -> pb.Tenant: ...

    async def move_tenant(self, request: pb.MoveTenantRequest) -> pb.Tenant: ...

    async def delete_tenant(self, request: pb.DeleteTenantRequest) -> None: ...

    async def register_extension(self, request: pb.RegisterSchemaExtensionRequest) -> None: ...


async def _all_pages(
    page: Callable[[pb.ListTenantsRequest], Awaitable[pb.ListTenantsResponse]],
) -> list[pb.Tenant]:
    tenants: list[pb.Tenant] = []
    token = ""
    for _ in range(_MAX_PAGES):
        reply = await page(pb.ListTenantsRequest(page_size=_PAGE_SIZE, page_token=token))
        tenants.extend(reply.tenants)
        token = reply.next_page_token
        if not token:
            return tenants
        # A page called in process never waits for I/O: without this turn, listing 10,000
        # tenants holds the event loop for the whole listing (about 0.4 s).
        await asyncio.sleep(0)
    raise AdminCallFailed("OUT_OF_RANGE", f"more than {_MAX_PAGES} pages of tenants")


class StubAdmin:
    """The admin API over a `grpc.aio` channel's TenantAdminServiceStub."""

    def __init__(
        self,
        stub: Any,
        metadata: Sequence[tuple[str, str]],
        timeout: float = 30.0,
        *,
        move_timeout: float | None = None,
    ) -> None:
        self._stub = stub
        self._metadata = tuple(metadata)
        self._timeout = timeout
        # A move waits out the server's TENANT_CACHE_TTL at least once: give it longer.
        self._move_timeout = move_timeout or timeout

    async def _call(
        self, method: Callable[..., Awaitable[_Reply]], request: Any, seconds: float | None = None
    ) -> _Reply:
        try:
            return await method(request, metadata=self._metadata, timeout=seconds or self._timeout)
        except grpc.aio.AioRpcError as error:
            raise AdminCallFailed(error.code().name, error.details() or "") from None

    async def list_tenants(self) -> list[pb.Tenant]:
        async def page(request: pb.ListTenantsRequest) -> pb.ListTenantsResponse:
            reply: pb.ListTenantsResponse = await self._call(self._stub.ListTenants, request)
            return reply

        return await _all_pages(page)

    async def create_tenant(self, request: pb.CreateTenantRequest) -> pb.Tenant:
        reply: pb.CreateTenantResponse = await self._call(self._stub.CreateTenant, request)
        return reply.tenant

    async def update_tenant(self, request: pb.UpdateTenantRequest) -> pb.Tenant:
        reply: pb.UpdateTenantResponse = await self._call(self._stub.UpdateTenant, request)
        return reply.tenant

    async def move_tenant(self, request: pb.MoveTenantRequest) -> pb.Tenant:
        reply: pb.MoveTenantResponse = await self._call(
            self._stub.MoveTenant, request, self._move_timeout
        )
        return reply.tenant

    async def delete_tenant(self, request: pb.DeleteTenantRequest) -> None:
        await self._call(self._stub.DeleteTenant, request)

    async def register_extension(self, request: pb.RegisterSchemaExtensionRequest) -> None:
        await self._call(self._stub.RegisterSchemaExtension, request)


# The servicer's methods take a context they never use when called in process.
_NO_CONTEXT = cast(grpc.aio.ServicerContext, None)


class ServicerAdmin:
    """The admin API called in process, for a server applying its own tenants file."""

    def __init__(self, servicer: TenantAdminServicer) -> None:
        self._servicer = servicer

    async def _call(
        self, method: Callable[[Any, grpc.aio.ServicerContext], Awaitable[_Reply]], request: Any
    ) -> _Reply:
        try:
            return await method(request, _NO_CONTEXT)
        except ScimError as error:
            raise AdminCallFailed(grpc_code(error).name, error.detail) from None

    async def list_tenants(self) -> list[pb.Tenant]:
        async def page(request: pb.ListTenantsRequest) -> pb.ListTenantsResponse:
            return await self._call(self._servicer.ListTenants, request)

        return await _all_pages(page)

    async def create_tenant(self, request: pb.CreateTenantRequest) -> pb.Tenant:
        return (await self._call(self._servicer.CreateTenant, request)).tenant

    async def update_tenant(self, request: pb.UpdateTenantRequest) -> pb.Tenant:
        return (await self._call(self._servicer.UpdateTenant, request)).tenant

    async def move_tenant(self, request: pb.MoveTenantRequest) -> pb.Tenant:
        return (await self._call(self._servicer.MoveTenant, request)).tenant

    async def delete_tenant(self, request: pb.DeleteTenantRequest) -> None:
        await self._call(self._servicer.DeleteTenant, request)

    async def register_extension(self, request: pb.RegisterSchemaExtensionRequest) -> None:
        await self._call(self._servicer.RegisterSchemaExtension, request)
