"""Query parameters of a list or search (RFC 7644 §3.4.2, §3.4.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter_eval import get_case_insensitive
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.projection import Projection, bounded_projection
from scimtenancy_server.domain.tenant import Compatibility

SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True, slots=True)
class ListRequest:
    filter: str = ""
    start_index: int | None = None
    count: int | None = None
    sort_by: str = ""
    sort_order: str = ""
    projection: Projection = field(default_factory=Projection)
    cursor: str | None = None  # None: index paging; "": the first page of cursor paging


def _strings(document: dict[str, Any], name: str) -> tuple[str, ...]:
    value = get_case_insensitive(document, name)
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScimError.invalid_value(f"'{name}' must be an array of attribute names")
    return tuple(v.strip() for v in value if v.strip())


def _optional(document: dict[str, Any], name: str, kind: type) -> Any:
    value = get_case_insensitive(document, name)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ScimError.invalid_value(f"'{name}' must be of type {kind.__name__}")
    return value


def parse_search_request(
    document: dict[str, Any],
    limits: InputLimits = DEFAULT_LIMITS,
    compatibility: Compatibility = Compatibility.STRICT,
) -> ListRequest:
    schemas = document.get("schemas")
    if not isinstance(schemas, list) or SEARCH_REQUEST_SCHEMA not in schemas:
        raise ScimError.invalid_syntax(f"a search body must declare {SEARCH_REQUEST_SCHEMA}")
    attributes = _strings(document, "attributes")
    excluded = _strings(document, "excludedAttributes")
    if attributes and excluded:
        raise ScimError.invalid_syntax("use 'attributes' or 'excludedAttributes', not both")
    return ListRequest(
        filter=_optional(document, "filter", str) or "",
        start_index=_optional(document, "startIndex", int),
        count=_optional(document, "count", int),
        sort_by=_optional(document, "sortBy", str) or "",
        sort_order=_optional(document, "sortOrder", str) or "",
        projection=bounded_projection(attributes, excluded, limits, compatibility),
        cursor=_optional(document, "cursor", str),
    )
