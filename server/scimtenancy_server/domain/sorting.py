"""`sortBy` / `sortOrder` (RFC 7644 §3.4.2.3) with MongoDB's ordering, so that every storage
adapter returns the same order: missing values first when ascending, ties broken by id.

Case-insensitive ordering needs the lower-cased shadow copy (userName, displayName); other
strings sort by code point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scimtenancy_server.domain.attribute_paths import ResolvedPath, resolve_path
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_attr_path
from scimtenancy_server.domain.filter_eval import candidates
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType


@dataclass(frozen=True, slots=True)
class Sort:
    path: ResolvedPath
    descending: bool


def resolve_sort(rt: ResourceType, sort_by: str, sort_order: str) -> Sort | None:
    if not sort_by:
        return None
    order = (sort_order or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise ScimError.invalid_value("sortOrder must be 'ascending' or 'descending'")
    try:
        path = resolve_path(rt, parse_attr_path(sort_by))
    except ScimError as error:
        raise ScimError.invalid_value(f"cannot sort by {sort_by!r}: {error.detail}") from None
    if path.is_meta and path.sub == "resourceType":
        path = resolve_path(rt, parse_attr_path("id"))
    return Sort(path, order == "descending")


def _rank(value: Any) -> tuple[int, Any]:
    # MongoDB's comparison order of BSON types: null, numbers, strings, ..., booleans, dates.
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (5, value)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, datetime):
        return (6, value)
    return (3, str(value))


def sort_resources(resources: list[StoredResource], sort: Sort | None) -> list[StoredResource]:
    ordered = sorted(resources, key=lambda r: r.id)
    if sort is None:
        return ordered

    def key(resource: StoredResource) -> tuple[int, Any]:
        values = candidates(resource, sort.path)
        if sort.path.lookup:
            values = [v.lower() if isinstance(v, str) else v for v in values]
        ranked = [_rank(v) for v in values] or [_rank(None)]
        return max(ranked) if sort.descending else min(ranked)

    return sorted(ordered, key=key, reverse=sort.descending)
