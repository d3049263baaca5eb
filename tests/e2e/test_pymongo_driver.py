"""A server set to PyMongo's native asyncio client (`MONGODB_DRIVER=pymongo`) serves the SCIM
lifecycles of test_crud.py through HTTP, and closes its client when it stops. The storage
contract runs on both drivers in tests/contract."""

from __future__ import annotations

import pytest
from e2e import test_crud
from e2e.stack import running_stack, server_settings
from helpers import require_mongodb
from pymongo import AsyncMongoClient
from pymongo.errors import InvalidOperation

from scimtenancy_server.domain.tenant import IsolationLevel


async def test_a_server_on_pymongo_serves_users_and_groups_and_closes_its_client() -> None:
    settings = server_settings("mongodb", require_mongodb())
    settings.mongodb_driver = "pymongo"
    async with running_stack(settings) as stack:
        client = stack.app._client
        assert isinstance(client, AsyncMongoClient)
        await test_crud.test_user_lifecycle(stack, IsolationLevel.STANDARD, "path")
        await test_crud.test_group_lifecycle(stack, IsolationLevel.STRICT)

    with pytest.raises(InvalidOperation):
        await client.admin.command("ping")
