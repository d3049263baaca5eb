"""Shared fixtures. Storage tests run against the MongoDB-compatible server at MONGODB_URI
(the README's test command starts FerretDB and sets it)."""

from __future__ import annotations

import os

# The tests run transcoders in this process and start servers, FerretDB and toxiproxy as
# child processes. A transcoder's channel keeps health watches running on gRPC's threads,
# and a child forked while they run, with gRPC's fork handlers skipped for it, can crash
# before it runs its program. Without fork support gRPC registers no such handlers; set
# before gRPC first starts (the services themselves never fork).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvloop
from e2e.stack import Stack, running_stack, server_settings
from helpers import require_mongodb
from hypothesis import HealthCheck, settings
from telemetry_capture import telemetry_capture

from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.storage.mongo_driver import DriverName, close, connect

# No timing checks: these machines are noisy, and speed is measured by bench/, not by tests.
settings.register_profile(
    "scimtenancy", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("scimtenancy")

# Tracing on for the whole run, before any stack is built: the span instrumentations are
# installed only in processes that trace, and the tests run every request through them.
telemetry_capture()


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """uvloop, as the service runs in production."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
async def mongo_clients() -> AsyncIterator[Callable[[DriverName], Any]]:
    """A client of the test server per driver, made when first asked for."""
    clients: dict[DriverName, Any] = {}

    def client(driver: DriverName) -> Any:
        if driver not in clients:
            clients[driver] = connect(require_mongodb(), timeout_ms=10_000, driver=driver)
        return clients[driver]

    try:
        yield client
    finally:
        for made in clients.values():
            await close(made)


@pytest.fixture
def mongodb_driver() -> DriverName:
    """The driver of `mongo_database`: the server's default, except where a suite parametrizes
    it (contract/conftest.py runs the storage contract on every driver)."""
    return "motor"


@pytest.fixture
async def mongo_database(
    mongo_clients: Callable[[DriverName], Any], mongodb_driver: DriverName
) -> AsyncIterator[Any]:
    """A throw-away database on the test server, dropped after the test."""
    client = mongo_clients(mongodb_driver)
    name = f"scimtenancy_test_{uuid.uuid4().hex[:12]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)


# The whole service on real sockets, shared by e2e/, replay/ and compliance/.
@pytest.fixture(scope="session")
async def memory_stack() -> AsyncIterator[Stack]:
    async with running_stack(server_settings("memory")) as stack:
        yield stack


@pytest.fixture(scope="session")
async def mongodb_stack() -> AsyncIterator[Stack]:
    async with running_stack(server_settings("mongodb", require_mongodb())) as stack:
        yield stack


@pytest.fixture(params=["memory", "mongodb"])
def stack(request: pytest.FixtureRequest) -> Stack:
    found: Any = request.getfixturevalue(f"{request.param}_stack")
    return found  # type: ignore[no-any-return]


@pytest.fixture(params=[IsolationLevel.STRICT, IsolationLevel.STANDARD], ids=lambda i: i.value)
def isolation(request: pytest.FixtureRequest) -> IsolationLevel:
    level: IsolationLevel = request.param
    return level
