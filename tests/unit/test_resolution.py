from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import NamedTuple

import pytest
from helpers import make_tenant

from scimtenancy_server.domain.credentials import ApiKey, api_key_from_secret, hash_secret
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import TenantStatus
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
