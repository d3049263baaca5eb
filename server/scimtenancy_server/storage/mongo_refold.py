"""Brings stored shadow fields (`lc_userName`, `lc_displayName`, `lc_emails_value`) to the
identity fold of domain/text_folding.py. Documents written before it hold `value.lower()`;
the same is needed after a Python upgrade that changes `unicodedata.unidata_version`.

- Idempotent: a document whose shadow fields already equal the fold of its data is read, not
  written; a second run writes nothing.
- Online: pages of `page_size` documents by `_id`, no long-lived cursor; each rewrite claims
  the document's next version transition in `write_claims`, as every writer does
  (storage/mongo_claims.py), so a concurrent change is never overwritten with stale folds.
  A document being written at that moment is reported busy: run again.
- Resumable: an interrupted run is resumed by running again (see idempotent).
- Nothing merged or lost: where the new fold of a `userName` is already another resource's in
  the same tenant (`straße` and `STRASSE` were two names under lower-casing), the unique index
  refuses it; the document keeps its old `lc_userName`, its other shadow fields are re-folded,
  and the pair is reported for a person to rename one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY, ResourceType
from scimtenancy_server.storage.mongo_claims import VersionClaims
from scimtenancy_server.storage.mongo_codec import shadow_field, shadow_fields, stored_attributes
from scimtenancy_server.storage.mongo_driver import MongoCollection, MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors

# Rounds of claim-and-rewrite per document while writers keep moving it forward.
_ATTEMPTS = 3
_RESOURCE_COLLECTION = re.compile(r"^(?:t\.(?P<tenant>.+)\.)?(?P<endpoint>[a-z]+)$")


@dataclass(frozen=True, slots=True)
class Collision:
    """Two resources of one tenant whose unique attribute now folds to one value."""

    collection: str
    tenant_id: str
    resource_id: str  # kept its old shadow value
    holder_id: str  # holds the folded value


@dataclass
class RefoldReport:
    scanned: dict[str, int] = field(default_factory=dict)
    rewritten: dict[str, int] = field(default_factory=dict)
    collisions: list[Collision] = field(default_factory=list)
    busy: list[tuple[str, str]] = field(default_factory=list)  # (collection, resource id)


async def resource_collections(
    database: MongoDatabase,
) -> list[tuple[str, ResourceType]]:
    """Every collection holding resources: shared (`users`) and per tenant (`t.acme.users`)."""
    by_endpoint = {rt.endpoint.lower(): rt for rt in DEFAULT_REGISTRY.all()}
    with database_errors():
        names = sorted(await database.list_collection_names())
    found = []
    for name in names:
        match = _RESOURCE_COLLECTION.match(name)
        if match and match["endpoint"] in by_endpoint:
            found.append((name, by_endpoint[match["endpoint"]]))
    return found


async def refold_shadow_fields(
    database: MongoDatabase,
    *,
    page_size: int = 500,
    on_progress: Callable[[], None] = lambda: None,
) -> RefoldReport:
    report = RefoldReport()
    claims = VersionClaims(database)
    for name, rt in await resource_collections(database):
        refold = _Refold(database[name], rt, claims, report)
        await refold.collection(page_size, on_progress)
    return report


class _Refold:
    def __init__(
        self,
        collection: MongoCollection,
        rt: ResourceType,
        claims: VersionClaims,
        report: RefoldReport,
    ) -> None:
        self._collection, self._rt, self._claims, self._report = collection, rt, claims, report
        self._name = collection.name
        report.scanned[self._name] = report.rewritten[self._name] = 0

    async def collection(self, page_size: int, on_progress: Callable[[], None]) -> None:
        last: Any = None
        while True:
            selector = {} if last is None else {"_id": {"$gt": last}}
            with database_errors():
                cursor = self._collection.find(selector).sort("_id", 1).limit(page_size)
                page = await cursor.to_list(length=page_size)
            for document in page:
                self._report.scanned[self._name] += 1
                if _differs(self._rt, document):
                    await self._rewrite(document)
                on_progress()
            if len(page) < page_size:
                return
            last = page[-1]["_id"]

    async def _rewrite(self, document: dict[str, Any]) -> None:
        for _ in range(_ATTEMPTS):
            target = f"{self._name}|{document['_id']}"
            version = document["version"]
            if not await self._claims.claim(target, version + 1):
                break
            try:
                with database_errors():
                    fresh = await self._collection.find_one({"_id": document["_id"]})
                if fresh is not None and fresh["version"] == version:
                    await self._write(fresh)
                    return
            finally:
                await self._claims.release(target, version + 1)
            if fresh is None or not _differs(self._rt, fresh):
                return  # deleted, or rewritten by the current code meanwhile
            document = fresh
        self._report.busy.append((self._name, str(document["id"])))

    async def _write(self, document: dict[str, Any]) -> None:
        wanted = _expected(self._rt, document)
        try:
            changed = await self._update(document, wanted)
        except ScimError as error:
            if error.scim_type != "uniqueness" or self._rt.unique is None:
                raise
            unique = shadow_field(self._rt.unique)
            await self._report_collision(document, unique, wanted[unique])
            del wanted[unique]
            if unique in document:
                wanted[unique] = document[unique]
            changed = await self._update(document, wanted)
        if changed:
            self._report.rewritten[self._name] += 1

    async def _update(self, document: dict[str, Any], wanted: dict[str, Any]) -> bool:
        stale = [f for f in _shadow_names(self._rt) if f in document and f not in wanted]
        change: dict[str, Any] = {"$set": wanted} if wanted else {}
        if stale:
            change["$unset"] = dict.fromkeys(stale, "")
        if not change:
            return False
        with database_errors():
            result = await self._collection.update_one({"_id": document["_id"]}, change)
        return bool(result.modified_count)

    async def _report_collision(self, document: dict[str, Any], unique: str, value: Any) -> None:
        selector: dict[str, Any] = {unique: value, "_id": {"$ne": document["_id"]}}
        if "tenant_id" in document:
            selector["tenant_id"] = document["tenant_id"]
        with database_errors():
            holder = await self._collection.find_one(selector, projection={"id": 1})
        match = _RESOURCE_COLLECTION.match(self._name)
        tenant = document.get("tenant_id") or (match["tenant"] if match else None) or ""
        self._report.collisions.append(
            Collision(self._name, tenant, document["id"], holder["id"] if holder else "?")
        )


def _shadow_names(rt: ResourceType) -> list[str]:
    return [shadow_field(name) for name in rt.lookup]


def _expected(rt: ResourceType, document: dict[str, Any]) -> dict[str, Any]:
    return shadow_fields(rt, stored_attributes(document))


def _differs(rt: ResourceType, document: dict[str, Any]) -> bool:
    stored = {f: document[f] for f in _shadow_names(rt) if f in document}
    return stored != _expected(rt, document)
