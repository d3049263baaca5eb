"""Every implementation of a storage port runs the same contract tests; the MongoDB ones on
every driver the server can be set to (storage/mongo_driver.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import make_tenant

from scimtenancy_common.settings import Settings
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant
from scimtenancy_server.storage.memory import InMemoryResourceRepository
from scimtenancy_server.storage.mongo import MongoResourceRepository
from scimtenancy_server.storage.mongo_driver import DRIVERS
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


HERE = Path(__file__).parent
DEFAULT_DRIVER = Settings.model_fields["mongodb_driver"].default


@pytest.fixture(autouse=True)
def _on_each_driver(mongodb_driver: str) -> None:
    """Puts the driver of `mongo_database` (tests/conftest.py) into every contract test: which
    tests reach MongoDB is known only once their fixtures' parameters are (below)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    metafunc.parametrize("mongodb_driver", DRIVERS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """...and the memory stores and fakes once, on the default driver: no driver is theirs."""
    moot = {id(item) for item in items if _driver_is_moot(item)}
    if moot:
        config.hook.pytest_deselected(items=[item for item in items if id(item) in moot])
        items[:] = [item for item in items if id(item) not in moot]


def _driver_is_moot(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if HERE not in item.path.parents or callspec is None:
        return False
    params = callspec.params
    if params.get("mongodb_driver") in (None, DEFAULT_DRIVER):
        return False
    on_mongodb = "mongo_database" in getattr(item, "fixturenames", ()) or any(
        isinstance(value, str) and value.startswith("mongodb") for value in params.values()
    )
    return not on_mongodb
