"""Both MongoDB drivers raise what storage/mongo_errors.py is written for: through a toxiproxy
between an adapter and the database, a stalled answer and a refused connection get the same
SCIM errors on motor and on PyMongo's native asyncio client, and the same client serves
again once the network heals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e.toxiproxy import Proxy, toxiproxy
from helpers import make_tenant, require_mongodb

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import Tenant
from scimtenancy_server.storage.mongo_driver import DRIVERS, DriverName, close, connect
from scimtenancy_server.storage.mongo_tenants import MongoTenantStore
from scimtenancy_server.storage.tenants import TenantStore

TIMEOUT_MS = 300
RECOVERY_ATTEMPTS = 20  # each waits up to TIMEOUT_MS for the driver to find the server again
SLOW = "the database did not answer within the service's time limit; retry later"
AWAY = "the database is unavailable; retry later"


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    upstream = urlsplit(require_mongodb())
    async with toxiproxy() as tools:
        yield await tools.proxy("mongodb", f"{upstream.hostname}:{upstream.port or 27017}")


@pytest.fixture(params=DRIVERS)
async def store(
    request: pytest.FixtureRequest, proxy: Proxy, mongo_database: Any
) -> AsyncIterator[tuple[TenantStore, Tenant]]:
    """The tenant store on `mongo_database` through the proxy on one driver, and a tenant
    stored before the fault."""
    driver: DriverName = request.param
    client = connect(f"mongodb://{proxy.listen}/?directConnection=true", TIMEOUT_MS, driver)
    try:
        store, tenant = MongoTenantStore(client[mongo_database.name]), make_tenant()
        await store.create(tenant)
        yield store, tenant
    finally:
        await close(client)


async def refusal(attempt: Awaitable[Any]) -> ScimError:
    with pytest.raises(ScimError) as raised:
        await attempt
    return raised.value


async def served_again(store: TenantStore, tenant: Tenant) -> bool:
    # Also why the client closes cleanly: PyMongo 4.20 leaks the socket of a connect that
    # close() cancels (upstream PYTHON-5867), and a driver still reconnecting has one.
    for _ in range(RECOVERY_ATTEMPTS):
        try:
            return await store.get(tenant.tenant_id) == tenant
        except ScimError:
            continue
    return False


async def test_a_stalled_answer_is_a_slow_database(
    store: tuple[TenantStore, Tenant], proxy: Proxy
) -> None:
    tenants, tenant = store
    await proxy.stall("stalled")
    for attempt in (tenants.get("t-any"), tenants.create(make_tenant())):
        error = await refusal(attempt)
        assert (error.status, error.detail) == (503, SLOW)
    await proxy.heal()
    assert await served_again(tenants, tenant)


async def test_a_refused_connection_is_an_outage(
    store: tuple[TenantStore, Tenant], proxy: Proxy
) -> None:
    tenants, tenant = store
    await proxy.set_enabled(False)
    for attempt in (tenants.get("t-any"), tenants.create(make_tenant())):
        error = await refusal(attempt)
        assert (error.status, error.detail) == (503, AWAY)
    await proxy.heal()
    assert await served_again(tenants, tenant)
