"""Moving resources into a tenant: from a single-tenant store (plain `users` / `groups`
collections of SCIM documents), or from a tenant export (SCIM JSON Lines); and, once a store
is wholly in the tenant, removing what was migrated from it.

Resources keep their ids, so a run is idempotent: a resource already in the tenant is
skipped, and a run that was interrupted is resumed by running it again. Users go before
Groups, so that members resolve. Every resource passes the same validation as a POST.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.render import to_scim
from scimtenancy_server.domain.resource import JsonObject, StoredResource
from scimtenancy_server.domain.schema import GROUP
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.domain.validation import canonical_attributes
from scimtenancy_server.services.group_members import inline_members
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.storage.mongo_errors import database_errors
from scimtenancy_server.storage.repository import ResourceRepository

ORDER = ("User", "Group")
Source = AsyncIterator[tuple[str, dict[str, Any]]]
# Documents read, checked and removed per round trip when a store is cleaned up.
CLEANUP_BATCH = 500


@dataclass
class MigrationReport:
    migrated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))
    # Already in the tenant with the source's content (e.g. migrated by an earlier run).
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))
    differing: list[tuple[str, str]] = field(default_factory=list)  # type, id
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # type, id, reason
    complete: bool = True  # False when `limit` stopped the run before the source's end


@dataclass
class Target:
    """The tenant resources move into, read within its own scope only."""

    resources: ResourceService
    repository: ResourceRepository
    ctx: TenantContext

    async def current(self, type_name: str, ids: Sequence[str]) -> dict[str, StoredResource]:
        """The tenant's resources among `ids`, a Group with its members (a User without its
        `groups`: a migration writes them from the Groups)."""
        rt = self.resources.resource_type(type_name, self.ctx.tenant)
        found = await self.repository.get_many(self.ctx.tenant, rt, ids)
        projection = Projection() if rt.name == GROUP.name else None
        completed = await self.resources.complete(self.ctx.tenant, found, projection)
        return {resource.id: resource for resource in completed}

    async def get(self, type_name: str, resource_id: str) -> StoredResource | None:
        """One resource, as `current` gives it (a lookup by id is indexed even on FerretDB,
        where `current`'s `$in` is a scan)."""
        rt = self.resources.resource_type(type_name, self.ctx.tenant)
        found = await self.repository.get(self.ctx.tenant, rt, resource_id)
        if found is None or rt.name != GROUP.name:
            return found
        return (await self.resources.complete(self.ctx.tenant, [found], Projection()))[0]

    async def count(self, type_name: str, ids: Iterable[str]) -> int:
        """How many of `ids` are resources of this type in the tenant."""
        rt = self.resources.resource_type(type_name, self.ctx.tenant)
        total, wanted = 0, sorted(ids)
        for chunk in _chunks(wanted, CLEANUP_BATCH):
            total += len(await self.repository.get_many(self.ctx.tenant, rt, chunk))
        return total

    def holds(self, type_name: str, document: JsonObject, stored: StoredResource) -> bool:
        """Whether `stored` has the content a migration of `document` would give it."""
        rt = self.resources.resource_type(type_name, self.ctx.tenant)
        limits, compatibility = self.resources.limits, self.ctx.tenant.compatibility
        try:
            wanted = canonical_attributes(rt, document, limits=limits, compatibility=compatibility)
        except ScimError:
            return False
        if rt.name != GROUP.name:
            return wanted == stored.attributes
        wanted, members = inline_members(wanted)
        held, held_members = inline_members(stored.attributes)
        return wanted == held and _values(members) == _values(held_members)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _values(members: Iterable[JsonObject]) -> set[Any]:
    return {member.get("value") for member in members}


async def migrate(
    target: Target,
    source: Source,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    on_progress: Callable[[], None] = lambda: None,
) -> MigrationReport:
    """Copies `source` into the tenant; `limit` stops after that many new resources."""
    report = MigrationReport()
    async for type_name, document in source:
        on_progress()
        if limit is not None and sum(report.migrated.values()) >= limit:
            report.complete = False
            break
        resource_id = document.get("id")
        if not isinstance(resource_id, str) or not resource_id:
            report.failed.append((type_name, "?", "the document has no id"))
            continue
        try:
            await _migrate_one(target, type_name, document, resource_id, report, dry_run)
        except ScimError as error:
            report.failed.append((type_name, resource_id, error.detail))
    return report


async def _migrate_one(
    target: Target,
    type_name: str,
    document: JsonObject,
    resource_id: str,
    report: MigrationReport,
    dry_run: bool,
) -> None:
    held = await target.get(type_name, resource_id)
    if held is not None and target.holds(type_name, document, held):
        report.skipped[type_name] += 1
    elif held is not None:
        report.differing.append((type_name, resource_id))
    elif dry_run:
        target.resources.validate(target.ctx, type_name, document)
        report.migrated[type_name] += 1
    else:
        await target.resources.store_new(target.ctx, type_name, document, resource_id)
        report.migrated[type_name] += 1


@dataclass
class MongoStore:
    """A single-tenant store: one plain collection of SCIM documents per resource type. It
    remembers each document it hands out (its `_id` and SCIM `id`), so that a clean-up
    removes exactly those."""

    database: Any
    collections: dict[str, str] = field(
        default_factory=lambda: {"User": "users", "Group": "groups"}
    )
    read: dict[str, list[tuple[Any, Any]]] = field(
        default_factory=lambda: {name: [] for name in ORDER}
    )

    def collection(self, type_name: str) -> Any:
        return self.database[self.collections[type_name]]

    async def documents(self) -> Source:
        for type_name in ORDER:
            async for document in self.collection(type_name).find().sort("_id", 1):
                self.read[type_name].append((document.pop("_id", None), document.get("id")))
                yield type_name, document


@dataclass
class CleanupReport:
    refusals: list[str] = field(default_factory=list)  # why nothing was removed
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))
    kept: list[tuple[str, str]] = field(default_factory=list)  # changed since the checks
    fault: str | None = None  # the database failed after `removed` were removed


