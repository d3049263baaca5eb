"""Memberships in MongoDB: one document per (group, member), in `t.<tenant>.memberships` under
strict isolation and in the shared `memberships` collection (with `tenant_id`, `_id` prefixed
by the tenant) otherwise. Indexed by group then member (a group's members in order) and by
member (a user's groups); a group of 100,000 members is 100,000 small documents, far from
MongoDB's 16 MB document limit.

A membership's `_id` is derived from the group and member ids, so adding it twice is one
unique-key insert that fails (atomic on every MongoDB-compatible server, FerretDB included),
and removing one is a delete by `_id`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import BulkWriteError

from scimtenancy_server.domain.membership import Member
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant
from scimtenancy_server.storage.memberships import BATCH, MembershipStore
from scimtenancy_server.storage.mongo_driver import MongoCollection, MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors, is_duplicate


class MongoMembershipStore(MembershipStore):
    def __init__(self, database: MongoDatabase) -> None:
        self._database = database

    def _collection(self, tenant: Tenant) -> MongoCollection:
        if tenant.isolation is IsolationLevel.STRICT:
            return self._database[f"t.{tenant.tenant_id}.memberships"]
        return self._database["memberships"]

    @staticmethod
    def _scoped(tenant: Tenant, query: dict[str, Any]) -> dict[str, Any]:
        if tenant.isolation is IsolationLevel.STRICT:
            return query
        return {"tenant_id": tenant.tenant_id, **query}

    @staticmethod
    def _id(tenant: Tenant, group_id: str, member_id: str) -> str:
        # The length prefix keeps the key unambiguous whatever characters the ids hold.
        key = f"{len(group_id)}:{group_id}:{member_id}"
        return key if tenant.isolation is IsolationLevel.STRICT else f"{tenant.tenant_id}:{key}"

    async def provision(self, tenant: Tenant) -> None:
        strict = tenant.isolation is IsolationLevel.STRICT
        prefix = [] if strict else [("tenant_id", ASCENDING)]
        collection = self._collection(tenant)
        with database_errors():
            await collection.create_index(
                [*prefix, ("group", ASCENDING), ("member", ASCENDING)], name="by_group"
            )
            await collection.create_index(
                [*prefix, ("member", ASCENDING), ("group", ASCENDING)], name="by_member"
            )

    def _document(self, tenant: Tenant, group_id: str, member: Member) -> dict[str, Any]:
        document = {
            "_id": self._id(tenant, group_id, member.value),
            "group": group_id,
            "member": member.value,
            "type": member.type,
        }
        if member.display is not None:
            document["display"] = member.display
        return self._scoped(tenant, document)

    async def add(self, tenant: Tenant, group_id: str, members: Sequence[Member]) -> None:
        collection = self._collection(tenant)
        for start in range(0, len(members), BATCH):
            documents = [
                self._document(tenant, group_id, m) for m in members[start : start + BATCH]
            ]
            with database_errors():
                try:
                    await collection.insert_many(documents, ordered=False)
                except BulkWriteError as error:
                    errors = error.details.get("writeErrors", [])
                    if not errors or not all(_duplicate(e) for e in errors):
                        raise

    async def remove(self, tenant: Tenant, group_id: str, member_ids: Collection[str]) -> None:
        ids = [self._id(tenant, group_id, m) for m in member_ids]
        collection = self._collection(tenant)
        with database_errors():
            for start in range(0, len(ids), BATCH):
                batch = ids[start : start + BATCH]
                # The `_id` names the tenant (its prefix, or the tenant's own collection).
                selector = {"_id": batch[0]} if len(batch) == 1 else {"_id": {"$in": batch}}
                await collection.delete_many(selector)

    async def member_batches(
        self, tenant: Tenant, group_id: str
    ) -> AsyncIterator[Sequence[Member]]:
        selector = self._scoped(tenant, {"group": group_id})
        projection = {"member": 1, "type": 1, "display": 1, "_id": 0}
        cursor = (
            self._collection(tenant)
            .find(selector, projection)
            .sort("member", ASCENDING)
            .batch_size(BATCH)
        )
        with database_errors():
            while batch := await cursor.to_list(BATCH):
                yield [Member(d["member"], d["type"], d.get("display")) for d in batch]

    async def groups_of(self, tenant: Tenant, member_ids: Collection[str]) -> dict[str, list[str]]:
        wanted, found = list(member_ids), dict[str, list[str]]()
        collection = self._collection(tenant)
        with database_errors():
            for start in range(0, len(wanted), BATCH):
                selector = self._scoped(tenant, {"member": {"$in": wanted[start : start + BATCH]}})
                cursor = collection.find(selector, {"member": 1, "group": 1, "_id": 0})
                async for document in cursor.batch_size(BATCH):
                    found.setdefault(document["member"], []).append(document["group"])
        return {member: sorted(groups) for member, groups in found.items()}

    async def held(
        self, tenant: Tenant, group_id: str, member_ids: Collection[str]
    ) -> list[Member]:
        ids = [self._id(tenant, group_id, m) for m in set(member_ids)]
        found: list[Member] = []
        projection = {"member": 1, "type": 1, "display": 1, "_id": 0}
        with database_errors():
            for start in range(0, len(ids), BATCH):
                batch = ids[start : start + BATCH]
                selector = {"_id": batch[0]} if len(batch) == 1 else {"_id": {"$in": batch}}
                async for d in self._collection(tenant).find(selector, projection):
                    found.append(Member(d["member"], d["type"], d.get("display")))
        return found

    async def leave_everywhere(self, tenant: Tenant, member: Member) -> list[str]:
        selector = self._scoped(tenant, {"member": member.value, "type": member.type})
        collection = self._collection(tenant)
        with database_errors():
            groups = [d["group"] async for d in collection.find(selector, {"group": 1})]
            await collection.delete_many(selector)
        return sorted(groups)

    async def in_any_group(self, tenant: Tenant, at_most: int) -> set[str] | None:
        cursor = self._collection(tenant).find(self._scoped(tenant, {}), {"member": 1, "_id": 0})
        with database_errors():
            found = await cursor.limit(at_most + 1).to_list(None)
        return None if len(found) > at_most else {d["member"] for d in found}

    async def rename(self, tenant: Tenant, member_id: str, display: str | None) -> None:
        change = {"$unset": {"display": ""}} if display is None else {"$set": {"display": display}}
        with database_errors():
            await self._collection(tenant).update_many(
                self._scoped(tenant, {"member": member_id}), change
            )

    async def clear(self, tenant: Tenant, group_id: str) -> None:
        with database_errors():
            await self._collection(tenant).delete_many(self._scoped(tenant, {"group": group_id}))

    async def purge(self, tenant: Tenant) -> None:
        with database_errors():
            if tenant.isolation is IsolationLevel.STRICT:
                await self._collection(tenant).drop()
            else:
                await self._collection(tenant).delete_many({"tenant_id": tenant.tenant_id})


def _duplicate(write_error: dict[str, Any]) -> bool:
    return write_error.get("code") == 11000 or is_duplicate(str(write_error.get("errmsg", "")))
