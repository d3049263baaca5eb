"""PATCH (RFC 7644 §3.5.2): parsing a PatchOp message and applying it to attributes.

Operations apply to a copy of the stored attributes; the result is validated as a whole
(`canonical_attributes`), so a failing operation writes nothing. Operations on a Group's
`members` edit a `MembershipChange` instead (domain/membership.py): members are not in the
group's attributes, and a change costs what it names, not what the group holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


class PatchPlan:
    """What a PATCH's paths and values come to under one resource type, set of limits and
    compatibility profile, worked out once per request and shared by every run of it: the
    check before the resource is read, the run on the resource, and that run's retries.

    Resolved paths are kept by path; canonical values by the identity of the value an
    operation carries (the plan holds the value, so the identity stays its own). Both are
    pure results of their inputs; errors are not kept, so every run raises an error where it
    meets it, as if nothing had been worked out before. Runs never change a value in place
    (they replace it), so a kept value is never changed by a run that used it."""

    def __init__(
        self,
        rt: ResourceType,
        limits: InputLimits = DEFAULT_LIMITS,
        compatibility: Compatibility = Compatibility.STRICT,
    ) -> None:
        self.rt, self.limits, self.compatibility = rt, limits, compatibility
        self._targets: dict[str, Target] = {}
        self._values: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._selectors: dict[int, Callable[[JsonObject], bool]] = {}
        self._item_limits: dict[str, InputLimits] = {}

    def run(self, attributes: JsonObject) -> PatchRun:
        return PatchRun(self.rt, attributes, self.limits, self.compatibility, plan=self)

    def target(self, path: str) -> Target:
        found = self._targets.get(path)
        if found is None:
            found = self._targets[path] = resolve_target(self.rt, path, self.limits)
        return found

    def value_target(self, key: str) -> Target | None:
        """Where a key of a PATCH value lands; None for an unknown name the lenient profile
        ignores (an explicit `path` naming one is refused under every profile)."""
        try:
            return self.target(key)
        except UnknownPath:
            if self.compatibility is Compatibility.STRICT:
                raise
            return None

    def canonical(self, attribute: Attribute, value: Any, where: str) -> Any:
        """`validation.canonical` of a value an operation carries, computed once."""
        key = (id(attribute), id(value))
        kept = self._values.get(key)
        if kept is not None and kept[0] is value:
            return kept[1]
        limits = self._item_limits.get(attribute.name)
        if limits is None:
            limits = self._item_limits[attribute.name] = value_limits(
                self.rt, attribute.name, self.limits
            )
        result = canonical(attribute, value, where, limits, self.compatibility)
        self._values[key] = (value, result)
        return result

    def selector(self, target: Target) -> Callable[[JsonObject], bool]:
        """Whether a value of the target's attribute matches the target's value filter."""
        assert target.attribute is not None
        assert target.value_filter is not None
        found = self._selectors.get(id(target))
        if found is None:
            parent = AttrPath(target.extension, target.attribute.name)
            found = compile_value_filter(self.rt, parent, target.value_filter)
            self._selectors[id(target)] = found
        return found


class PatchRun:
    """Operations applied one at a time to a copy of the attributes, so that a caller can let
    other work run in between; `result` validates the outcome once, as a whole."""

    def __init__(
        self,
        rt: ResourceType,
        attributes: JsonObject,
        limits: InputLimits = DEFAULT_LIMITS,
        compatibility: Compatibility = Compatibility.STRICT,
        *,
        plan: PatchPlan | None = None,
    ) -> None:
        self._plan = plan or PatchPlan(rt, limits, compatibility)
        self._before = attributes
        # Operations replace nested values instead of changing them, so only the objects they
        # write into need copies: the top level and its objects (extensions, complex values).
        self._after = {k: dict(v) if isinstance(v, dict) else v for k, v in attributes.items()}
        self.members = MembershipChange()

    def apply(self, operation: Operation) -> None:
        plan = self._plan
        if operation.path is None:
            _apply_without_path(plan, self._after, operation, self.members)
        else:
            _apply(plan, self._after, plan.target(operation.path), operation, self.members)

    def result(self) -> JsonObject:
        """The new canonical attributes; the attributes it started from are left untouched."""
        plan = self._plan
        return canonical_attributes(
            plan.rt, self._after, self._before, plan.limits, plan.compatibility
        )


def check_patch(
    rt: ResourceType,
    operations: list[Operation],
    limits: InputLimits = DEFAULT_LIMITS,
    compatibility: Compatibility = Compatibility.STRICT,
) -> PatchPlan:
    """Raises the error an operation has whatever resource it applies to (an unknown or
    read-only path, a value of the wrong type): applied to a resource with no attributes, where
    only "no value matches" (noTarget) depends on what the resource holds. Run before the
    target is looked up, so that an invalid request is 400 even for an id that does not exist.
    The plan it returns runs the operations on the resource without working them out again."""
    plan = PatchPlan(rt, limits, compatibility)
    run = plan.run({"schemas": [rt.schema.id]})
    for operation in operations:
        try:
            run.apply(operation)
        except ScimError as error:
            if error.scim_type != "noTarget":
                raise
    return plan


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
    plan: PatchPlan, attrs: JsonObject, op: Operation, members: MembershipChange
) -> None:
    if op.op == "remove":
        raise ScimError.no_target("a PATCH remove operation needs a 'path'")
    if not isinstance(op.value, dict):
        raise ScimError.invalid_syntax(f"a PATCH {op.op} without 'path' needs an object value")
    for key, value in op.value.items():
        if key == "schemas":
            continue
        attribute = plan.rt.attribute(key)
        if attribute is not None and attribute.mutability is Mutability.READ_ONLY:
            continue  # Okta's group rename repeats `id`: read-only values are ignored
        # Keys may be attribute paths themselves (`name.givenName`, URN-qualified names).
        target = plan.value_target(key)
        if target is not None:
            _apply(plan, attrs, target, Operation(op.op, key, value), members)


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
    plan: PatchPlan, attrs: JsonObject, target: Target, op: Operation, members: MembershipChange
) -> None:
    if is_membership(plan.rt, target.attribute) and target.extension is None:
        _apply_members(plan, members, target, op)
        return
    container = _container(attrs, target, create=op.op != "remove")
    if container is None:
        return
    attribute = target.attribute
    if attribute is None:  # the whole extension object
        _apply_extension(plan, attrs, target, op, members)
    elif target.value_filter is not None:
        _apply_filtered(plan, container, target, op)
    elif target.sub is not None:
        _apply_sub(plan, container, attribute, target.sub, op)
    elif op.op == "remove":
        _remove(container, attribute, op.value)
    elif attribute.multi_valued:
        values = plan.canonical(attribute, op.value, attribute.name) or []
        current = container.get(attribute.name) if op.op == "add" else None
        kept = list(current) if isinstance(current, list) else []
        if any(isinstance(v, dict) and v.get("primary") is True for v in values):
            kept = [_not_primary(v) for v in kept]
        container[attribute.name] = kept + _not_held(attribute, kept, values)
    elif attribute.complex:
        current = container.get(attribute.name)
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(plan.canonical(attribute, op.value, attribute.name) or {})
        container[attribute.name] = merged
    else:
        _set(container, attribute.name, plan.canonical(attribute, op.value, attribute.name))


def _apply_extension(
    plan: PatchPlan, attrs: JsonObject, target: Target, op: Operation, members: MembershipChange
) -> None:
    if op.op == "remove":
        attrs.pop(target.extension or "", None)
    elif isinstance(op.value, dict):
        for key, value in op.value.items():
            if key == "schemas":  # a whole-extension value may repeat its schema URI
                continue
            sub_target = plan.value_target(f"{target.schema.id}:{key}")
            if sub_target is not None:
                _apply(plan, attrs, sub_target, Operation(op.op, key, value), members)
    else:
        raise ScimError.invalid_value(f"{target.extension} needs an object value")


def is_membership(rt: ResourceType, attribute: Attribute | None) -> bool:
    """Whether the attribute is a Group's `members`, kept apart from its attributes."""
    return rt.name == "Group" and attribute is not None and attribute.name == "members"


