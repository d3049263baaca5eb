"""`mongo_driver.connect` makes the client the setting names, with the same options on both
drivers, and `close` closes either (motor's close is synchronous, PyMongo's a coroutine)."""

from __future__ import annotations

from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient
from pymongo.errors import InvalidOperation

from scimtenancy_common.settings import Settings
from scimtenancy_server.storage.mongo_driver import DRIVERS, DriverName, close, connect

NOWHERE = "mongodb://127.0.0.1:1"  # never reached: nothing here needs a server


def test_the_drivers_are_the_settings_choices_and_motor_stays_the_default() -> None:
    assert Settings().mongodb_driver == "motor"
    for driver in DRIVERS:
        assert Settings(mongodb_driver=driver).mongodb_driver == driver


@pytest.mark.parametrize(
    ("driver", "kind"), [("motor", AsyncIOMotorClient), ("pymongo", AsyncMongoClient)]
)
async def test_each_driver_gets_its_client_with_the_same_options(
    driver: DriverName, kind: type[Any]
) -> None:
    client = connect(NOWHERE, 1234, driver)
    try:
        assert isinstance(client, kind)
        options = client.options
        assert (options.timeout, options.server_selection_timeout) == (1.234, 1.234)
        assert options.codec_options.tz_aware
        assert options.pool_options.metadata["application"] == {"name": "scimtenancy"}
    finally:
        await close(client)


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_closed_client_of_either_driver_refuses_work(driver: DriverName) -> None:
    client = connect(NOWHERE, 100, driver)
    await close(client)
    with pytest.raises(InvalidOperation):
        await client.admin.command("ping")
