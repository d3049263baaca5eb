"""Exclusive version transitions. FerretDB 1.24 does not apply a conditional update
atomically: several concurrent `replace_one({_id, version: N})` calls can all match. Inserting
a document with a unique `_id` is atomic on every MongoDB-compatible server, so a writer first
claims the transition `N → N+1` by inserting its key; only the claim's holder writes. It then
reads the document by `_id`, checks that it is still at version N (a stale writer stops here),
writes it by `_id` (queries FerretDB serves from its primary key) and drops the claim: claims
live only for the duration of one write. A claim whose holder died would block the resource,
so claims older than `stale_after` seconds may be taken over.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from scimtenancy_server.storage.mongo_driver import MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors

COLLECTION = "write_claims"


class VersionClaims:
    def __init__(self, database: MongoDatabase, stale_after: float = 30.0) -> None:
        self._claims = database[COLLECTION]
        self._stale_after = timedelta(seconds=stale_after)

    @staticmethod
    def _key(target: str, version: int) -> str:
        return f"{target}|{version}"

    async def claim(self, target: str, next_version: int) -> bool:
        """Claims the transition of `target` (collection and `_id`) to `next_version`."""
        key = self._key(target, next_version)
        with database_errors():
            for _ in range(2):
                now = datetime.now(UTC)
                try:
                    await self._claims.insert_one({"_id": key, "target": target, "at": now})
                except DuplicateKeyError:
                    stale = await self._claims.delete_one(
                        {"_id": key, "at": {"$lt": now - self._stale_after}}
                    )
                    if not stale.deleted_count:
                        return False
                else:
                    return True
        return False

    async def release(self, target: str, version: int) -> None:
        with database_errors():
            await self._claims.delete_one({"_id": self._key(target, version)})

    async def purge(self, target_prefix: str) -> None:
        """Drops the claims of every resource whose target starts with `target_prefix`."""
        with database_errors():
            await self._claims.delete_many({"target": {"$regex": f"^{re.escape(target_prefix)}"}})

    async def ensure_indexes(self) -> None:
        with database_errors():
            await self._claims.create_index("target", name="by_target")