def member_values(plan: PatchPlan, attribute: Attribute, value: Any) -> list[JsonObject]:
    """Canonical member values, each naming its member by a string `value`."""
    values = plan.canonical(attribute, value, attribute.name)
    given = value if isinstance(value, list) else [value]
    if len(values or []) != len(given) or any(
        not isinstance(item.get("value"), str) for item in values or []
    ):
        raise ScimError.invalid_value("each member needs a string 'value', the member's id")
    return list(values or [])


def _apply_members(
    plan: PatchPlan, change: MembershipChange, target: Target, op: Operation
) -> None:
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
        change.remove(v["value"] for v in member_values(plan, attribute, op.value))
    elif op.op == "remove":
        change.replace_all([])
    elif op.op == "add":
        change.add(member_values(plan, attribute, op.value))
    else:
        change.replace_all(member_values(plan, attribute, op.value))


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


def _without(value: Any, key: str) -> Any:
    """A value with one sub-attribute removed, as a new object (see `PatchPlan`)."""
    if isinstance(value, dict) and key in value:
        return {k: v for k, v in value.items() if k != key}
    return value


def _set(container: JsonObject, key: str, value: Any) -> None:
    if value is None:
        container.pop(key, None)
    else:
        container[key] = value


def _apply_sub(
    plan: PatchPlan, container: JsonObject, attribute: Attribute, sub: Attribute, op: Operation
) -> None:
    current = container.get(attribute.name)
    if attribute.multi_valued:
        if op.op != "remove":
            raise ScimError.invalid_path(
                f"{attribute.name}.{sub.name} addresses every value of a multi-valued "
                "attribute; name one with a value filter"
            )
        if isinstance(current, list):
            container[attribute.name] = [_without(item, sub.name) for item in current]
        return
    if op.op == "remove":
        if isinstance(current, dict):
            container[attribute.name] = _without(current, sub.name)
        return
    parent: JsonObject = dict(current) if isinstance(current, dict) else {}
    _set(parent, sub.name, plan.canonical(sub, op.value, f"{attribute.name}.{sub.name}"))
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


def _apply_filtered(plan: PatchPlan, container: JsonObject, target: Target, op: Operation) -> None:
    attribute, sub, value_filter = target.attribute, target.sub, target.value_filter
    assert attribute is not None
    assert value_filter is not None
    current = container.get(attribute.name)
    values: list[Any] = list(current) if isinstance(current, list) else []
    selects = plan.selector(target)
    hits = [i for i, v in enumerate(values) if isinstance(v, dict) and selects(v)]
    if op.op == "remove":
        if sub is None:
            values = [v for i, v in enumerate(values) if i not in hits]
        else:
            for i in hits:
                values[i] = _without(values[i], sub.name)
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
            values[i] = {**values[i], sub.name: plan.canonical(sub, op.value, sub.name)}
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
