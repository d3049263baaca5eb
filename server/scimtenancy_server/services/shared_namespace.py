"""The *shared* isolation level: standard storage, plus read-only visibility of the resources
of one configured namespace tenant (for example platform-wide Groups).

- A tenant at level `shared` reads (get, list, filter, search) its own resources and, after
  them, those of the namespace, for the configured resource types.
- It can never create, replace, patch or delete a namespace resource (403).
- Tenants at `strict` or `standard` never see the namespace.
The namespace is an ordinary tenant, managed with its own credential.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import Filter
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.sorting import Sort
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantContext
from scimtenancy_server.storage.repository import ResourceRepository

NamespaceLookup = Callable[[], Awaitable[Tenant | None]]


def read_only(rt: ResourceType, resource_id: str) -> ScimError:
    return ScimError.forbidden(f"{rt.name} {resource_id!r} is shared and read-only")


@dataclass(frozen=True, slots=True)
class Listing:
    """A page of matches: the caller's own, then the namespace's (`namespace` holds them)."""

    total: int
    own: list[StoredResource]
    shared: list[StoredResource]
    namespace: Tenant | None = None


class SharedNamespace:
    def __init__(
        self,
        repository: ResourceRepository,
        lookup: NamespaceLookup,
        types: frozenset[str],
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._lookup = lookup
        self._types = types
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[float, Tenant | None] | None = None

    async def _namespace(self) -> Tenant | None:
        now = self._clock()
        if self._cached is None or self._cached[0] <= now:
            self._cached = (now + self._ttl, await self._lookup())
        return self._cached[1]

    async def source(self, ctx: TenantContext, rt: ResourceType) -> Tenant | None:
        """The namespace whose `rt` resources this caller may read, if any."""
        if ctx.tenant.isolation is not IsolationLevel.SHARED or rt.name not in self._types:
            return None
        namespace = await self._namespace()
        if namespace is None or namespace.tenant_id == ctx.tenant_id:
            return None
        return namespace

    async def get(
        self, ctx: TenantContext, rt: ResourceType, resource_id: str
    ) -> StoredResource | None:
        namespace = await self.source(ctx, rt)
        if namespace is None:
            return None
        return await self._repository.get(namespace, rt, resource_id)

    async def list(
        self,
        ctx: TenantContext,
        rt: ResourceType,
        where: Filter | None,
        offset: int,
        limit: int,
        sort: Sort | None,
        max_scan: int,
    ) -> Listing:
        """The caller's own matches, then the namespace's."""
        own = await self._repository.list(ctx.tenant, rt, where, offset, limit, sort, max_scan)
        namespace = await self.source(ctx, rt)
        if namespace is None:
            return Listing(own.total, own.resources, [])
        skip = max(0, offset - own.total)
        room = limit - len(own.resources)
        shared = await self._repository.list(namespace, rt, where, skip, room, sort, max_scan)
        return Listing(own.total + shared.total, own.resources, shared.resources, namespace)

    async def refuse_write(self, ctx: TenantContext, rt: ResourceType, resource_id: str) -> None:
        """Raises 403 when the resource the caller wants to change is a namespace resource."""
        if await self.get(ctx, rt, resource_id) is not None:
            raise read_only(rt, resource_id)
