"""PATCH (RFC 7644 §3.5.2): parsing a PatchOp message into operations and resolving an
operation's path to where it lands under a resource type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import Filter, parse_filter
from scimtenancy_server.domain.filter_eval import get_case_insensitive
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.resource import message_operations
from scimtenancy_server.domain.schema import Attribute, Mutability, ResourceType, Schema
from scimtenancy_server.domain.validation import JsonObject

PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_OPS = frozenset({"add", "replace", "remove"})
_PATH = re.compile(r"(?P<attr>[^.\[\]]+)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[^.\[\]]+))?")


@dataclass(frozen=True, slots=True)
class Operation:
    op: str
    path: str | None
    value: Any


@dataclass(frozen=True, slots=True)
class Target:
    """Where an operation lands (RFC 7644 §3.5.2 PATH grammar)."""

    schema: Schema
    extension: str | None  # the extension's URN; None for core attributes
    attribute: Attribute | None  # None: the whole extension object
    value_filter: Filter | None = None
    sub: Attribute | None = None


class UnknownPath(ScimError):
    """A path naming no schema, attribute or sub-attribute: as a key of a PATCH value, the
    lenient profile ignores it like an unknown attribute of a body."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail, "invalidPath")


def parse_patch(document: JsonObject, limits: InputLimits = DEFAULT_LIMITS) -> list[Operation]:
    operations = message_operations(document, PATCH_OP_SCHEMA, "PATCH")
    if len(operations) > limits.max_patch_operations:
        raise ScimError.invalid_value(
            f"a PATCH may hold at most {limits.max_patch_operations} operations"
        )
    return [_parse_operation(item, limits) for item in operations]


def _parse_operation(item: object, limits: InputLimits) -> Operation:
    if not isinstance(item, dict):
        raise ScimError.invalid_syntax("each PATCH operation must be a JSON object")
    op = get_case_insensitive(item, "op")
    if not isinstance(op, str) or op.lower() not in _OPS:
        raise ScimError.invalid_syntax("'op' must be one of add, replace, remove")
    path = get_case_insensitive(item, "path")
    if path is not None and not isinstance(path, str):
        raise ScimError.invalid_path("'path' must be a string")
    if path is not None and len(path) > limits.max_path_length:
        raise ScimError.invalid_path(
            f"'path' has {len(path)} characters; at most {limits.max_path_length} are "
            "accepted (max_path_length)"
        )
    has_value = any(k.lower() == "value" for k in item)
    if op.lower() != "remove" and not has_value:
        raise ScimError.invalid_syntax(f"a PATCH {op.lower()} operation needs a 'value'")
    return Operation(op.lower(), path or None, get_case_insensitive(item, "value"))


def resolve_target(rt: ResourceType, path: str, limits: InputLimits = DEFAULT_LIMITS) -> Target:
    schema, rest = rt.schema, path
    for candidate in (rt.schema, *(s for s, _ in rt.extensions)):
        if path.lower() == candidate.id.lower() and candidate is not rt.schema:
            return Target(candidate, candidate.id, None)
        if path.lower().startswith(candidate.id.lower() + ":"):
            schema, rest = candidate, path[len(candidate.id) + 1 :]
            break
    else:
        if path.lower().startswith("urn:"):
            raise UnknownPath(f"path {path!r} names an unknown schema")
    match = _PATH.fullmatch(rest)
    if match is None:
        raise ScimError.invalid_path(f"invalid path {path!r}")
    extension = None if schema is rt.schema else schema.id
    attribute = (
        rt.attribute(match["attr"]) if extension is None else schema.attribute(match["attr"])
    )
    if attribute is None:
        raise UnknownPath(f"unknown attribute {match['attr']!r} in path {path!r}")
    if attribute.mutability is Mutability.READ_ONLY:
        raise ScimError.mutability(f"attribute {attribute.name!r} is read-only")
    value_filter = _value_filter(attribute, match["filter"], path, limits)
    sub = None
    if match["sub"] is not None:
        sub = attribute.sub(match["sub"])
        if sub is None:
            raise UnknownPath(f"unknown sub-attribute {match['sub']!r} in {path!r}")
    return Target(schema, extension, attribute, value_filter, sub)


def _value_filter(
    attribute: Attribute, text: str | None, path: str, limits: InputLimits
) -> Filter | None:
    if text is None:
        return None
    if not (attribute.multi_valued and attribute.complex):
        raise ScimError.invalid_path(
            f"only multi-valued complex attributes take a filter: {path!r}"
        )
    try:
        return parse_filter(text, limits)
    except ScimError as error:
        raise ScimError.invalid_path(f"invalid value filter in {path!r}: {error.detail}") from None
