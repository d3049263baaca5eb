"""Resolves a bearer credential to a tenant, with a TTL cache in front of the tenant store.

Positive answers live `ttl` seconds, unknown credentials `negative_ttl` seconds; concurrent
misses for one credential share one store read. A change made through this process (suspend,
activate) invalidates its entries at once; other replicas see it within the TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from scimtenancy_server.domain.credentials import hash_secret
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import TenantContext, TenantStatus
from scimtenancy_server.storage.tenants import TenantStore

_INVALID = "the bearer credential is missing, malformed, unknown or revoked"


@dataclass(frozen=True, slots=True)
class _Entry:
    context: TenantContext | None
    expires: float


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ScimError.unauthenticated(_INVALID)
    return token


class TenantResolver:
    def __init__(
        self,
        store: TenantStore,
        ttl: float = 30.0,
        negative_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[TenantContext | None]] = {}
        self.hits = 0
        self.misses = 0

    async def resolve(self, authorization: str | None) -> TenantContext:
        key_hash = hash_secret(bearer_token(authorization))
        entry = self._cache.get(key_hash)
        if entry is not None and entry.expires > self._clock():
            self.hits += 1
            context = entry.context
        else:
            self.misses += 1
            context = await self._load_once(key_hash)
        if context is None:
            raise ScimError.unauthenticated(_INVALID)
        if context.tenant.status is not TenantStatus.ACTIVE:
            raise ScimError.forbidden("the tenant is suspended")
        return context

    async def _load_once(self, key_hash: str) -> TenantContext | None:
        pending = self._inflight.get(key_hash)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[TenantContext | None] = asyncio.get_running_loop().create_future()
        self._inflight[key_hash] = future
        try:
            context = await self._load(key_hash)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here, so an unawaited future does not warn
            raise
        else:
            future.set_result(context)
            ttl = self._ttl if context is not None else self._negative_ttl
            self._cache[key_hash] = _Entry(context, self._clock() + ttl)
            return context
        finally:
            del self._inflight[key_hash]

    async def _load(self, key_hash: str) -> TenantContext | None:
        key = await self._store.find_key(key_hash)
        if key is None or key.revoked:
            return None
        tenant = await self._store.get(key.tenant_id)
        return None if tenant is None else TenantContext(tenant, f"key:{key.key_id}")

    def invalidate_tenant(self, tenant_id: str) -> None:
        for key_hash, entry in list(self._cache.items()):
            if entry.context is not None and entry.context.tenant_id == tenant_id:
                del self._cache[key_hash]
