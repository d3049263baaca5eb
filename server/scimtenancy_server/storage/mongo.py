"""MongoDB storage (either driver, storage/mongo_driver.py), with strict and standard isolation
(ARCHITECTURE.md)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import has_value_path, relax
from scimtenancy_server.domain.filter_compile import compile_filter
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.storage.mongo_claims import VersionClaims
from scimtenancy_server.storage.mongo_codec import (
    collection_name,
    document_id,
    from_document,
    owned,
    scoped,
    shadow_field,
    to_document,
)
from scimtenancy_server.storage.mongo_driver import MongoCollection, MongoDatabase
from scimtenancy_server.storage.mongo_driver import connect as connect
from scimtenancy_server.storage.mongo_errors import database_errors
from scimtenancy_server.storage.mongo_memberships import MongoMembershipStore
from scimtenancy_server.storage.mongo_query import sort_spec, to_query
from scimtenancy_server.storage.mongo_slots import UsageSlots
from scimtenancy_server.storage.repository import (
    Page,
    Query,
    ResourceRepository,
    Scope,
    Vanished,
    WriteAlong,
    too_many,
)

# Ids per `$in` query of an existence check.
_ID_BATCH = 1000


class MongoResourceRepository(ResourceRepository):
    def __init__(self, database: MongoDatabase) -> None:
        super().__init__(MongoMembershipStore(database))
        self._database = database
        self._claims = VersionClaims(database)
        self._slots = UsageSlots(database)

    async def ping(self) -> bool:
        try:
            await self._database.command("ping")
        except PyMongoError:
            return False
        return True

    def _collection(self, scope: Scope) -> MongoCollection:
        return self._database[collection_name(scope)]

    def _unique_detail(self, scope: Scope) -> str:
        return f"{scope.resource_type.unique or 'a unique attribute'} is already taken"

    async def _provision(self, scope: Scope) -> None:
        # Every index of a shared collection starts with tenant_id (ARCHITECTURE.md).
        prefix = [] if scope.isolation is IsolationLevel.STRICT else [("tenant_id", ASCENDING)]
        collection = self._collection(scope)
        with database_errors():
            for name in scope.resource_type.lookup:
                unique = name == scope.resource_type.unique
                await collection.create_index(
                    [*prefix, (shadow_field(name), ASCENDING)],
                    name=f"{'unique' if unique else 'lookup'}_{shadow_field(name)}",
                    unique=unique,
                )
            await self._claims.ensure_indexes()
            await self._slots.ensure_indexes()
            # Identity providers look resources up by their own id (RFC 7643 §3.1).
            await collection.create_index(
                [*prefix, ("data.externalId", ASCENDING)], name="lookup_externalId"
            )
            # Filters on memberships become `id` conditions (domain/membership_filters.py).
            await collection.create_index([*prefix, ("id", ASCENDING)], name="lookup_id")

    async def _insert(self, scope: Scope, resource: StoredResource) -> None:
        with database_errors(self._unique_detail(scope)):
            await self._collection(scope).insert_one(to_document(scope, resource))

    # Single-document operations select by `_id` alone: it already names the tenant (its prefix
    # in shared collections, the collection itself under strict isolation), and FerretDB 1.24
    # serves only a bare `_id` equality from its primary key; any other condition is a scan.
    # The tenant is checked again on the document read.

    async def _find(
        self, scope: Scope, resource_id: str, **projection: int
    ) -> dict[str, Any] | None:
        with database_errors():
            document: dict[str, Any] | None = await self._collection(scope).find_one(
                {"_id": document_id(scope, resource_id)}, projection=projection or None
            )
        if document is None or not owned(scope, document):
            return None
        return document

    async def _get(self, scope: Scope, resource_id: str) -> StoredResource | None:
        document = await self._find(scope, resource_id)
        return None if document is None else from_document(scope.resource_type, document)

    def _target(self, scope: Scope, resource_id: str) -> str:
        return f"{collection_name(scope)}|{document_id(scope, resource_id)}"

    async def _replace(
        self, scope: Scope, resource: StoredResource, expected_version: int, along: WriteAlong
    ) -> bool:
        target = self._target(scope, resource.id)
        if not await self._claims.claim(target, expected_version + 1):
            return False  # another writer is moving this resource past `expected_version`
        try:
            current = await self._find(scope, resource.id, version=1, tenant_id=1)
            if current is None or current["version"] != expected_version:
                return False
            try:
                async with along():
                    with database_errors(self._unique_detail(scope)):
                        result = await self._collection(scope).replace_one(
                            {"_id": document_id(scope, resource.id)}, to_document(scope, resource)
                        )
                    if not result.matched_count:
                        raise Vanished
            except Vanished:
                return False
            return True
        finally:
            await self._claims.release(target, expected_version + 1)

    async def _delete(self, scope: Scope, resource_id: str, expected_version: int | None) -> bool:
        selector = {"_id": document_id(scope, resource_id)}
        if expected_version is None:
            with database_errors():
                return bool((await self._collection(scope).delete_one(selector)).deleted_count)
        target = self._target(scope, resource_id)
        if not await self._claims.claim(target, expected_version + 1):
            return False
        try:
            current = await self._find(scope, resource_id, version=1, tenant_id=1)
            if current is None or current["version"] != expected_version:
                return False
            with database_errors():
                return bool((await self._collection(scope).delete_one(selector)).deleted_count)
        finally:
            await self._claims.release(target, expected_version + 1)

    async def _list(self, scope: Scope, query: Query) -> Page:
        where, offset, limit = query.where, query.offset, query.limit
        if where is not None and has_value_path(where):
            return await self._list_checked(scope, query)
        selector = scoped(scope, to_query(scope.resource_type, where) if where else {})
        collection = self._collection(scope)
        with database_errors():
            total = await collection.count_documents(selector)
            resources: list[StoredResource] = []
            if limit > 0 and offset < total:
                cursor = collection.find(selector).sort(sort_spec(query.sort))
                async for document in cursor.skip(offset).limit(limit):
                    resources.append(from_document(scope.resource_type, document))
        return Page(total, resources)

    async def _list_checked(self, scope: Scope, query: Query) -> Page:
        """Streams the prefilter's candidates, keeping only the requested page in memory."""
        rt, where = scope.resource_type, query.where
        assert where is not None
        keep = compile_filter(rt, where)
        pacer = Pacer()  # a buffered batch is read without yielding
        relaxed = relax(where)
        selector = scoped(scope, to_query(rt, relaxed) if relaxed else {})
        total = scanned = 0
        resources: list[StoredResource] = []
        with database_errors():
            async for document in (
                self._collection(scope).find(selector).sort(sort_spec(query.sort))
            ):
                scanned += 1
                if scanned > query.max_scan:
                    raise too_many(query.max_scan)
                await pacer.pace()
                resource = from_document(rt, document)
                if keep(resource):
                    if query.offset <= total < query.offset + query.limit:
                        resources.append(resource)
                    total += 1
        return Page(total, resources)

    async def _get_many(self, scope: Scope, ids: Collection[str]) -> list[StoredResource]:
        """One query per batch of ids, by `_id` alone as `_find` reads (a single id is then a
        bare `_id` equality, which FerretDB serves from its primary key); the tenant is
        checked on each document read."""
        wanted = [document_id(scope, i) for i in set(ids)]
        found: list[StoredResource] = []
        with database_errors():
            for start in range(0, len(wanted), _ID_BATCH):
                batch = wanted[start : start + _ID_BATCH]
                selector = {"_id": batch[0]} if len(batch) == 1 else {"_id": {"$in": batch}}
                async for document in self._collection(scope).find(selector):
                    if owned(scope, document):
                        found.append(from_document(scope.resource_type, document))
        return found

    async def _take_slot(self, scope: Scope, resource_id: str, limit: int) -> None:
        await self._slots.take(scope, resource_id, limit)

    async def _free_slot(self, scope: Scope, resource_id: str) -> None:
        await self._slots.free(scope, resource_id)

    async def _reserve(self, scope: Scope, resource_id: str, limit: int) -> None:
        if not await self._slots.holds(scope, resource_id):
            await self._slots.take(scope, resource_id, limit)

    def stores_apart(self, first: IsolationLevel, second: IsolationLevel) -> bool:
        strict = IsolationLevel.STRICT
        return (first is strict) != (second is strict)

    async def _purge(self, scope: Scope, keep_usage: bool) -> None:
        collection = self._collection(scope)
        with database_errors():
            if scope.isolation is IsolationLevel.STRICT:
                await collection.drop()
            else:
                await collection.delete_many({"tenant_id": scope.tenant_id})
        if not keep_usage:
            await self._slots.purge(scope)
        await self._claims.purge(f"{collection_name(scope)}|{document_id(scope, '')}")

    def _health(self, tenant_id: str, isolation: IsolationLevel) -> MongoCollection:
        strict = isolation is IsolationLevel.STRICT
        return self._database[f"t.{tenant_id}.health" if strict else "health"]

    async def purge(
        self, tenant: Tenant, resource_types: tuple[ResourceType, ...], *, keep_usage: bool = False
    ) -> None:
        await super().purge(tenant, resource_types, keep_usage=keep_usage)
        if tenant.isolation is IsolationLevel.STRICT:
            with database_errors():
                await self._health(tenant.tenant_id, tenant.isolation).drop()

    async def _probe(self, tenant_id: str, isolation: IsolationLevel, now: datetime) -> None:
        collection = self._health(tenant_id, isolation)
        key = f"{tenant_id}:{uuid.uuid4()}"
        with database_errors():
            await collection.insert_one({"_id": key, "tenant_id": tenant_id, "at": now})
            found = await collection.find_one({"_id": key, "tenant_id": tenant_id})
            await collection.delete_one({"_id": key})
        if found is None:
            raise ScimError.unavailable("the storage probe could not read back what it wrote")
