"""`sortBy` / `sortOrder` (RFC 7644 §3.4.2.3) with MongoDB's ordering, so that every storage
adapter returns the same order: missing values first when ascending, ties broken by id.

Lookup attributes (userName, displayName, emails.value) sort by their identity fold
(domain/text_folding.py), as their folded shadow copies do in MongoDB; other strings sort by
code point."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from scimtenancy_server.domain.attribute_paths import ResolvedPath, resolve_path
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_attr_path
from scimtenancy_server.domain.filter_eval import selector
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.text_folding import fold_identity

SortKey = tuple[int, Any]


@dataclass(frozen=True, slots=True)
class Sort:
    path: ResolvedPath
    descending: bool


def resolve_sort(
    rt: ResourceType, sort_by: str, sort_order: str, limits: InputLimits = DEFAULT_LIMITS
) -> Sort | None:
    if not sort_by:
        return None
    order = (sort_order or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise ScimError.invalid_value("sortOrder must be 'ascending' or 'descending'")
    try:
        path = resolve_path(rt, parse_attr_path(sort_by, limits))
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


def sort_key(sort: Sort) -> Callable[[StoredResource], SortKey]:
    """A resource's place: its smallest value ascending, its largest descending (MongoDB's
    rule for arrays), a missing value ranking first."""
    select, pick = selector(sort.path), max if sort.descending else min
    fold = fold_identity if sort.path.lookup else None

    def key(resource: StoredResource) -> SortKey:
        values = select(resource)
        if fold is not None:
            values = [fold(v) if isinstance(v, str) else v for v in values]
        return pick([_rank(v) for v in values] or [_rank(None)])

    return key


def order_keyed(
    keyed: Iterable[tuple[SortKey, StoredResource]], descending: bool
) -> list[StoredResource]:
    """Resources by their precomputed keys, ties broken by id ascending."""
    by_id = sorted(keyed, key=lambda entry: entry[1].id)
    return [r for _, r in sorted(by_id, key=itemgetter(0), reverse=descending)]


def sort_resources(resources: list[StoredResource], sort: Sort | None) -> list[StoredResource]:
    if sort is None:
        return sorted(resources, key=lambda r: r.id)
    key = sort_key(sort)
    return order_keyed(((key(r), r) for r in resources), sort.descending)
