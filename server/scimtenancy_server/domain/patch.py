"""PATCH (RFC 7644 §3.5.2): parsing a PatchOp message and applying it to attributes.

Operations apply to a copy of the stored attributes; the result is validated as a whole
(`canonical_attributes`), so a failing operation writes nothing. Operations on a Group's
`members` edit a `MembershipChange` instead (domain/membership.py): members are not in the
group's attributes, and a change costs what it names, not what the group holds.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import And, AttrPath, Compare, Filter, parse_filter
from scimtenancy_server.domain.filter_compile import compile_value_filter
from scimtenancy_server.domain.filter_eval import get_case_insensitive
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.membership import MembershipChange
from scimtenancy_server.domain.resource import message_operations
from scimtenancy_server.domain.schema import Attribute, Mutability, ResourceType, Schema
from scimtenancy_server.domain.tenant import Compatibility
from scimtenancy_server.domain.validation import (
    JsonObject,
    canonical,
    canonical_attributes,
    value_limits,
)

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


@dataclass(frozen=True, slots=True)
class _Rules:
    """What an operation is read against: the resource type, the input limits and the
    tenant's compatibility profile."""

    rt: ResourceType
    limits: InputLimits
    compatibility: Compatibility


def _value_target(rules: _Rules, key: str) -> Target | None:
    """Where a key of a PATCH value lands; None for an unknown name the lenient profile
    ignores (an explicit `path` naming one is refused under every profile)."""
    try:
        return resolve_target(rules.rt, key, rules.limits)
    except UnknownPath:
        if rules.compatibility is Compatibility.STRICT:
            raise
        return None


class PatchRun:
    """Operations applied one at a time to a copy of the attributes, so that a caller can let
    other work run in between; `result` validates the outcome once, as a whole."""

    def __init__(
        self,
        rt: ResourceType,
        attributes: JsonObject,
        limits: InputLimits = DEFAULT_LIMITS,
        compatibility: Compatibility = Compatibility.STRICT,
    ) -> None:
        self._rules = _Rules(rt, limits, compatibility)
        self._before = attributes
        self._after = copy.deepcopy(attributes)
        self.members = MembershipChange()

    def apply(self, operation: Operation) -> None:
        rules = self._rules
        if operation.path is None:
            _apply_without_path(rules, self._after, operation, self.members)
        else:
            target = resolve_target(rules.rt, operation.path, rules.limits)
            _apply(rules, self._after, target, operation, self.members)

    def result(self) -> JsonObject:
        """The new canonical attributes; the attributes it started from are left untouched."""
        rules = self._rules
        return canonical_attributes(
            rules.rt, self._after, self._before, rules.limits, rules.compatibility
        )


def check_patch(
    rt: ResourceType,
    operations: list[Operation],
    limits: InputLimits = DEFAULT_LIMITS,
    compatibility: Compatibility = Compatibility.STRICT,
) -> None:
    """Raises the error an operation has whatever resource it applies to (an unknown or
    read-only path, a value of the wrong type): applied to a resource with no attributes, where
    only "no value matches" (noTarget) depends on what the resource holds. Run before the
    target is looked up, so that an invalid request is 400 even for an id that does not exist."""
    run = PatchRun(rt, {"schemas": [rt.schema.id]}, limits, compatibility)
    for operation in operations:
        try:
            run.apply(operation)
        except ScimError as error:
            if error.scim_type != "noTarget":
                raise


def apply_patch(
    rt: ResourceType,
    attributes: JsonObject,
    operations: list[Operation],
    limits: InputLimits = DEFAULT_LIMITS,
    compatibility: Compatibility = Compatibility.STRICT,
) -> JsonObject:
    """Returns new canonical attributes; `attributes` is left untouched."""
    run = PatchRun(rt, attributes, limits, compatibility)
    for operation in operations:
        run.apply(operation)
    return run.result()


