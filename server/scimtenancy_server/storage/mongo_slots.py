"""Resource limits enforced by the database, exact across server processes.

A tenant limited to N resources of a type has N numbered slots; creating a resource inserts
the document of a free slot, keyed `<tenant>|<type>|<k>`. A unique `_id` insert is atomic on
every MongoDB-compatible server (a conditional `$inc` is not, on FerretDB 1.24), so two
concurrent creates can never take the same slot, and none can take slot N+1. Deleting the
resource deletes its slot document.
"""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from scimtenancy_server.storage.mongo_driver import MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors
from scimtenancy_server.storage.repository import Scope, limit_reached, note_usage

COLLECTION = "usage_slots"


def _owner(scope: Scope) -> str:
    return f"{scope.tenant_id}|{scope.resource_type.name}"


class UsageSlots:
    def __init__(self, database: MongoDatabase) -> None:
        self._slots = database[COLLECTION]

    async def take(self, scope: Scope, resource_id: str, limit: int) -> None:
        owner = _owner(scope)
        with database_errors():
            used = await self._slots.count_documents({"owner": owner})
            # Try the likely-free slot first, then every other one.
            for k in [*range(used + 1, limit + 1), *range(1, min(used, limit) + 1)]:
                try:
                    await self._slots.insert_one(
                        {"_id": f"{owner}|{k}", "owner": owner, "resource": resource_id}
                    )
                except DuplicateKeyError:
                    continue
                note_usage(scope, used + 1, limit)
                return
        raise limit_reached(scope, limit)

    async def free(self, scope: Scope, resource_id: str) -> None:
        with database_errors():
            await self._slots.delete_one({"owner": _owner(scope), "resource": resource_id})

    async def holds(self, scope: Scope, resource_id: str) -> bool:
        with database_errors():
            found = await self._slots.find_one({"owner": _owner(scope), "resource": resource_id})
        return found is not None

    async def used(self, scope: Scope) -> int:
        with database_errors():
            return int(await self._slots.count_documents({"owner": _owner(scope)}))

    async def purge(self, scope: Scope) -> None:
        with database_errors():
            await self._slots.delete_many({"owner": _owner(scope)})

    async def ensure_indexes(self) -> None:
        with database_errors():
            await self._slots.create_index(
                [("owner", ASCENDING), ("resource", ASCENDING)], name="by_owner"
            )
