"""Tenants and API keys through our server's admin gRPC API."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import TracebackType

import grpc

from bench.services import ADMIN_TOKEN, Target
from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy.admin.v1 import admin_pb2_grpc

_LEVELS = {"strict": pb.ISOLATION_LEVEL_STRICT, "standard": pb.ISOLATION_LEVEL_STANDARD}
_METADATA = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


class Admin:
    def __init__(self, grpc_target: str) -> None:
        self._channel = grpc.aio.insecure_channel(grpc_target)
        self._stub = admin_pb2_grpc.TenantAdminServiceStub(self._channel)

    async def __aenter__(self) -> Admin:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._channel.close()

    async def tenant(self, tenant_id: str, isolation: str = "standard") -> str:
        """Creates the tenant and returns a new API key of it."""
        await self._stub.CreateTenant(
            pb.CreateTenantRequest(tenant_id=tenant_id, isolation_level=_LEVELS[isolation]),
            metadata=_METADATA,
            timeout=60,
        )
        reply = await self._stub.IssueApiKey(
            pb.IssueApiKeyRequest(tenant_id=tenant_id), metadata=_METADATA, timeout=60
        )
        key: str = reply.api_key
        return key

    async def tenants(
        self, tenant_ids: list[str], isolation: str, concurrency: int = 4
    ) -> dict[str, str]:
        """Creates many tenants, a few at a time; returns their keys by tenant id."""
        keys: dict[str, str] = {}
        pending = iter(tenant_ids)

        async def worker() -> None:
            for tenant_id in pending:
                keys[tenant_id] = await self.tenant(tenant_id, isolation)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return keys


def tenant_url(target: Target, tenant_id: str) -> str:
    """The SCIM base URL of a tenant of our service (path strategy)."""
    return f"{target.origin}/tenants/{tenant_id}/scim/v2"


async def open_tenant(target: Target, tenant_id: str, isolation: str = "standard") -> Target:
    """Our target, pointed at a new tenant of it."""
    async with Admin(target.grpc_target) as admin:
        key = await admin.tenant(tenant_id, isolation)
    return replace(target, base_url=tenant_url(target, tenant_id), token=key)
