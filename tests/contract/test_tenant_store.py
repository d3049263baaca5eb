"""The tenant store contract: in memory and MongoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import make_tenant

from scimtenancy_server.domain.credentials import hash_secret, new_api_key
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import Schema
from scimtenancy_server.domain.tenant import (
    DEFAULT_RESPONSES,
    AuthenticationScheme,
    IsolationLevel,
    PatchAnswer,
    RateLimit,
    ResponseOptions,
    Tenant,
    TenantExtension,
    TenantStatus,
)
from scimtenancy_server.storage.mongo_tenants import MongoTenantStore
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


CUSTOM = ResponseOptions(
    documentation_uri="https://docs.example.com/scim",
    authentication_schemes=(
        AuthenticationScheme(
            "oauthbearertoken",
            "Acme token",
            "A bearer token from Acme's issuer",
            spec_uri="https://www.rfc-editor.org/rfc/rfc6750",
            documentation_uri="https://docs.example.com/tokens",
            primary=True,
        ),
        AuthenticationScheme("oauth2", "Entra ID", "An Entra ID access token"),
    ),
    bulk=False,
    sort=False,
    etag=False,
    filter_max_results=25,
    patch_answer=PatchAnswer.NO_CONTENT,
)


def customised() -> Tenant:
    return replace(make_tenant(), responses=CUSTOM, rate_limit=RateLimit(2.5, 7))


async def test_response_options_and_rate_limit_round_trip(tenant_store: TenantStore) -> None:
    tenant = customised()
    plain = make_tenant()
    for each in (tenant, plain):
        await tenant_store.create(each)
    assert await tenant_store.get(tenant.tenant_id) == tenant
    assert tenant in await tenant_store.list_tenants("", 1000)
    found = await tenant_store.get(plain.tenant_id)
    assert found is not None
    assert found.responses == DEFAULT_RESPONSES
    assert found.rate_limit is None
    reset = replace(tenant, responses=DEFAULT_RESPONSES, rate_limit=None)
    await tenant_store.save(reset)
    assert await tenant_store.get(tenant.tenant_id) == reset


async def test_status_and_extension_changes_keep_the_options(tenant_store: TenantStore) -> None:
    tenant = customised()
    await tenant_store.create(tenant)
    suspended = await tenant_store.set_status(tenant.tenant_id, TenantStatus.SUSPENDED)
    assert suspended is not None
    assert (suspended.responses, suspended.rate_limit) == (CUSTOM, RateLimit(2.5, 7))
    schema = Schema.from_json(
        {
            "id": "urn:example:params:scim:schemas:extension:badge:2.0:User",
            "name": "Badge",
            "attributes": [{"name": "badge", "type": "string", "multiValued": False}],
        }
    )
    extended = await tenant_store.set_extensions(
        tenant.tenant_id, (TenantExtension("User", schema),)
    )
    assert extended is not None
    assert (extended.responses, extended.rate_limit) == (CUSTOM, RateLimit(2.5, 7))


async def test_a_document_from_before_the_options_reads_as_the_defaults(
    mongo_database: Any,
) -> None:
    store = MongoTenantStore(mongo_database)
    tenant = customised()
    await store.create(tenant)
    tenants, key = mongo_database["tenants"], {"_id": tenant.tenant_id}
    await tenants.update_one(key, {"$unset": {"responses": "", "rate_limit": ""}})
    stored = await tenants.find_one(key)
    assert "responses" not in stored
    assert "rate_limit" not in stored
    assert await store.get(tenant.tenant_id) == replace(
        tenant, responses=DEFAULT_RESPONSES, rate_limit=None
    )


async def test_options_a_document_lacks_read_as_their_defaults(mongo_database: Any) -> None:
    """A record written when only some options existed keeps those and defaults the rest."""
    store = MongoTenantStore(mongo_database)
    tenant = make_tenant()
    await store.create(tenant)
    await mongo_database["tenants"].update_one(
        {"_id": tenant.tenant_id}, {"$set": {"responses": {"bulk": False}}}
    )
    found = await store.get(tenant.tenant_id)
    assert found is not None
    assert found.responses == replace(DEFAULT_RESPONSES, bulk=False)