def _apply_without_path(
    rules: _Rules, attrs: JsonObject, op: Operation, members: MembershipChange
) -> None:
    if op.op == "remove":
        raise ScimError.no_target("a PATCH remove operation needs a 'path'")
    if not isinstance(op.value, dict):
        raise ScimError.invalid_syntax(f"a PATCH {op.op} without 'path' needs an object value")
    for key, value in op.value.items():
        if key == "schemas":
            continue
        attribute = rules.rt.attribute(key)
        if attribute is not None and attribute.mutability is Mutability.READ_ONLY:
            continue  # Okta's group rename repeats `id`: read-only values are ignored
        # Keys may be attribute paths themselves (`name.givenName`, URN-qualified names).
        target = _value_target(rules, key)
        if target is not None:
            _apply(rules, attrs, target, Operation(op.op, key, value), members)


def _container(attrs: JsonObject, target: Target, create: bool) -> JsonObject | None:
    if target.extension is None:
        return attrs
    found = attrs.get(target.extension)
    if not isinstance(found, dict):
        if not create:
            return None
        found = attrs[target.extension] = {}
    return found


def _apply(
    rules: _Rules, attrs: JsonObject, target: Target, op: Operation, members: MembershipChange
) -> None:
    rt, limits = rules.rt, rules.limits
    if is_membership(rt, target.attribute) and target.extension is None:
        _apply_members(rules, members, target, op)
        return
    container = _container(attrs, target, create=op.op != "remove")
    if container is None:
        return
    attribute = target.attribute
    if attribute is None:  # the whole extension object
        if op.op == "remove":
            attrs.pop(target.extension or "", None)
        elif isinstance(op.value, dict):
            for key, value in op.value.items():
                if key == "schemas":  # a whole-extension value may repeat its schema URI
                    continue
                sub_target = _value_target(rules, f"{target.schema.id}:{key}")
                if sub_target is not None:
                    _apply(rules, attrs, sub_target, Operation(op.op, key, value), members)
        else:
            raise ScimError.invalid_value(f"{target.extension} needs an object value")
        return
    where = attribute.name
    if target.value_filter is not None:
        _apply_filtered(rt, container, target, op, limits)
    elif target.sub is not None:
        _apply_sub(container, attribute, target.sub, op, limits)
    elif op.op == "remove":
        _remove(container, attribute, op.value)
    elif attribute.multi_valued:
        item_limits = value_limits(rt, attribute.name, limits)
        values = canonical(attribute, op.value, where, item_limits, rules.compatibility) or []
        current = container.get(attribute.name) if op.op == "add" else None
        kept = list(current) if isinstance(current, list) else []
        if any(isinstance(v, dict) and v.get("primary") is True for v in values):
            kept = [_not_primary(v) for v in kept]
        container[attribute.name] = kept + _not_held(attribute, kept, values)
    elif attribute.complex:
        value = canonical(attribute, op.value, where, limits, rules.compatibility)
        current = container.get(attribute.name)
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(value or {})
        container[attribute.name] = merged
    else:
        _set(container, attribute.name, canonical(attribute, op.value, where, limits))


def is_membership(rt: ResourceType, attribute: Attribute | None) -> bool:
    """Whether the attribute is a Group's `members`, kept apart from its attributes."""
    return rt.name == "Group" and attribute is not None and attribute.name == "members"


def member_values(rules: _Rules, attribute: Attribute, value: Any) -> list[JsonObject]:
    """Canonical member values, each naming its member by a string `value`."""
    limits = value_limits(rules.rt, attribute.name, rules.limits)
    values = canonical(attribute, value, attribute.name, limits, rules.compatibility)
    given = value if isinstance(value, list) else [value]
    if len(values or []) != len(given) or any(
        not isinstance(item.get("value"), str) for item in values or []
    ):
        raise ScimError.invalid_value("each member needs a string 'value', the member's id")
    return list(values or [])


