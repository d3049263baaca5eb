"""The isolation property of test_isolation_properties.py on PyMongo's native asyncio client:
the other contract suites take the driver as a parameter (conftest.py), a state machine
cannot."""

from __future__ import annotations

import os
from typing import Any

from contract import test_isolation_properties as on_motor
from hypothesis.stateful import run_state_machine_as_test

from scimtenancy_server.storage.mongo_driver import close, connect


class PymongoTenantIsolation(on_motor.MongoTenantIsolation):
    async def _connect(self) -> Any:
        return connect(os.environ["MONGODB_URI"], driver="pymongo")

    async def _drop(self) -> None:
        await self.client.drop_database(self.database)
        await close(self.client)


class TestPymongoIsolation(on_motor.TestMongoIsolation):
    def runTest(self) -> None:
        run_state_machine_as_test(PymongoTenantIsolation, settings=self.settings)
