"""Filters compiled once per request (RFC 7644 §3.4.2.2): every path resolved and every
comparator built before the first resource, with the answers of the reference evaluator
`filter_eval.matches`, which tests/unit/test_filter_compile.py checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from scimtenancy_server.domain.attribute_paths import ResolvedPath, resolve_path, resolve_sub_path
from scimtenancy_server.domain.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    run_operands,
)
from scimtenancy_server.domain.filter_eval import (
    AnyEqual,
    CompiledLeaf,
    Predicate,
    folding,
    leaf_test,
    nested_value_filter,
    selector,
    sub_values,
)
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType

T = TypeVar("T")


def compile_filter(resource_type: ResourceType, expression: Filter) -> Predicate[StoredResource]:
    """`matches` prepared once per request: every path resolved and every comparator built
    before the first resource, runs of `and` / `or` flattened, string equalities on one path
    within an `or` run tested with one set lookup, and each path's values selected (and
    folded) once per resource for all its terms. Raises invalidFilter wherever evaluation
    could."""
    values = _Values()

    def leaf(node: CompiledLeaf) -> Predicate[StoredResource]:
        if isinstance(node, ValuePath):
            parent = resolve_path(resource_type, node.path, whole_values=True)
            items = values.raw(parent)
            inner = _compile(node.filter, _sub_leaf(resource_type, parent))
            return lambda resource: any(inner(v) for v in items(resource) if isinstance(v, dict))
        path = resolve_path(resource_type, node.path)
        test, fold = leaf_test(path, node), folding(path)
        if fold is None or isinstance(node, Present):
            raw = values.raw(path)
            return lambda resource: test(raw(resource))
        # The same test on values folded once: expected values folded, compared exactly.
        test = leaf_test(replace(path, case_exact=True), _folded_leaf(node, fold))
        folded = values.folded(path, fold)
        return lambda resource: test(folded(resource))

    return _compile(expression, leaf)


class _Values:
    """Each path's values in the resource being checked, computed once for all its terms (a
    scan asks every term about one resource before it goes on to the next)."""

    def __init__(self) -> None:
        self._raw: dict[ResolvedPath, Callable[[StoredResource], list[Any]]] = {}
        self._folded: dict[ResolvedPath, Callable[[StoredResource], list[Any]]] = {}

    def raw(self, path: ResolvedPath) -> Callable[[StoredResource], list[Any]]:
        if path not in self._raw:
            self._raw[path] = _last_remembered(selector(path))
        return self._raw[path]

    def folded(
        self, path: ResolvedPath, fold: Callable[[str], str]
    ) -> Callable[[StoredResource], list[Any]]:
        if path not in self._folded:
            raw = self.raw(path)
            self._folded[path] = _last_remembered(
                lambda resource: [fold(v) if isinstance(v, str) else v for v in raw(resource)]
            )
        return self._folded[path]


def _last_remembered(
    select: Callable[[StoredResource], list[Any]],
) -> Callable[[StoredResource], list[Any]]:
    last: tuple[StoredResource | None, list[Any]] = (None, [])

    def values(resource: StoredResource) -> list[Any]:
        nonlocal last
        if last[0] is not resource:
            last = (resource, select(resource))
        return last[1]

    return values


def _folded_leaf(node: Compare | AnyEqual, fold: Callable[[str], str]) -> Compare | AnyEqual:
    if isinstance(node, AnyEqual):
        return AnyEqual(node.path, tuple(map(fold, node.values)))
    value = fold(node.value) if isinstance(node.value, str) else node.value
    return Compare(node.path, node.op, value)


def _sub_leaf(
    resource_type: ResourceType, parent: ResolvedPath
) -> Callable[[CompiledLeaf], Predicate[dict[str, Any]]]:
    def leaf(node: CompiledLeaf) -> Predicate[dict[str, Any]]:
        if isinstance(node, ValuePath):
            raise nested_value_filter()
        path = resolve_sub_path(resource_type, parent, node.path)
        test = leaf_test(path, node)
        return lambda value: test(sub_values(value, path))

    return leaf


def _compile(expression: Filter, leaf: Callable[[CompiledLeaf], Predicate[T]]) -> Predicate[T]:
    if isinstance(expression, Not):
        inner = _compile(expression.inner, leaf)
        return lambda item: not inner(item)
    if isinstance(expression, And):
        every = [_compile(operand, leaf) for operand in run_operands(expression)]
        return lambda item: all(part(item) for part in every)
    if isinstance(expression, Or):
        some = [
            leaf(operand) if isinstance(operand, AnyEqual) else _compile(operand, leaf)
            for operand in _grouped(run_operands(expression))
        ]
        return lambda item: any(part(item) for part in some)
    return leaf(expression)


def _string_equality(node: Filter) -> tuple[AttrPath, str] | None:
    if isinstance(node, Compare) and node.op == "eq" and isinstance(node.value, str):
        return node.path, node.value
    return None


def _grouped(operands: list[Filter]) -> list[Filter | AnyEqual]:
    """An `or` run's operands, its string equalities on one path merged at the first one."""
    groups: dict[AttrPath, list[str]] = {}
    for node in operands:
        if (equality := _string_equality(node)) is not None:
            groups.setdefault(equality[0], []).append(equality[1])
    merged: list[Filter | AnyEqual] = []
    for node in operands:
        equality = _string_equality(node)
        if equality is None:
            merged.append(node)
        elif (values := groups.pop(equality[0], None)) is not None:
            merged.append(node if len(values) == 1 else AnyEqual(equality[0], tuple(values)))
    return merged


def compile_value_filter(
    resource_type: ResourceType, parent: AttrPath, expression: Filter
) -> Predicate[dict[str, Any]]:
    """`filter_eval.value_matches` prepared once: whether one value of a multi-valued
    attribute matches a value filter (PATCH paths such as `emails[type eq "work"]`)."""
    resolved = resolve_path(resource_type, parent, whole_values=True)
    return _compile(expression, _sub_leaf(resource_type, resolved))


def check_filter(resource_type: ResourceType, expression: Filter) -> None:
    """Raises invalidFilter for any path or comparison that evaluation would refuse, so that
    a bad filter is refused even when no resource exists to evaluate it against."""
    compile_filter(resource_type, expression)
