r"""Translates a SCIM filter into a MongoDB query with the semantics of domain/filter_eval.py.

User values reach regexes only through `re.escape`, anchored with `\z` (PCRE's `$` would
also match before a final newline). Every string comparison of a lookup attribute (userName,
displayName, emails.value) runs on its shadow field, which holds the identity fold
(domain/text_folding.py), against the folded value: an index serves `eq` and ordering, and
`co` / `sw` / `ew` agree with the evaluator's fold, which no `$regex` option can express.
Other case-insensitive strings use `$regex` with option `i` and the evaluator lower-cases
them, which agree. Runs of `and` / `or` become one `$and` / `$or` (MongoDB refuses queries
nested past 100 levels).

Value filters (`emails[type eq "work"]`) need `$elemMatch` on sub-documents, which FerretDB
1.24 does not implement. The adapter queries with the filter relaxed (`domain.filter.relax`)
and checks each candidate with the reference evaluator. Every other filter is translated
whole by `to_query`.
"""

from __future__ import annotations

import re
from typing import Any

from scimtenancy_server.domain.attribute_paths import ResolvedPath, resolve_path
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
    run_operands,
)
from scimtenancy_server.domain.filter_eval import comparator, parse_datetime, values_test
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.sorting import Sort
from scimtenancy_server.domain.text_folding import fold_identity
from scimtenancy_server.storage.mongo_codec import escape_key, shadow_field

Query = dict[str, Any]
_NEVER: Query = {"_id": {"$exists": False}}
_META_FIELDS = {"created": "created", "lastModified": "last_modified"}
_ORDERING = {"gt": "$gt", "ge": "$gte", "lt": "$lt", "le": "$lte"}
_PATTERNS = {"eq": r"^{}\z", "co": "{}", "sw": "^{}", "ew": r"{}\z"}


def to_query(resource_type: ResourceType, expression: Filter) -> Query:
    """The query for a filter without value filters (see `relax`)."""

    def leaf(node: Compare | Present | ValuePath) -> Query:
        if isinstance(node, ValuePath):
            raise ValueError("value filters are evaluated after `relax`, not translated")
        path = resolve_path(resource_type, node.path)
        if path.is_meta and path.sub == "resourceType":
            assert isinstance(node, Compare)
            return {} if _static(path, node, resource_type.name) else _NEVER
        return _leaf_query(path, node)

    return _logical(expression, leaf)


def _logical(expression: Filter, leaf: Any) -> Query:
    if isinstance(expression, Or):
        operands = run_operands(expression)
        ids = [o.value for o in operands if isinstance(o, Compare) and _is_id_equality(o)]
        # Id sets (a member filter, answered from the membership index) as one `$in`.
        rest = [_logical(o, leaf) for o in operands if not _is_id_equality(o)]
        terms = [{"id": {"$in": ids}}, *rest] if len(ids) > 1 else None
        if terms is not None:
            return terms[0] if len(terms) == 1 else {"$or": terms}
    if isinstance(expression, And | Or):
        name = "$and" if isinstance(expression, And) else "$or"
        return {name: [_logical(operand, leaf) for operand in run_operands(expression)]}
    if isinstance(expression, Not):
        return {"$nor": [_logical(expression.inner, leaf)]}
    result: Query = leaf(expression)
    return result


def _is_id_equality(node: Filter) -> bool:
    return (
        isinstance(node, Compare)
        and node.op == "eq"
        and node.path == AttrPath(None, "id")
        and isinstance(node.value, str)
    )


def _static(path: ResolvedPath, node: Compare, actual: str) -> bool:
    if node.op == "ne":
        return not comparator(path, "eq", node.value)(actual)
    return comparator(path, node.op, node.value)(actual)


def _field(path: ResolvedPath) -> str:
    if path.is_meta:
        return _META_FIELDS[path.sub or ""]
    if path.extension is None and path.attribute == "id":
        return "id"
    parts = ["data"]
    if path.extension is not None:
        parts.append(escape_key(path.extension))
    parts.append(escape_key(path.attribute))
    if path.sub is not None:
        parts.append(escape_key(path.sub))
    return ".".join(parts)


def _present(field: str) -> Query:
    return {field: {"$exists": True, "$nin": [None, "", [], {}]}}


def _leaf_query(path: ResolvedPath, node: Compare | Present) -> Query:
    field = _field(path)
    if isinstance(node, Present):
        return _present(field)
    if node.value is None:
        values_test(path, node.op, None)  # same refusals as the evaluator
        present = _present(field)
        return present if node.op == "ne" else {"$nor": [present]}
    if node.op == "ne":
        return {"$nor": [_compare(path, field, "eq", node.value)]}
    return _compare(path, field, node.op, node.value)


def _compare(path: ResolvedPath, field: str, op: str, value: Scalar) -> Query:
    comparator(path, op, value)  # raises invalidFilter exactly where evaluation would
    if path.is_meta:
        return {field: {"$eq" if op == "eq" else _ORDERING[op]: parse_datetime(value)}}
    if isinstance(value, str) and not path.case_exact:
        if path.lookup:
            return _shadow_compare(shadow_field(path.lookup_key), op, fold_identity(value))
        return {field: {"$regex": _PATTERNS[op].format(re.escape(value)), "$options": "i"}}
    if op in _PATTERNS and op != "eq":
        return {field: {"$regex": _PATTERNS[op].format(re.escape(str(value)))}}
    if op == "eq":
        return {field: value}
    return {field: {_ORDERING[op]: value}}


def _shadow_compare(shadow: str, op: str, folded: str) -> Query:
    if op == "eq":
        return {shadow: folded}
    if op in _ORDERING:
        return {shadow: {_ORDERING[op]: folded}}
    return {shadow: {"$regex": _PATTERNS[op].format(re.escape(folded))}}


def sort_spec(sort: Sort | None) -> list[tuple[str, int]]:
    """The MongoDB sort for `sort`, ties broken by `_id` (ascending, like the evaluator)."""
    if sort is None:
        return [("_id", 1)]
    path = sort.path
    field = shadow_field(path.lookup_key) if path.lookup else _field(path)
    return [(field, -1 if sort.descending else 1), ("_id", 1)]
