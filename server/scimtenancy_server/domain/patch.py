"""PATCH (RFC 7644 §3.5.2): applying a PatchOp message's operations to attributes. Parsing
and path resolution live in domain/patch_paths.py; this module is the one to import from.

Operations apply to a copy of the stored attributes; the result is validated as a whole
(`canonical_attributes`), so a failing operation writes nothing. Operations on a Group's
`members` edit a `MembershipChange` instead (domain/membership.py): members are not in the
group's attributes, and a change costs what it names, not what the group holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import AttrPath
from scimtenancy_server.domain.filter_compile import compile_value_filter
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.membership import MembershipChange
from scimtenancy_server.domain.patch_paths import (
    PATCH_OP_SCHEMA,
    Operation,
    Target,
    UnknownPath,
    parse_patch,
    resolve_target,
)
from scimtenancy_server.domain.patch_values import (
    not_held,
    not_primary,
    remove_attribute,
    set_or_drop,
    value_from_filter,
    without,
)
from scimtenancy_server.domain.schema import Attribute, Mutability, ResourceType
from scimtenancy_server.domain.tenant import Compatibility
from scimtenancy_server.domain.validation import (
    JsonObject,
    canonical,
    canonical_attributes,
    value_limits,
)

__all__ = [
    "PATCH_OP_SCHEMA",
    "Operation",
    "PatchPlan",
    "PatchRun",
    "Target",
    "UnknownPath",
    "apply_patch",
    "check_patch",
    "is_membership",
    "member_values",
    "parse_patch",
    "resolve_target",
]


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
        remove_attribute(container, attribute, op.value)
    elif attribute.multi_valued:
        values = plan.canonical(attribute, op.value, attribute.name) or []
        current = container.get(attribute.name) if op.op == "add" else None
        kept = list(current) if isinstance(current, list) else []
        if any(isinstance(v, dict) and v.get("primary") is True for v in values):
            kept = [not_primary(v) for v in kept]
        container[attribute.name] = kept + not_held(attribute, kept, values)
    elif attribute.complex:
        current = container.get(attribute.name)
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(plan.canonical(attribute, op.value, attribute.name) or {})
        container[attribute.name] = merged
    else:
        set_or_drop(container, attribute.name, plan.canonical(attribute, op.value, attribute.name))


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
            container[attribute.name] = [without(item, sub.name) for item in current]
        return
    if op.op == "remove":
        if isinstance(current, dict):
            container[attribute.name] = without(current, sub.name)
        return
    parent: JsonObject = dict(current) if isinstance(current, dict) else {}
    set_or_drop(parent, sub.name, plan.canonical(sub, op.value, f"{attribute.name}.{sub.name}"))
    container[attribute.name] = parent


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
                values[i] = without(values[i], sub.name)
        set_or_drop(container, attribute.name, values or None)
        return
    merge = op.op == "add"
    if not hits:
        # Nothing matches: build the value the filter describes (Entra ID adds
        # `emails[type eq "work"].value` to users without emails this way).
        values.append(value_from_filter(value_filter, target))
        hits, merge = [len(values) - 1], True
    for i in hits:
        if sub is not None:
            values[i] = {**values[i], sub.name: plan.canonical(sub, op.value, sub.name)}
            continue
        if not isinstance(op.value, dict):
            raise ScimError.invalid_value(f"{attribute.name}[...] needs an object value")
        values[i] = {**values[i], **op.value} if merge else op.value
    container[attribute.name] = values
