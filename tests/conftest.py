"""Shared fixtures. Storage tests run against the MongoDB-compatible server at MONGODB_URI
(the README's test command starts FerretDB and sets it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scimtenancy_server.storage.mongo import connect

MONGODB_URI = os.environ.get("MONGODB_URI", "")
# Set by scripts/test: a missing database is then a failure, never a silent skip.
REQUIRE_MONGODB = os.environ.get("SCIMTENANCY_REQUIRE_MONGODB") == "1"


def require_mongodb() -> str:
    if not MONGODB_URI:
        if REQUIRE_MONGODB:
            pytest.fail("MONGODB_URI is not set but SCIMTENANCY_REQUIRE_MONGODB=1")
        pytest.skip("MONGODB_URI is not set; run the README's test command")
    return MONGODB_URI


@pytest.fixture(scope="session")
async def mongo_client() -> AsyncIterator[Any]:
    client = connect(require_mongodb(), timeout_ms=10_000)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def mongo_database(mongo_client: Any) -> AsyncIterator[Any]:
    """A throw-away database on the test server, dropped after the test."""
    name = f"scimtenancy_test_{uuid.uuid4().hex[:12]}"
    try:
        yield mongo_client[name]
    finally:
        await mongo_client.drop_database(name)
