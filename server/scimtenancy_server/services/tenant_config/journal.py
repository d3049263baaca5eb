"""The admin port as a reload uses it: each call first gives the event loop a turn if the
reload has worked for a slice (`pacing`), so that applying 10,000 tenants never holds up the
requests being served; and each change that succeeded is written down, so that a reload that
fails part way can say exactly what it applied before the error."""

from __future__ import annotations

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.tenants_file.admin_port import TenantAdminPort

SHOWN_CHANGES = 50  # changes named in a log line; the rest are counted


class JournalledAdmin:
    def __init__(self, inner: TenantAdminPort) -> None:
        self._inner = inner
        self._pacer = Pacer()
        self.done: list[str] = []  # e.g. "created acme", in the order made

    def describe(self, most: int = SHOWN_CHANGES) -> str:
        shown = ", ".join(self.done[:most]) or "nothing"
        more = len(self.done) - most
        return f"{shown} and {more} more" if more > 0 else shown

    async def list_tenants(self) -> list[pb.Tenant]:
        await self._pacer.pace()
        return await self._inner.list_tenants()

    async def create_tenant(self, request: pb.CreateTenantRequest) -> pb.Tenant:
        await self._pacer.pace()
        tenant = await self._inner.create_tenant(request)
        self.done.append(f"created {request.tenant_id}")
        return tenant

    async def update_tenant(self, request: pb.UpdateTenantRequest) -> pb.Tenant:
        await self._pacer.pace()
        tenant = await self._inner.update_tenant(request)
        self.done.append(f"updated {request.tenant_id}")
        return tenant

    async def move_tenant(self, request: pb.MoveTenantRequest) -> pb.Tenant:
        await self._pacer.pace()
        tenant = await self._inner.move_tenant(request)
        self.done.append(f"moved {request.tenant_id}")
        return tenant

    async def delete_tenant(self, request: pb.DeleteTenantRequest) -> None:
        await self._pacer.pace()
        await self._inner.delete_tenant(request)
        self.done.append(f"deleted {request.tenant_id}")

    async def register_extension(self, request: pb.RegisterSchemaExtensionRequest) -> None:
        await self._pacer.pace()
        await self._inner.register_extension(request)
        self.done.append(f"registered an extension of {request.tenant_id}")