def _apply_members(rules: _Rules, change: MembershipChange, target: Target, op: Operation) -> None:
    attribute = target.attribute
    assert attribute is not None
    if target.value_filter is not None and target.sub is None and op.op == "remove":
        change.remove_matching(target.value_filter)  # Okta: remove members[value eq "…"]
    elif target.value_filter is not None or target.sub is not None:
        raise ScimError.invalid_path(
            "a member's sub-attributes cannot be changed: add or remove the member instead"
        )
    elif op.op == "remove" and op.value is not None:
        # Entra ID removes chosen members as {"op":"Remove","path":"members","value":[...]}.
        change.remove(v["value"] for v in member_values(rules, attribute, op.value))
    elif op.op == "remove":
        change.replace_all([])
    elif op.op == "add":
        change.add(member_values(rules, attribute, op.value))
    else:
        change.replace_all(member_values(rules, attribute, op.value))


def _not_held(attribute: Attribute, kept: list[Any], values: list[Any]) -> list[Any]:
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


def _not_primary(value: Any) -> Any:
    if isinstance(value, dict) and value.get("primary") is True:
        return {**value, "primary": False}
    return value


def _set(container: JsonObject, key: str, value: Any) -> None:
    if value is None:
        container.pop(key, None)
    else:
        container[key] = value


def _apply_sub(
    container: JsonObject, attribute: Attribute, sub: Attribute, op: Operation, limits: InputLimits
) -> None:
    current = container.get(attribute.name)
    if attribute.multi_valued:
        if op.op != "remove":
            raise ScimError.invalid_path(
                f"{attribute.name}.{sub.name} addresses every value of a multi-valued "
                "attribute; name one with a value filter"
            )
        for item in current if isinstance(current, list) else []:
            item.pop(sub.name, None)
        return
    if op.op == "remove":
        if isinstance(current, dict):
            current.pop(sub.name, None)
        return
    parent: JsonObject = dict(current) if isinstance(current, dict) else {}
    _set(parent, sub.name, canonical(sub, op.value, f"{attribute.name}.{sub.name}", limits))
    container[attribute.name] = parent


def _remove(container: JsonObject, attribute: Attribute, value: Any) -> None:
    current = container.get(attribute.name)
    if attribute.multi_valued and isinstance(value, list) and isinstance(current, list):
        # Entra ID removes chosen members as {"op":"Remove","path":"members","value":[...]}.
        doomed = {v.get("value") for v in value if isinstance(v, dict)}
        current = [v for v in current if not (isinstance(v, dict) and v.get("value") in doomed)]
        _set(container, attribute.name, current or None)
        return
    container.pop(attribute.name, None)


def _apply_filtered(
    rt: ResourceType, container: JsonObject, target: Target, op: Operation, limits: InputLimits
) -> None:
    attribute, sub, value_filter = target.attribute, target.sub, target.value_filter
    assert attribute is not None
    assert value_filter is not None
    parent = AttrPath(target.extension, attribute.name)
    current = container.get(attribute.name)
    values: list[Any] = list(current) if isinstance(current, list) else []
    selects = compile_value_filter(rt, parent, value_filter)
    hits = [i for i, v in enumerate(values) if isinstance(v, dict) and selects(v)]
    if op.op == "remove":
        if sub is None:
            values = [v for i, v in enumerate(values) if i not in hits]
        else:
            for i in hits:
                values[i].pop(sub.name, None)
        _set(container, attribute.name, values or None)
        return
    merge = op.op == "add"
    if not hits:
        # Nothing matches: build the value the filter describes (Entra ID adds
        # `emails[type eq "work"].value` to users without emails this way).
        values.append(_value_from_filter(value_filter, target))
        hits, merge = [len(values) - 1], True
    for i in hits:
        if sub is not None:
            values[i] = {**values[i], sub.name: canonical(sub, op.value, sub.name, limits)}
            continue
        if not isinstance(op.value, dict):
            raise ScimError.invalid_value(f"{attribute.name}[...] needs an object value")
        values[i] = {**values[i], **op.value} if merge else op.value
    container[attribute.name] = values


def _value_from_filter(value_filter: Filter, target: Target) -> JsonObject:
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
