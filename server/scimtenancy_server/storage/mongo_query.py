"""Translates a SCIM filter into a MongoDB query with the semantics of domain/filter_eval.py.

User values reach regexes only through `re.escape`. Case-insensitive lookups of userName and
displayName use the lower-cased shadow fields, so an index serves them.
"""

from __future__ import annotations

import re
from typing import Any

from scimtenancy_server.domain.attribute_paths import ResolvedPath, resolve_path, resolve_sub_path
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import (
    And,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    Scalar,
    ValuePath,
)
from scimtenancy_server.domain.filter_eval import comparator, parse_datetime
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.storage.mongo_codec import escape_key, shadow_field

Query = dict[str, Any]
_NEVER: Query = {"_id": {"$exists": False}}
_META_FIELDS = {"created": "created", "lastModified": "last_modified"}
_ORDERING = {"gt": "$gt", "ge": "$gte", "lt": "$lt", "le": "$lte"}
_PATTERNS = {"eq": "^{}$", "co": "{}", "sw": "^{}", "ew": "{}$"}


def to_query(resource_type: ResourceType, expression: Filter) -> Query:
    def leaf(node: Compare | Present | ValuePath) -> Query:
        if isinstance(node, ValuePath):
            parent = resolve_path(resource_type, node.path, whole_values=True)
            inner = _logical(node.filter, lambda n: _leaf_query(_sub(parent, n), n, relative=True))
            return {_field(parent): {"$elemMatch": inner}}
        path = resolve_path(resource_type, node.path)
        if path.is_meta and path.sub == "resourceType":
            assert isinstance(node, Compare)
            return {} if _static(path, node, resource_type.name) else _NEVER
        return _leaf_query(path, node, relative=False)

    return _logical(expression, leaf)


def _logical(expression: Filter, leaf: Any) -> Query:
    if isinstance(expression, And):
        return {"$and": [_logical(expression.left, leaf), _logical(expression.right, leaf)]}
    if isinstance(expression, Or):
        return {"$or": [_logical(expression.left, leaf), _logical(expression.right, leaf)]}
    if isinstance(expression, Not):
        return {"$nor": [_logical(expression.inner, leaf)]}
    result: Query = leaf(expression)
    return result


def _sub(parent: ResolvedPath, node: Compare | Present | ValuePath) -> ResolvedPath:
    if isinstance(node, ValuePath):
        raise ScimError.invalid_filter("value filters cannot be nested")
    return resolve_sub_path(parent, node.path)


def _static(path: ResolvedPath, node: Compare, actual: str) -> bool:
    if node.op == "ne":
        return not comparator(path, "eq", node.value)(actual)
    return comparator(path, node.op, node.value)(actual)


def _field(path: ResolvedPath, relative: bool = False) -> str:
    if relative:
        return escape_key(path.sub or "")
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


def _leaf_query(path: ResolvedPath, node: Compare | Present, relative: bool) -> Query:
    field = _field(path, relative)
    if isinstance(node, Present):
        return _present(field)
    if node.value is None:
        comparator(path, node.op, "")  # same refusals as the evaluator
        present = _present(field)
        return present if node.op == "ne" else {"$nor": [present]}
    if node.op == "ne":
        return {"$nor": [_compare(path, field, "eq", node.value, relative)]}
    return _compare(path, field, node.op, node.value, relative)


def _compare(path: ResolvedPath, field: str, op: str, value: Scalar, relative: bool) -> Query:
    comparator(path, op, value)  # raises invalidFilter exactly where evaluation would
    if path.is_meta:
        return {field: {"$eq" if op == "eq" else _ORDERING[op]: parse_datetime(value)}}
    if isinstance(value, str) and not path.case_exact:
        if path.lookup and not relative and op in ("eq", *_ORDERING):
            shadow = shadow_field(path.attribute)
            lowered = value.lower()
            return {shadow: lowered} if op == "eq" else {shadow: {_ORDERING[op]: lowered}}
        return {field: {"$regex": _PATTERNS[op].format(re.escape(value)), "$options": "i"}}
    if op in _PATTERNS and op != "eq":
        return {field: {"$regex": _PATTERNS[op].format(re.escape(str(value)))}}
    if op == "eq":
        return {field: value}
    return {field: {_ORDERING[op]: value}}
