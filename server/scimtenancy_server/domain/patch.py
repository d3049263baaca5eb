"""PATCH (RFC 7644 §3.5.2): parsing a PatchOp message and applying it to attributes."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter_eval import get_case_insensitive
from scimtenancy_server.domain.resource import JsonObject, require_attributes, sync_schemas
from scimtenancy_server.domain.schema import Mutability, ResourceType

PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_OPS = frozenset({"add", "replace", "remove"})


@dataclass(frozen=True, slots=True)
class Operation:
    op: str
    path: str | None
    value: Any


@dataclass(frozen=True, slots=True)
class Target:
    """Where an operation lands: a top-level or extension attribute, maybe a sub-attribute."""

    extension: str | None
    attribute: str | None  # None: the whole extension object
    sub: str | None
    multi_valued: bool
    complex: bool


def parse_patch(document: JsonObject) -> list[Operation]:
    schemas = document.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP_SCHEMA not in schemas:
        raise ScimError.invalid_syntax(f"a PATCH body must declare the schema {PATCH_OP_SCHEMA}")
    operations = get_case_insensitive(document, "Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError.invalid_syntax("'Operations' must be a non-empty array")
    return [_parse_operation(item) for item in operations]


def _parse_operation(item: object) -> Operation:
    if not isinstance(item, dict):
        raise ScimError.invalid_syntax("each PATCH operation must be a JSON object")
    op = item.get("op")
    if not isinstance(op, str) or op.lower() not in _OPS:
        raise ScimError.invalid_syntax("'op' must be one of add, replace, remove")
    path = item.get("path")
    if path is not None and not isinstance(path, str):
        raise ScimError.invalid_path("'path' must be a string")
    if op.lower() != "remove" and "value" not in item:
        raise ScimError.invalid_syntax(f"a PATCH {op.lower()} operation needs a 'value'")
    return Operation(op.lower(), path or None, item.get("value"))


def resolve_target(resource_type: ResourceType, path: str) -> Target:
    if "[" in path or "]" in path:
        raise ScimError.invalid_path("value filters in PATCH paths are not supported")
    extension: str | None = None
    rest = path
    for schema in resource_type.schemas:
        if path.lower() == schema.lower():
            if schema == resource_type.schema:
                raise ScimError.invalid_path(f"path {path!r} names no attribute")
            return Target(schema, None, None, False, True)
        if path.lower().startswith(schema.lower() + ":"):
            extension = None if schema == resource_type.schema else schema
            rest = path[len(schema) + 1 :]
            break
    else:
        if path.lower().startswith("urn:"):
            raise ScimError.invalid_path(f"path {path!r} names an unknown schema")
    name, _, sub = rest.partition(".")
    if not name or "." in sub or rest.endswith("."):
        raise ScimError.invalid_path(f"invalid path {path!r}")
    if extension is not None:
        return Target(extension, name, sub or None, False, False)
    attribute = resource_type.attribute(name)
    if attribute is None:
        raise ScimError.invalid_path(f"unknown attribute {name!r} in path {path!r}")
    if attribute.mutability is Mutability.READ_ONLY or attribute.name == "schemas":
        raise ScimError.mutability(f"attribute {attribute.name!r} is read-only")
    return Target(None, attribute.name, sub or None, attribute.multi_valued, attribute.complex)


def apply_patch(
    resource_type: ResourceType, attributes: JsonObject, operations: list[Operation]
) -> JsonObject:
    """Returns new attributes; `attributes` is left untouched, so a failure writes nothing."""
    result = copy.deepcopy(attributes)
    for operation in operations:
        if operation.path is None:
            _apply_without_path(resource_type, result, operation)
        else:
            _apply(result, resolve_target(resource_type, operation.path), operation)
    sync_schemas(resource_type, result)
    require_attributes(resource_type, result)
    return result


def _apply_without_path(resource_type: ResourceType, attrs: JsonObject, op: Operation) -> None:
    if op.op == "remove":
        raise ScimError.no_target("a PATCH remove operation needs a 'path'")
    if not isinstance(op.value, dict):
        raise ScimError.invalid_syntax(f"a PATCH {op.op} without 'path' needs an object value")
    for key, value in op.value.items():
        # Keys may be attribute paths themselves (`name.givenName`, URN-qualified names).
        target = resolve_target(resource_type, key)
        _apply(attrs, target, Operation(op.op, key, value))


def _container(attrs: JsonObject, target: Target, create: bool) -> JsonObject | None:
    if target.extension is None:
        return attrs
    found = attrs.get(target.extension)
    if not isinstance(found, dict):
        if not create:
            return None
        found = attrs[target.extension] = {}
    return found


def _key(container: JsonObject, name: str) -> str:
    lower = name.lower()
    return next((k for k in container if k.lower() == lower), name)


def _apply(attrs: JsonObject, target: Target, op: Operation) -> None:
    container = _container(attrs, target, create=op.op != "remove")
    if container is None:
        return
    if target.attribute is None:  # the whole extension object
        _merge_or_remove(attrs, target.extension or "", op)
        return
    key = _key(container, target.attribute)
    if target.sub is not None and target.extension is None and not target.complex:
        raise ScimError.invalid_path(f"attribute {key!r} has no sub-attributes")
    if target.sub is not None:
        _apply_sub(container, key, target.sub, op)
    elif op.op == "remove":
        _remove(container, key, op.value, target.multi_valued)
    elif target.multi_valued:
        values = op.value if isinstance(op.value, list) else [op.value]
        existing = container.get(key) if op.op == "add" else None
        current = list(existing) if isinstance(existing, list) else []
        container[key] = current + [v for v in values if v not in current]
    else:
        _merge_or_remove(container, key, op) if target.complex else _set(container, key, op.value)


def _set(container: JsonObject, key: str, value: Any) -> None:
    if value is None:
        container.pop(key, None)
    else:
        container[key] = value


def _merge_or_remove(container: JsonObject, key: str, op: Operation) -> None:
    if op.op == "remove":
        container.pop(key, None)
        return
    if not isinstance(op.value, dict):
        raise ScimError.invalid_value(f"attribute {key!r} is complex: its value must be an object")
    current = container.get(key)
    merged = dict(current) if isinstance(current, dict) else {}
    for sub, value in op.value.items():
        _set(merged, _key(merged, sub), value)
    container[key] = merged


def _apply_sub(container: JsonObject, key: str, sub: str, op: Operation) -> None:
    current = container.get(key)
    if isinstance(current, list):
        raise ScimError.invalid_path(
            f"{key}.{sub} addresses every value of a multi-valued attribute; "
            "name one with a value filter"
        )
    if op.op == "remove":
        if isinstance(current, dict):
            current.pop(_key(current, sub), None)
        return
    parent: JsonObject = current if isinstance(current, dict) else {}
    _set(parent, _key(parent, sub), op.value)
    container[key] = parent


def _remove(container: JsonObject, key: str, value: Any, multi_valued: bool) -> None:
    current = container.get(key)
    if multi_valued and isinstance(value, list) and isinstance(current, list):
        # Entra ID removes chosen members as {"op":"Remove","path":"members","value":[...]}.
        doomed = {v.get("value") for v in value if isinstance(v, dict)}
        kept = [v for v in current if not (isinstance(v, dict) and v.get("value") in doomed)]
        container[key] = kept
        if not kept:
            container.pop(key)
        return
    container.pop(key, None)