async def clean_up(
    target: Target,
    store: MongoStore,
    report: MigrationReport,
    *,
    dry_run: bool = False,
    batch: int = CLEANUP_BATCH,
) -> CleanupReport:
    """Removes from `store` the documents the migration `report` is about, once the report
    shows every one of them in the tenant and the counts agree; with `dry_run`, `removed`
    says what would go. Only documents read by the run are removed, by `_id`, each after
    checking again that the tenant holds its content."""
    cleanup = CleanupReport(refusals=_report_refusals(report))
    try:
        if not cleanup.refusals:
            cleanup.refusals = await _count_refusals(target, store, dry_run)
        if cleanup.refusals:
            return cleanup
        if dry_run:
            cleanup.removed = {name: len(store.read[name]) for name in ORDER}
            return cleanup
        # Groups first: a store cut short keeps no group whose member it removed.
        for type_name in reversed(ORDER):
            for chunk in _chunks(store.read[type_name], batch):
                await _remove(target, store, type_name, chunk, cleanup)
    except ScimError as error:
        cleanup.fault = error.detail
    return cleanup


def _report_refusals(report: MigrationReport) -> list[str]:
    reasons = []
    if not report.complete:
        reasons.append("the run stopped before the end of the source (--limit)")
    if report.failed:
        reasons.append(f"{len(report.failed)} documents were not migrated (failed above)")
    if report.differing:
        reasons.append(
            f"{len(report.differing)} resources of the tenant differ from their source document"
        )
    return reasons


async def _count_refusals(target: Target, store: MongoStore, dry_run: bool) -> list[str]:
    """Per type, the documents in the store now, those the run read, and the tenant's
    resources with their ids must be as many (a dry run creates none: it counts the ids)."""
    reasons = []
    for type_name in ORDER:
        with database_errors():
            held = await store.collection(type_name).count_documents({})
        read = store.read[type_name]
        ids = {resource_id for _, resource_id in read}
        present = len(ids) if dry_run else await target.count(type_name, ids)
        if not held == len(read) == present:
            reasons.append(
                f"{type_name}: the source holds {held} documents, the run read {len(read)}, "
                f"and {present} of their ids are resources of the tenant"
            )
    return reasons


async def _remove(
    target: Target,
    store: MongoStore,
    type_name: str,
    chunk: Sequence[tuple[Any, Any]],
    cleanup: CleanupReport,
) -> None:
    collection = store.collection(type_name)
    held = await target.current(type_name, [resource_id for _, resource_id in chunk])
    with database_errors():
        found = await collection.find({"_id": {"$in": [key for key, _ in chunk]}}).to_list(None)
    removable = []
    for document in found:
        key = document.pop("_id")
        stored = held.get(document.get("id"))
        if stored is not None and target.holds(type_name, document, stored):
            removable.append(key)
        else:
            cleanup.kept.append((type_name, str(document.get("id"))))
    if removable:
        with database_errors():
            deleted = await collection.delete_many({"_id": {"$in": removable}})
        cleanup.removed[type_name] += deleted.deleted_count


async def jsonl_source(path: Path) -> Source:
    """A SCIM JSON Lines export; each line's `meta.resourceType` names its type."""
    for type_name in ORDER:
        with path.open("rb") as lines:
            for line in lines:
                if line.strip():
                    document = orjson.loads(line)
                    if document.get("meta", {}).get("resourceType") == type_name:
                        yield type_name, document


async def export_jsonl(
    repository: ResourceRepository, resources: ResourceService, ctx: TenantContext, path: Path
) -> int:
    """Writes every resource of the tenant as one SCIM JSON document per line."""
    written = 0
    with path.open("wb") as out:
        for type_name in ORDER:
            rt = resources.resource_type(type_name, ctx.tenant)
            offset = 0
            while page := (await repository.list(ctx.tenant, rt, None, offset, 500)).resources:
                for resource in await resources.complete(ctx.tenant, page, Projection()):
                    out.write(orjson.dumps(to_scim(rt, resource, "")) + b"\n")
                    written += 1
                offset += len(page)
    return written
