"""Resolves a bearer credential to a tenant: a chain of resolvers (API keys, JWTs) behind a
TTL cache.

Positive answers live `ttl` seconds (never past a token's own expiry), unknown credentials
`negative_ttl` seconds; concurrent misses for one credential share one resolution. A change
made through this process (suspend, activate) invalidates its entries at once; other replicas
see it within the TTL. When the trusted issuers change, unknown credentials are forgotten
(`forget_unknown`), so that a token refused just before its issuer was bound is accepted at
once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.credentials import hash_secret
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import TenantContext, TenantStatus
from scimtenancy_server.storage.tenants import TenantStore

_INVALID = "the bearer credential is missing, malformed, unknown or revoked"
# Characters of a bearer credential. Our API keys are about 60; Entra ID's largest access tokens
# (200 group ids, past which it sends an overage claim instead) stay under 8 KB. Longer ones
# are refused before anything parses, hashes or looks them up.
MAX_CREDENTIAL_LENGTH = 16_384

Resolution = tuple[TenantContext, float | None]  # the context and its expiry (epoch seconds)


class CredentialResolver(Protocol):
    def accepts(self, token: str) -> bool:
        """Whether this resolver handles tokens of this shape."""

    async def load(self, token: str) -> Resolution | None:
        """The token's tenant context, None for an unknown credential; raises a 401
        ScimError for a token it refuses (expired, tampered, ...)."""


class ApiKeyResolver:
    """Tenant API keys, looked up by their SHA-256 hash. A resolution records the key's
    `last_used` (once per cache lifetime, since hits never reach here)."""

    def __init__(self, store: TenantStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    def accepts(self, token: str) -> bool:
        return True

    async def load(self, token: str) -> Resolution | None:
        key = await self._store.find_key(hash_secret(token))
        now = self._clock()
        if key is None or not key.usable(now):
            return None
        tenant = await self._store.get(key.tenant_id)
        if tenant is None:
            return None
        await self._store.save_key(replace(key, last_used=now))
        expiry = key.expires.timestamp() if key.expires else None
        return TenantContext(tenant, f"key:{key.key_id}", tenant.permissions), expiry


@dataclass(frozen=True, slots=True)
class _Entry:
    context: TenantContext | None
    expires: float


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ScimError.unauthenticated(_INVALID)
    if len(token) > MAX_CREDENTIAL_LENGTH:
        raise ScimError.unauthenticated(
            f"the bearer credential is longer than {MAX_CREDENTIAL_LENGTH} characters"
        )
    return token


class TenantResolver:
    def __init__(
        self,
        resolvers: Sequence[CredentialResolver],
        ttl: float = 30.0,
        negative_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._resolvers = tuple(resolvers)
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[TenantContext | None]] = {}
        # Counts `forget_unknown` calls: a resolution that began before one is not remembered.
        self._generation = 0
        self.hits = 0
        self.misses = 0

    async def resolve(self, authorization: str | None) -> TenantContext:
        token = bearer_token(authorization)
        cache_key = hash_secret(token)
        entry = self._cache.get(cache_key)
        if entry is not None and entry.expires > self._clock():
            self.hits += 1
            context = entry.context
        else:
            self.misses += 1
            context = await self._load_once(cache_key, token)
        if context is None:
            raise ScimError.unauthenticated(_INVALID)
        if context.tenant.status is TenantStatus.SUSPENDED:
            raise ScimError.forbidden("the tenant is suspended")
        return context

    async def _load_once(self, cache_key: str, token: str) -> TenantContext | None:
        pending = self._inflight.get(cache_key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[TenantContext | None] = asyncio.get_running_loop().create_future()
        inflight, generation = self._inflight, self._generation
        inflight[cache_key] = future
        try:
            resolution = await self._load(token)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here, so an unawaited future does not warn
            raise
        else:
            context = resolution[0] if resolution else None
            future.set_result(context)
            if generation == self._generation:
                self._remember(cache_key, resolution)
            return context
        finally:
            del inflight[cache_key]

    async def _load(self, token: str) -> Resolution | None:
        resolver = next((r for r in self._resolvers if r.accepts(token)), None)
        return None if resolver is None else await resolver.load(token)

    def _remember(self, cache_key: str, resolution: Resolution | None) -> None:
        now = self._clock()
        if resolution is None:
            self._cache[cache_key] = _Entry(None, now + self._negative_ttl)
            return
        context, expiry = resolution
        lifetime = self._ttl
        if expiry is not None:
            lifetime = min(lifetime, expiry - self._wall_clock())
        self._cache[cache_key] = _Entry(context, now + lifetime)

    def forget_unknown(self) -> None:
        """Forgets every credential cached as unknown, and lets no resolution that began
        before (under the old issuers) be shared with new requests or cached."""
        self._generation += 1
        self._inflight = {}
        for key_hash, entry in list(self._cache.items()):
            if entry.context is None:
                del self._cache[key_hash]

    def invalidate_tenant(self, tenant_id: str) -> None:
        for key_hash, entry in list(self._cache.items()):
            if entry.context is not None and entry.context.tenant_id == tenant_id:
                del self._cache[key_hash]
