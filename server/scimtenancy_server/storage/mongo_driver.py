"""The MongoDB client, on motor (the default) or on PyMongo's native asyncio client.

Both expose the same awaitable API for what the storage adapters use (collections, cursors,
commands, index management), so the adapters name these aliases rather than either driver's
classes; neither driver ships type information mypy reads, so nothing is lost by that."""

from __future__ import annotations

from typing import Any, Literal

DriverName = Literal["motor", "pymongo"]

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
