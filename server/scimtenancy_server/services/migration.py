"""Moving resources into a tenant: from a single-tenant store (plain `users` / `groups`
collections of SCIM documents), or from a tenant export (SCIM JSON Lines).

Resources keep their ids, so a run is idempotent: a resource already in the tenant is
skipped, and a run that was interrupted is resumed by running it again. Users go before
Groups, so that members resolve. Every resource passes the same validation as a POST.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.render import to_scim
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.storage.repository import ResourceRepository

ORDER = ("User", "Group")
Source = AsyncIterator[tuple[str, dict[str, Any]]]


@dataclass
class MigrationReport:
    migrated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # type, id, reason


async def migrate(
    resources: ResourceService,
    ctx: TenantContext,
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
            break
        resource_id = document.get("id")
        if not isinstance(resource_id, str) or not resource_id:
            report.failed.append((type_name, "?", "the document has no id"))
            continue
        try:
            if await resources.exists(ctx, type_name, resource_id):
                report.skipped[type_name] += 1
                continue
            if dry_run:
                resources.validate(ctx, type_name, document)
            else:
                await resources.store_new(ctx, type_name, document, resource_id)
            report.migrated[type_name] += 1
        except ScimError as error:
            report.failed.append((type_name, resource_id, error.detail))
    return report


async def mongo_source(database: Any, collections: dict[str, str] | None = None) -> Source:
    """A single-tenant store: one plain collection of SCIM documents per resource type."""
    names = collections or {"User": "users", "Group": "groups"}
    for type_name in ORDER:
        async for document in database[names[type_name]].find().sort("_id", 1):
            document.pop("_id", None)
            yield type_name, document


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
