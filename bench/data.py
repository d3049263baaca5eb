"""The benchmark's users, and the fast ways of loading many of them: /Bulk over HTTP (any SCIM
server), or straight into a MongoDB database in the exact form our server stores."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp  # type: ignore[import-not-found, unused-ignore]
import orjson

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_JSON = "application/scim+json"


def user_name(index: int) -> str:
    return f"u{index:07d}@bench.example"


def user(index: int) -> dict[str, Any]:
    """User number `index`: the same document for every system under test."""
    name = user_name(index)
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "displayName": f"Bench User {index}",
        "name": {"givenName": "Bench", "familyName": f"User{index:07d}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


@dataclass(frozen=True)
class Loaded:
    index: int
    id: str


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON, "Accept": SCIM_JSON}


class LoadError(RuntimeError):
    pass


async def bulk_request(
    session: aiohttp.ClientSession, base_url: str, token: str, indexes: list[int]
) -> list[Loaded]:
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": str(i), "data": user(i)} for i in indexes
        ],
    }
    async with session.post(
        f"{base_url}/Bulk", data=orjson.dumps(body), headers=headers(token)
    ) as response:
        text = await response.read()
        if response.status != 200:
            raise LoadError(f"/Bulk answered {response.status}: {text[:300]!r}")
    loaded = []
    for operation in orjson.loads(text)["Operations"]:
        if str(operation.get("status")) != "201":
            raise LoadError(f"a bulk create failed: {operation}")
        resource_id = operation["location"].rstrip("/").rsplit("/", 1)[1]
        loaded.append(Loaded(int(operation["bulkId"]), resource_id))
    return loaded


async def bulk_load(
    base_url: str,
    token: str,
    start: int,
    count: int,
    batch: int = 500,
    concurrency: int = 3,
) -> list[Loaded]:
    """Creates users start .. start+count-1 through /Bulk, a few requests at a time."""
    batches = [
        list(range(first, min(first + batch, start + count)))
        for first in range(start, start + count, batch)
    ]
    pending = iter(batches)
    loaded: list[Loaded] = []
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def worker() -> None:
            for indexes in pending:
                loaded.extend(await bulk_request(session, base_url, token, indexes))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sorted(loaded, key=lambda item: item.index)


async def direct_load(
    mongodb_uri: str,
    database: str,
    tenant_id: str,
    isolation: str,
    start: int,
    count: int,
    batch: int = 1000,
) -> list[Loaded]:
    """Inserts users straight into our MongoDB storage, in the form the server itself stores
    (its own validation and codec), with insert_many: creating 100,000 users one HTTP request
    at a time through FerretDB would take most of the run."""
    from motor.motor_asyncio import AsyncIOMotorClient

    from scimtenancy_server.domain.resource import StoredResource
    from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
    from scimtenancy_server.domain.tenant import IsolationLevel
    from scimtenancy_server.domain.validation import canonical_attributes
    from scimtenancy_server.storage.mongo_codec import collection_name, to_document
    from scimtenancy_server.storage.repository import Scope

    users = DEFAULT_REGISTRY.resolve("Users")
    scope = Scope(tenant_id, IsolationLevel(isolation), users)
    client: Any = AsyncIOMotorClient(mongodb_uri, tz_aware=True)
    collection = client[database][collection_name(scope)]
    loaded: list[Loaded] = []
    try:
        for first in range(start, start + count, batch):
            documents = []
            now = datetime.now(UTC)
            for index in range(first, min(first + batch, start + count)):
                resource_id = str(uuid.uuid4())
                attributes = canonical_attributes(users, user(index))
                resource = StoredResource(users.name, resource_id, 1, now, now, attributes)
                documents.append(to_document(scope, resource))
                loaded.append(Loaded(index, resource_id))
            await collection.insert_many(documents, ordered=False)
    finally:
        client.close()
    return loaded
