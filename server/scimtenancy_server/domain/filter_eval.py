"""Evaluates a filter against one resource in memory.

This is the reference semantics: the MongoDB translation (storage/mongo_query.py) must give
the same answers, which the storage contract tests check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from scimtenancy_server.domain.attribute_paths import ResolvedPath, resolve_path, resolve_sub_path
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    Scalar,
    ValuePath,
)
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType, Returned


def parse_datetime(value: Scalar) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    raise ScimError.invalid_filter(f"{value!r} is not an ISO 8601 date-time with a time zone")


def get_case_insensitive(container: dict[str, Any], key: str) -> Any:
    if key in container:
        return container[key]
    lower = key.lower()
    return next((v for k, v in container.items() if k.lower() == lower), None)


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        yield from value
    elif value is not None:
        yield value


def candidates(resource: StoredResource, path: ResolvedPath) -> list[Any]:
    """The values a path selects in a resource, flattened over multi-valued attributes."""
    if path.is_meta:
        meta = {
            "created": resource.created,
            "lastModified": resource.last_modified,
            "resourceType": resource.resource_type,
        }
        return [meta[path.sub or ""]]
    container: Any = resource.attributes
    if path.extension is not None:
        container = resource.attributes.get(path.extension)
        if not isinstance(container, dict):
            return []
    if path.extension is None and path.attribute == "id":
        value: Any = resource.id
    else:
        value = get_case_insensitive(container, path.attribute)
    if path.sub is None:
        return list(_flatten(value))
    return [
        sub
        for item in _flatten(value)
        if isinstance(item, dict)
        for sub in _flatten(get_case_insensitive(item, path.sub))
    ]


def _same_kind(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    numbers = (int, float)
    both_numbers = isinstance(left, numbers) and isinstance(right, numbers)
    return both_numbers or type(left) is type(right)


def comparator(path: ResolvedPath, op: str, expected: Scalar) -> Callable[[Any], bool]:
    """A predicate over one attribute value, shared by every evaluation of a `Compare`."""
    expected_value: Any = expected
    if path.is_meta and path.sub != "resourceType":
        expected_value = parse_datetime(expected)
    fold = (lambda v: v.lower() if isinstance(v, str) else v) if not path.case_exact else None
    if isinstance(expected_value, str) and fold:
        expected_value = fold(expected_value)
    if op in ("co", "sw", "ew") and not isinstance(expected, str):
        raise ScimError.invalid_filter(f"operator {op!r} needs a string value")
    ordering = op in ("gt", "ge", "lt", "le")
    if isinstance(expected, bool) and ordering:
        raise ScimError.invalid_filter(f"operator {op!r} cannot compare booleans")
    if isinstance(expected, str) and ordering and fold and not path.lookup:
        # Case-insensitive ordering needs a lower-cased copy of the attribute (see schema.lookup).
        raise ScimError.invalid_filter(
            f"operator {op!r} is supported on case-insensitive strings only for "
            "userName, displayName and emails.value"
        )

    def matches(actual: Any) -> bool:
        if fold:
            actual = fold(actual)
        if not _same_kind(actual, expected_value):
            return False
        if op == "eq":
            return bool(actual == expected_value)
        if op in ("co", "sw", "ew"):
            text = str(expected_value)
            return (
                text in actual
                if op == "co"
                else actual.startswith(text)
                if op == "sw"
                else actual.endswith(text)
            )
        return bool(
            actual > expected_value
            if op == "gt"
            else actual >= expected_value
            if op == "ge"
            else actual < expected_value
            if op == "lt"
            else actual <= expected_value
        )

    return matches


def _present(candidates: list[Any]) -> bool:
    return any(c not in (None, "", [], {}) for c in candidates)


def compare_candidates(path: ResolvedPath, op: str, value: Scalar, values: list[Any]) -> bool:
    if value is None:
        if op not in ("eq", "ne"):
            raise ScimError.invalid_filter(f"operator {op!r} cannot compare with null")
        return _present(values) == (op == "ne")
    if op == "ne":
        return not compare_candidates(path, "eq", value, values)
    check = comparator(path, op, value)
    return any(check(c) for c in values)


Leaf = Compare | Present | ValuePath


def evaluate(expression: Filter, leaf: Callable[[Leaf], bool]) -> bool:
    """Walks the logical operators and asks `leaf` about each attribute expression."""
    if isinstance(expression, And):
        return evaluate(expression.left, leaf) and evaluate(expression.right, leaf)
    if isinstance(expression, Or):
        return evaluate(expression.left, leaf) or evaluate(expression.right, leaf)
    if isinstance(expression, Not):
        return not evaluate(expression.inner, leaf)
    return leaf(expression)


def matches(resource_type: ResourceType, resource: StoredResource, expression: Filter) -> bool:
    def leaf(node: Leaf) -> bool:
        if isinstance(node, ValuePath):
            parent = resolve_path(resource_type, node.path, whole_values=True)
            values = [v for v in candidates(resource, parent) if isinstance(v, dict)]
            return any(evaluate(node.filter, _value_leaf(resource_type, parent, v)) for v in values)
        path = resolve_path(resource_type, node.path)
        found = candidates(resource, path)
        if isinstance(node, Present):
            return _present(found)
        return compare_candidates(path, node.op, node.value, found)

    return evaluate(expression, leaf)


def _value_leaf(
    resource_type: ResourceType, parent: ResolvedPath, value: dict[str, Any]
) -> Callable[[Leaf], bool]:
    def leaf(node: Leaf) -> bool:
        if isinstance(node, ValuePath):
            raise ScimError.invalid_filter("value filters cannot be nested")
        path = resolve_sub_path(resource_type, parent, node.path)
        found = list(_flatten(get_case_insensitive(value, path.sub or "")))
        if isinstance(node, Present):
            return _present(found)
        return compare_candidates(path, node.op, node.value, found)

    return leaf


def value_matches(
    resource_type: ResourceType, parent: AttrPath, value: dict[str, Any], expression: Filter
) -> bool:
    """Whether one value of a multi-valued attribute matches a value filter (PATCH paths)."""
    resolved = resolve_path(resource_type, parent, whole_values=True)
    return evaluate(expression, _value_leaf(resource_type, resolved, value))


def leaves(expression: Filter) -> Iterator[Leaf]:
    if isinstance(expression, And | Or):
        yield from leaves(expression.left)
        yield from leaves(expression.right)
    elif isinstance(expression, Not):
        yield from leaves(expression.inner)
    else:
        yield expression


def check_filter(resource_type: ResourceType, expression: Filter) -> None:
    """Raises invalidFilter for any path or comparison that evaluation would refuse, so that
    a bad filter is refused even when no resource exists to evaluate it against."""
    for node in leaves(expression):
        if isinstance(node, ValuePath):
            parent = resolve_path(resource_type, node.path, whole_values=True)
            check = _value_leaf(resource_type, parent, {})
            for inner in leaves(node.filter):
                check(inner)
        else:
            matches(resource_type, _EMPTY, node)


_EMPTY = StoredResource(
    "", "", 0, datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC), {}
)


def refuse_sensitive(resource_type: ResourceType, expression: Filter) -> None:
    """RFC 7644 §7.5.2: a filter in a request URI must not carry secrets such as a password;
    such a query must use POST /.search."""
    for node in leaves(expression):
        path = node.path
        schema = resource_type.schema_of(path.schema) if path.schema else resource_type.schema
        attribute = (
            resource_type.attribute(path.attribute)
            if schema is resource_type.schema
            else (schema.attribute(path.attribute) if schema else None)
        )
        if attribute is not None and attribute.returned is Returned.NEVER:
            raise ScimError(
                403,
                f"{attribute.name} must not appear in a request URI; use POST /.search",
                "sensitive",
            )
