"""Every implementation of a storage port runs the same contract tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from helpers import make_tenant

from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant
from scimtenancy_server.storage.memory import InMemoryResourceRepository
from scimtenancy_server.storage.mongo import MongoResourceRepository
from scimtenancy_server.storage.mongo_tenants import MongoTenantStore
from scimtenancy_server.storage.repository import ResourceRepository
from scimtenancy_server.storage.tenants import InMemoryTenantStore, TenantStore


@dataclass
class RepositoryUnderTest:
    repository: ResourceRepository
    isolation: IsolationLevel

    async def tenant(self, limits: dict[str, int] | None = None) -> Tenant:
        tenant = make_tenant(self.isolation, limits)
        await self.repository.provision(tenant, DEFAULT_REGISTRY.all())
        return tenant


@pytest.fixture(params=["memory", "mongodb-strict", "mongodb-standard"])
def store(request: pytest.FixtureRequest) -> RepositoryUnderTest:
    if request.param == "memory":
        return RepositoryUnderTest(InMemoryResourceRepository(), IsolationLevel.STANDARD)
    database: Any = request.getfixturevalue("mongo_database")
    isolation = IsolationLevel(request.param.removeprefix("mongodb-"))
    return RepositoryUnderTest(MongoResourceRepository(database), isolation)


@pytest.fixture(params=["memory", "mongodb"])
def tenant_store(request: pytest.FixtureRequest) -> TenantStore:
    if request.param == "memory":
        return InMemoryTenantStore()
    database: Any = request.getfixturevalue("mongo_database")
    return MongoTenantStore(database)
