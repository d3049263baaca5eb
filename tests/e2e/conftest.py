from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from e2e.stack import Stack, running_stack, server_settings
from helpers import require_mongodb

from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.storage.mongo import connect


@pytest.fixture(scope="session")
async def memory_stack() -> AsyncIterator[Stack]:
    async with running_stack(server_settings("memory")) as stack:
        yield stack


@pytest.fixture(scope="session")
async def mongodb_stack() -> AsyncIterator[Stack]:
    settings = server_settings("mongodb", require_mongodb())
    try:
        async with running_stack(settings) as stack:
            yield stack
    finally:
        client = connect(settings.mongodb_uri)
        await client.drop_database(settings.mongodb_database)
        client.close()


@pytest.fixture(params=["memory", "mongodb"])
def stack(request: pytest.FixtureRequest) -> Stack:
    found: Any = request.getfixturevalue(f"{request.param}_stack")
    return found  # type: ignore[no-any-return]


@pytest.fixture(params=[IsolationLevel.STRICT, IsolationLevel.STANDARD], ids=lambda i: i.value)
def isolation(request: pytest.FixtureRequest) -> IsolationLevel:
    level: IsolationLevel = request.param
    return level
