"""A stored resource and the rules that turn client JSON into its attributes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import DEFAULT_LIMITS

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredResource:
    """A resource as the service keeps it: SCIM attributes without `id` and `meta`."""

    resource_type: str
    id: str
    version: int
    created: datetime
    last_modified: datetime
    attributes: JsonObject

    @property
    def etag(self) -> str:
        return format_version(self.version)

    def revised(self, attributes: JsonObject, now: datetime) -> StoredResource:
        return replace(self, attributes=attributes, version=self.version + 1, last_modified=now)


def member_values(group: StoredResource) -> list[str]:
    """The ids a group lists in `members`."""
    members = group.attributes.get("members")
    if not isinstance(members, list):
        return []
    return [m["value"] for m in members if isinstance(m, dict) and isinstance(m.get("value"), str)]


def without_member(group: StoredResource, member_id: str, now: datetime) -> StoredResource:
    """The group's next version, with `member_id` taken out of `members`."""
    kept = [m for m in group.attributes.get("members", []) if m.get("value") != member_id]
    attributes = {k: v for k, v in group.attributes.items() if k != "members"}
    if kept:
        attributes["members"] = kept
    return group.revised(attributes, now)


def format_version(version: int) -> str:
    """`meta.version` and the ETag: a strong entity tag (RFC 7232 §2.3) from a counter."""
    return f'"{version}"'


def version_matches(if_match: str, version: int) -> bool:
    """RFC 7232 §3.1 If-Match: `*` or a list of entity tags; a weak tag compares by value."""
    tags = [tag.strip() for tag in if_match.split(",")]
    current = format_version(version)
    return any(tag == "*" or tag.removeprefix("W/") == current for tag in tags)


def parse_json_object(
    body: bytes, what: str = "request body", max_depth: int = DEFAULT_LIMITS.max_json_depth
) -> JsonObject:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ScimError.invalid_syntax(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ScimError.invalid_syntax(f"{what} must be a JSON object")
    if _nesting_exceeds(value, max_depth):
        raise ScimError.invalid_syntax(
            f"{what} nests objects and arrays deeper than {max_depth} levels (max_json_depth)"
        )
    return value


def _nesting_exceeds(value: Any, max_depth: int) -> bool:
    """Whether containers nest deeper than `max_depth`; one pass, no recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > max_depth:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def message_operations(document: JsonObject, schema: str, what: str) -> list[Any]:
    """The `Operations` of a PatchOp or BulkRequest message, after checking its schema."""
    schemas = document.get("schemas")
    if not isinstance(schemas, list) or schema not in schemas:
        raise ScimError.invalid_syntax(f"a {what} body must declare the schema {schema}")
    operations = next((v for k, v in document.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise ScimError.invalid_syntax("'Operations' must be a non-empty array")
    return operations
