"""The MongoDB client, on motor (the default) or on PyMongo's native asyncio client.

Both expose the same awaitable API for what the storage adapters use (collections, `find`
cursors with `sort`/`skip`/`limit`/`batch_size`, `async for` and `to_list`, commands, index
management), so the adapters name these aliases rather than either driver's classes; neither
driver ships type information mypy reads, so nothing is lost by that. They differ where an
adapter must not depend on either, and this module holds the one place that knows:

- `close()` is synchronous on motor and a coroutine on PyMongo: use `close` below.
- `aggregate()`, `watch()` and `list_indexes()` are coroutines returning a cursor on PyMongo,
  plain calls returning a cursor on motor; sessions are entered with `async with`
  on both, but `start_session()` is awaited on motor only. No adapter uses them: keep it so,
  or add a helper here.
- A cancelled operation (a caller's deadline) keeps running in motor's worker thread until the
  database answers; on PyMongo it stops where it is. Either way its outcome is unknown.

Both raise the same `pymongo.errors` classes for the same faults (tests/contract/
test_driver_faults.py), so storage/mongo_errors.py maps them once."""

from __future__ import annotations

import inspect
from typing import Any, Literal, get_args

DriverName = Literal["motor", "pymongo"]
DRIVERS: tuple[DriverName, ...] = get_args(DriverName)

MongoClient = Any
MongoDatabase = Any
MongoCollection = Any


def connect(uri: str, timeout_ms: int = 5000, driver: DriverName = "motor") -> MongoClient:
    """A client whose operations fail within `timeout_ms` when the database is away."""
    options: dict[str, Any] = {
        "tz_aware": True,
        "serverSelectionTimeoutMS": timeout_ms,
        "timeoutMS": timeout_ms,
        "appname": "scimtenancy",
    }
    if driver == "pymongo":
        from pymongo import AsyncMongoClient

        return AsyncMongoClient(uri, **options)
    from motor.motor_asyncio import AsyncIOMotorClient

    return AsyncIOMotorClient(uri, **options)


async def close(client: MongoClient) -> None:
    """Closes a client of either driver; PyMongo's must be awaited, on the loop it ran on."""
    closing = client.close()
    if inspect.isawaitable(closing):
        await closing
