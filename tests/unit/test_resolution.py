from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import NamedTuple

import pytest
from helpers import make_tenant

from scimtenancy_server.domain.credentials import ApiKey, api_key_from_secret, hash_secret
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import TenantContext, TenantStatus
from scimtenancy_server.services.resolution import ApiKeyResolver, TenantResolver
from scimtenancy_server.storage.tenants import InMemoryTenantStore


class CountingStore(InMemoryTenantStore):
    def __init__(self) -> None:
        super().__init__()
        self.key_reads = 0

    async def find_key(self, key_hash: str) -> ApiKey | None:
        self.key_reads += 1
        await asyncio.sleep(0)  # let concurrent callers pile up
        return await super().find_key(key_hash)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Setup(NamedTuple):
    store: CountingStore
    resolver: TenantResolver
    clock: Clock
    tenant_id: str


@pytest.fixture
async def setup() -> Setup:
    store, clock = CountingStore(), Clock()
    tenant = make_tenant()
    await store.create(tenant)
    await store.save_key(api_key_from_secret("secret-1", tenant.tenant_id, tenant.created))
    resolver = TenantResolver([ApiKeyResolver(store)], ttl=30, negative_ttl=5, clock=clock)
    return Setup(store, resolver, clock, tenant.tenant_id)


async def test_resolves_and_caches_for_the_ttl(setup: Setup) -> None:
    store, resolver, clock, tenant_id = setup
    for _ in range(3):
        assert (await resolver.resolve("Bearer secret-1")).tenant_id == tenant_id
    assert store.key_reads == 1
    assert (resolver.hits, resolver.misses) == (2, 1)
    clock.now += 31
    await resolver.resolve("bearer secret-1")
    assert store.key_reads == 2


async def test_concurrent_misses_read_the_store_once(setup: Setup) -> None:
    store, resolver, tenant_id = setup.store, setup.resolver, setup.tenant_id
    contexts = await asyncio.gather(*(resolver.resolve("Bearer secret-1") for _ in range(20)))
    assert {c.tenant_id for c in contexts} == {tenant_id}
    assert store.key_reads == 1


async def test_unknown_credentials_are_cached_briefly(setup: Setup) -> None:
    store, resolver, clock = setup.store, setup.resolver, setup.clock
    for _ in range(2):
        with pytest.raises(ScimError) as raised:
            await resolver.resolve("Bearer wrong")
        assert raised.value.status == 401
    assert store.key_reads == 1
    clock.now += 6
    with pytest.raises(ScimError):
        await resolver.resolve("Bearer wrong")
    assert store.key_reads == 2


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "secret-1"])
async def test_malformed_authorization(setup: Setup, header: str | None) -> None:
    resolver = setup.resolver
    with pytest.raises(ScimError) as raised:
        await resolver.resolve(header)
    assert raised.value.status == 401


async def test_suspension_is_seen_after_invalidation(setup: Setup) -> None:
    store, resolver, _, tenant_id = setup
    await resolver.resolve("Bearer secret-1")
    await store.set_status(tenant_id, TenantStatus.SUSPENDED)
    await resolver.resolve("Bearer secret-1")  # still cached: another replica's view
    resolver.invalidate_tenant(tenant_id)
    with pytest.raises(ScimError) as raised:
        await resolver.resolve("Bearer secret-1")
    assert raised.value.status == 403


async def test_revoked_keys_are_refused(setup: Setup) -> None:
    store, resolver = setup.store, setup.resolver
    key = await store.find_key(hash_secret("secret-1"))
    assert key is not None
    await store.save_key(replace(key, revoked=True))
    with pytest.raises(ScimError) as raised:
        await resolver.resolve("Bearer secret-1")
    assert raised.value.status == 401


async def test_forgetting_unknown_credentials_keeps_the_known_ones(setup: Setup) -> None:
    store, resolver, tenant_id = setup.store, setup.resolver, setup.tenant_id
    await resolver.resolve("Bearer secret-1")
    with pytest.raises(ScimError):
        await resolver.resolve("Bearer secret-2")  # unknown, and remembered so
    await store.save_key(api_key_from_secret("secret-2", tenant_id, make_tenant().created))
    with pytest.raises(ScimError):
        await resolver.resolve("Bearer secret-2")
    reads = store.key_reads
    resolver.forget_unknown()  # the trusted issuers changed
    assert (await resolver.resolve("Bearer secret-2")).tenant_id == tenant_id
    assert (await resolver.resolve("Bearer secret-1")).tenant_id == tenant_id
    assert store.key_reads == reads + 1  # secret-1 still came from the cache


class GatedResolver:
    """Unknown credentials until `known`; a resolution begun before then waits at `gate`."""

    def __init__(self, context: TenantContext) -> None:
        self.context = context
        self.known = False
        self.gate = asyncio.Event()
        self.loads = 0

    def accepts(self, token: str) -> bool:
        return True

    async def load(self, token: str) -> tuple[TenantContext, float | None] | None:
        self.loads += 1
        if self.known:
            return self.context, None
        await self.gate.wait()
        return None


async def test_a_resolution_begun_under_the_old_issuers_is_neither_shared_nor_kept() -> None:
    tenant = make_tenant()
    gated = GatedResolver(TenantContext(tenant, "jwt:alice", tenant.permissions))
    resolver = TenantResolver([gated], ttl=30, negative_ttl=5)
    old = asyncio.create_task(resolver.resolve("Bearer token"))
    for _ in range(100):
        if gated.loads:
            break
        await asyncio.sleep(0)
    assert gated.loads == 1
    gated.known = True
    resolver.forget_unknown()
    # Not joined to the pending resolution, which would wait for the gate.
    fresh = await asyncio.wait_for(resolver.resolve("Bearer token"), timeout=10)
    assert fresh.tenant_id == tenant.tenant_id
    gated.gate.set()
    with pytest.raises(ScimError):
        await old  # answered as it was resolved, under the old issuers
    assert (await resolver.resolve("Bearer token")).tenant_id == tenant.tenant_id
    assert gated.loads == 2  # the new answer was cached; the old one was not
