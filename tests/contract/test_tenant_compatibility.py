"""The tenant store keeps a tenant's compatibility profile; tenants stored before the profile
existed read as strict."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from helpers import make_tenant

from scimtenancy_server.domain.tenant import Compatibility
from scimtenancy_server.storage.mongo_tenants import MongoTenantStore
from scimtenancy_server.storage.tenants import TenantStore


async def test_the_profile_is_stored_and_replaced(tenant_store: TenantStore) -> None:
    tenant = replace(make_tenant(), compatibility=Compatibility.LENIENT)
    await tenant_store.create(tenant)
    assert (await tenant_store.get(tenant.tenant_id)) == tenant
    assert tenant in await tenant_store.list_tenants("", 1000)
    strict = replace(tenant, compatibility=Compatibility.STRICT)
    await tenant_store.save(strict)
    assert (await tenant_store.get(tenant.tenant_id)) == strict


async def test_a_tenant_created_without_a_profile_is_strict(tenant_store: TenantStore) -> None:
    tenant = make_tenant()
    await tenant_store.create(tenant)
    found = await tenant_store.get(tenant.tenant_id)
    assert found is not None
    assert found.compatibility is Compatibility.STRICT


async def test_a_document_from_before_the_profile_reads_as_strict(mongo_database: Any) -> None:
    store = MongoTenantStore(mongo_database)
    tenant = replace(make_tenant(), compatibility=Compatibility.LENIENT)
    await store.create(tenant)
    tenants, key = mongo_database["tenants"], {"_id": tenant.tenant_id}
    await tenants.update_one(key, {"$unset": {"compatibility": ""}})
    assert "compatibility" not in await tenants.find_one(key)
    assert await store.get(tenant.tenant_id) == replace(tenant, compatibility=Compatibility.STRICT)
