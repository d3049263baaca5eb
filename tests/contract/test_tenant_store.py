"""The tenant store contract: in memory and MongoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_tenant

from scimtenancy_server.domain.credentials import hash_secret, new_api_key
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import IsolationLevel, TenantStatus
from scimtenancy_server.storage.tenants import TenantStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_create_get_and_refuse_duplicates(tenant_store: TenantStore) -> None:
    tenant = make_tenant(IsolationLevel.STRICT)
    await tenant_store.create(tenant)
    assert await tenant_store.get(tenant.tenant_id) == tenant
    assert await tenant_store.get("nobody") is None
    with pytest.raises(ScimError) as raised:
        await tenant_store.create(tenant)
    assert raised.value.status == 409


async def test_list_is_ordered_by_id_after_a_cursor(tenant_store: TenantStore) -> None:
    tenants = [make_tenant() for _ in range(4)]
    for tenant in tenants:
        await tenant_store.create(tenant)
    ids = sorted(t.tenant_id for t in tenants)
    assert [t.tenant_id for t in await tenant_store.list_tenants("", 10)] == ids
    assert [t.tenant_id for t in await tenant_store.list_tenants(ids[1], 1)] == [ids[2]]


async def test_set_status(tenant_store: TenantStore) -> None:
    tenant = make_tenant()
    await tenant_store.create(tenant)
    suspended = await tenant_store.set_status(tenant.tenant_id, TenantStatus.SUSPENDED)
    assert suspended == tenant.with_status(TenantStatus.SUSPENDED)
    assert await tenant_store.get(tenant.tenant_id) == suspended
    assert await tenant_store.set_status("nobody", TenantStatus.ACTIVE) is None


async def test_keys_are_found_by_hash_only(tenant_store: TenantStore) -> None:
    key, secret = new_api_key("acme", NOW)
    await tenant_store.save_key(key)
    assert await tenant_store.find_key(hash_secret(secret)) == key
    assert await tenant_store.find_key(hash_secret(secret + "x")) is None
    assert secret not in repr(key)


async def test_keys_are_listed_per_tenant_and_updated_in_place(tenant_store: TenantStore) -> None:
    first, _ = new_api_key("acme", NOW)
    second, _ = new_api_key("acme", NOW + timedelta(seconds=1))
    foreign, _ = new_api_key("other", NOW)
    for key in (second, foreign, first):
        await tenant_store.save_key(key)
    assert await tenant_store.list_keys("acme") == [first, second]
    used = replace(first, last_used=NOW + timedelta(minutes=1), expires=NOW + timedelta(days=1))
    await tenant_store.save_key(used)
    assert await tenant_store.find_key(first.key_hash) == used
    assert await tenant_store.list_keys("nobody") == []


async def test_delete_forgets_the_tenant_and_its_keys(tenant_store: TenantStore) -> None:
    doomed, kept = make_tenant(), make_tenant()
    for tenant in (doomed, kept):
        await tenant_store.create(tenant)
        await tenant_store.save_key(new_api_key(tenant.tenant_id, NOW)[0])
    await tenant_store.delete(doomed.tenant_id)
    assert await tenant_store.get(doomed.tenant_id) is None
    assert await tenant_store.list_keys(doomed.tenant_id) == []
    assert await tenant_store.get(kept.tenant_id) == kept
    assert len(await tenant_store.list_keys(kept.tenant_id)) == 1
