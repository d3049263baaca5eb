"""Edits a PATCH operation makes to attribute values (RFC 7644 §3.5.2). Each returns or
stores a new value instead of changing one in place, so a value a `PatchPlan` keeps is never
changed by a run that used it.
"""

from __future__ import annotations

from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import And, Compare, Filter
from scimtenancy_server.domain.patch_paths import Target
from scimtenancy_server.domain.schema import Attribute
from scimtenancy_server.domain.validation import JsonObject


def not_held(attribute: Attribute, kept: list[Any], values: list[Any]) -> list[Any]:
    """The values not already among `kept`, in one pass over each. References (members) are
    the same value when they name the same resource, whatever else they carry."""
    if attribute.sub("$ref") is not None:
        seen = {v.get("value") for v in kept if isinstance(v, dict)}
        fresh = []
        for value in values:
            key = value.get("value") if isinstance(value, dict) else None
            if key is None or key not in seen:
                fresh.append(value)
                seen.add(key)
        return fresh
    return [v for v in values if v not in kept]


def not_primary(value: Any) -> Any:
    if isinstance(value, dict) and value.get("primary") is True:
        return {**value, "primary": False}
    return value


def without(value: Any, key: str) -> Any:
    """A value with one sub-attribute removed, as a new object (see `patch.PatchPlan`)."""
    if isinstance(value, dict) and key in value:
        return {k: v for k, v in value.items() if k != key}
    return value


def set_or_drop(container: JsonObject, key: str, value: Any) -> None:
    if value is None:
        container.pop(key, None)
    else:
        container[key] = value


def remove_attribute(container: JsonObject, attribute: Attribute, value: Any) -> None:
    current = container.get(attribute.name)
    if attribute.multi_valued and isinstance(value, list) and isinstance(current, list):
        # Entra ID removes chosen members as {"op":"Remove","path":"members","value":[...]}.
        doomed = {v.get("value") for v in value if isinstance(v, dict)}
        current = [v for v in current if not (isinstance(v, dict) and v.get("value") in doomed)]
        set_or_drop(container, attribute.name, current or None)
        return
    container.pop(attribute.name, None)


def value_from_filter(value_filter: Filter, target: Target) -> JsonObject:
    value: JsonObject = {}
    pending = [value_filter]
    while pending:
        node = pending.pop()
        if isinstance(node, And):
            pending += [node.left, node.right]
        elif isinstance(node, Compare) and node.op == "eq" and node.path.sub is None:
            value[node.path.attribute] = node.value
        else:
            raise ScimError.no_target(
                f"no value of {target.attribute.name if target.attribute else ''} matches the "
                "filter, and it does not describe a value to add"
            )
    return value
