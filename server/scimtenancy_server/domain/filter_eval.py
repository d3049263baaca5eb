"""Evaluates a filter against resources in memory.

`matches` is the reference semantics: the MongoDB translation (storage/mongo_query.py) must
give the same answers, which the storage contract tests check. It resolves every path again
for every resource; `filter_compile.compile_filter` gives the same answers from paths resolved
and comparators built once per request, and is what storage uses for a scan.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

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
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.text_folding import fold_identity

T = TypeVar("T")
Leaf = Compare | Present | ValuePath
Predicate = Callable[[T], bool]
ValuesTest = Callable[[list[Any]], bool]


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


_META_FIELDS = {
    "created": operator.attrgetter("created"),
    "lastModified": operator.attrgetter("last_modified"),
    "resourceType": operator.attrgetter("resource_type"),
}


def _top_value(path: ResolvedPath) -> Callable[[StoredResource], Any]:
    attribute, extension = path.attribute, path.extension
    if extension is not None:

        def in_extension(resource: StoredResource) -> Any:
            container = resource.attributes.get(extension)
            if not isinstance(container, dict):
                return None
            return get_case_insensitive(container, attribute)

        return in_extension
    if attribute == "id":
        return operator.attrgetter("id")
    return lambda resource: get_case_insensitive(resource.attributes, attribute)


def selector(path: ResolvedPath) -> Callable[[StoredResource], list[Any]]:
    """The values a path selects in a resource, flattened over multi-valued attributes."""
    if path.is_meta:
        field = _META_FIELDS[path.sub or ""]
        return lambda resource: [field(resource)]
    top, sub = _top_value(path), path.sub
    if sub is None:
        return lambda resource: list(_flatten(top(resource)))
    return lambda resource: [
        found
        for item in _flatten(top(resource))
        if isinstance(item, dict)
        for found in _flatten(get_case_insensitive(item, sub))
    ]


def candidates(resource: StoredResource, path: ResolvedPath) -> list[Any]:
    return selector(path)(resource)


def _same_kind(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    numbers = (int, float)
    both_numbers = isinstance(left, numbers) and isinstance(right, numbers)
    return both_numbers or type(left) is type(right)


def _contains(actual: str, expected: str) -> bool:
    return expected in actual


@dataclass(frozen=True, slots=True)
class _Operator:
    """How one comparison operator tests an attribute value against the comparison value,
    and which comparison values it refuses."""

    test: Callable[[Any, Any], bool]
    substring: bool = False  # needs a string value; date-times cannot be compared this way
    ordering: bool = False  # no booleans; case-insensitive strings only where kept folded


# RFC 7644 §3.4.2.2. `ne` is `not eq` over all of an attribute's values and `pr` a test of
# presence, not comparisons of one value (see `values_test` and `leaf_test`).
_OPERATORS: dict[str, _Operator] = {
    "eq": _Operator(operator.eq),
    "co": _Operator(_contains, substring=True),
    "sw": _Operator(str.startswith, substring=True),
    "ew": _Operator(str.endswith, substring=True),
    "gt": _Operator(operator.gt, ordering=True),
    "ge": _Operator(operator.ge, ordering=True),
    "lt": _Operator(operator.lt, ordering=True),
    "le": _Operator(operator.le, ordering=True),
}


def folding(path: ResolvedPath) -> Callable[[str], str] | None:
    """How a path's strings compare: as they are (caseExact), lower-cased, or, for lookup
    attributes (kept folded in storage, see schema.lookup), by their identity fold."""
    if path.case_exact:
        return None
    return fold_identity if path.lookup else str.lower


def _refuse(path: ResolvedPath, op: str, expected: Scalar, case_folded: bool) -> None:
    rule = _OPERATORS[op]
    if rule.substring and not isinstance(expected, str):
        raise ScimError.invalid_filter(f"operator {op!r} needs a string value")
    if rule.substring and path.is_meta and path.sub != "resourceType":
        raise ScimError.invalid_filter(f"operator {op!r} cannot compare date-times")
    if isinstance(expected, bool) and rule.ordering:
        raise ScimError.invalid_filter(f"operator {op!r} cannot compare booleans")
    if isinstance(expected, str) and rule.ordering and case_folded and not path.lookup:
        # Case-insensitive ordering needs a folded copy of the attribute (see schema.lookup).
        raise ScimError.invalid_filter(
            f"operator {op!r} is supported on case-insensitive strings only for "
            "userName, displayName and emails.value"
        )


def comparator(path: ResolvedPath, op: str, expected: Scalar) -> Callable[[Any], bool]:
    """A predicate over one attribute value, shared by every evaluation of a `Compare`."""
    expected_value: Any = expected
    if path.is_meta and path.sub != "resourceType":
        expected_value = parse_datetime(expected)
    fold = folding(path)
    _refuse(path, op, expected, fold is not None)
    test = _OPERATORS[op].test
    if fold is None:
        return lambda actual: _same_kind(actual, expected_value) and test(actual, expected_value)
    if isinstance(expected_value, str):
        expected_value = fold(expected_value)

    def folded(actual: Any) -> bool:
        if isinstance(actual, str):
            actual = fold(actual)
        return _same_kind(actual, expected_value) and test(actual, expected_value)

    return folded


def _present(values: list[Any]) -> bool:
    return any(c not in (None, "", [], {}) for c in values)


def values_test(path: ResolvedPath, op: str, value: Scalar) -> ValuesTest:
    """Whether an attribute's values satisfy `op value`: some value does (a multi-valued
    attribute matches when one of its values does); `ne` is true when none is equal, and
    `eq null` / `ne null` test absence and presence."""
    if value is None:
        if op not in ("eq", "ne"):
            raise ScimError.invalid_filter(f"operator {op!r} cannot compare with null")
        wanted = op == "ne"
        return lambda values: _present(values) == wanted
    if op == "ne":
        equal = values_test(path, "eq", value)
        return lambda values: not equal(values)
    check = comparator(path, op, value)
    return lambda values: any(check(v) for v in values)


def compare_candidates(path: ResolvedPath, op: str, value: Scalar, values: list[Any]) -> bool:
    return values_test(path, op, value)(values)


def leaf_test(path: ResolvedPath, node: Compare | Present | AnyEqual) -> ValuesTest:
    if isinstance(node, Present):
        return _present
    if isinstance(node, AnyEqual):
        return any_equal(path, node.values)
    return values_test(path, node.op, node.value)


def sub_values(value: dict[str, Any], path: ResolvedPath) -> list[Any]:
    return list(_flatten(get_case_insensitive(value, path.sub or "")))


def nested_value_filter() -> ScimError:
    return ScimError.invalid_filter("value filters cannot be nested")


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
    """The reference evaluator: whether one resource matches, resolving as it goes."""

    def leaf(node: Leaf) -> bool:
        if isinstance(node, ValuePath):
            parent = resolve_path(resource_type, node.path, whole_values=True)
            values = [v for v in candidates(resource, parent) if isinstance(v, dict)]
            return any(evaluate(node.filter, _value_leaf(resource_type, parent, v)) for v in values)
        path = resolve_path(resource_type, node.path)
        return leaf_test(path, node)(candidates(resource, path))

    return evaluate(expression, leaf)


def _value_leaf(
    resource_type: ResourceType, parent: ResolvedPath, value: dict[str, Any]
) -> Callable[[Leaf], bool]:
    def leaf(node: Leaf) -> bool:
        if isinstance(node, ValuePath):
            raise nested_value_filter()
        path = resolve_sub_path(resource_type, parent, node.path)
        return leaf_test(path, node)(sub_values(value, path))

    return leaf


def value_matches(
    resource_type: ResourceType, parent: AttrPath, value: dict[str, Any], expression: Filter
) -> bool:
    """Whether one value of a multi-valued attribute matches a value filter (PATCH paths)."""
    resolved = resolve_path(resource_type, parent, whole_values=True)
    return evaluate(expression, _value_leaf(resource_type, resolved, value))


@dataclass(frozen=True, slots=True)
class AnyEqual:
    """`path eq "a" or path eq "b" or ...` within one `or` run, compiled as one test."""

    path: AttrPath
    values: tuple[str, ...]


CompiledLeaf = Leaf | AnyEqual


def any_equal(path: ResolvedPath, values: tuple[str, ...]) -> ValuesTest:
    """What `values_test(path, "eq", v)` for each of `values`, or-ed, answers."""
    if path.is_meta:  # date-times compare as parsed values
        tests = [values_test(path, "eq", value) for value in values]
        return lambda found: any(test(found) for test in tests)
    fold = folding(path)
    if fold is None:
        exact = frozenset(values)
        return lambda found: any(type(a) is str and a in exact for a in found)
    folded = frozenset(map(fold, values))
    return lambda found: any(isinstance(a, str) and fold(a) in folded for a in found)


def leaves(expression: Filter) -> Iterator[Leaf]:
    if isinstance(expression, And | Or):
        yield from leaves(expression.left)
        yield from leaves(expression.right)
    elif isinstance(expression, Not):
        yield from leaves(expression.inner)
    else:
        yield expression


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
        if attribute is not None and attribute.never_returned:
            raise ScimError(
                403,
                f"{attribute.name} must not appear in a request URI; use POST /.search",
                "sensitive",
            )
