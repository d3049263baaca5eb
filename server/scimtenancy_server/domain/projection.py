"""`attributes` and `excludedAttributes` (RFC 7644 §3.9), with the `returned` rules of
RFC 7643 §2.2: `always` attributes stay, `never` ones never appear (render drops them).
Under the lenient compatibility profile an `attributes` entry may also be a value filter."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import AttrPath, ValuePath, parse_attr_path, parse_filter
from scimtenancy_server.domain.filter_compile import compile_value_filter
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.schema import ResourceType, Returned
from scimtenancy_server.domain.tenant import Compatibility

_ALWAYS = ("schemas", "id")


@dataclass(frozen=True, slots=True)
class Projection:
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    # Lenient profile only: the `attributes` entries that are value filters
    # (`emails[type eq "work"]`), each showing the matching values of its attribute.
    value_paths: tuple[ValuePath, ...] = ()

    @property
    def is_default(self) -> bool:
        return not self.attributes and not self.excluded

    def shows_whole(self, name: str) -> bool:
        """Whether the top-level core attribute `name` appears whole, none of its
        sub-attributes projected away."""
        lower = name.lower()
        if self.attributes:
            return any(_core_name(a) == lower for a in self.attributes)
        return all(_core_name(e).split(".")[0] != lower for e in self.excluded)

    def may_include(self, name: str) -> bool:
        """Whether the top-level core attribute `name` can appear in the projected result."""
        lower = name.lower()
        if self.attributes:
            return any(_core_name(a).split(".")[0] == lower for a in self.attributes) or any(
                v.path.attribute.lower() == lower for v in self.value_paths
            )
        return all(_core_name(e) != lower for e in self.excluded)


def bounded_projection(
    attributes: tuple[str, ...],
    excluded: tuple[str, ...],
    limits: InputLimits = DEFAULT_LIMITS,
    compatibility: Compatibility = Compatibility.STRICT,
) -> Projection:
    """`attributes` / `excludedAttributes` of a request, within the input limits."""
    for name, values in (("attributes", attributes), ("excludedAttributes", excluded)):
        if len(values) > limits.max_projection_names:
            raise ScimError.invalid_value(
                f"'{name}' names {len(values)} attributes; at most "
                f"{limits.max_projection_names} are accepted"
            )
        if any(len(v) > limits.max_path_length for v in values):
            raise ScimError.invalid_value(
                f"an attribute path in '{name}' is longer than {limits.max_path_length} "
                "characters (max_path_length)"
            )
    if compatibility is Compatibility.STRICT:
        return Projection(attributes, excluded)
    return Projection(attributes, excluded, _value_paths(attributes, limits))


def _value_paths(attributes: tuple[str, ...], limits: InputLimits) -> tuple[ValuePath, ...]:
    """The entries written `attribute[filter]`: RFC 7644 §3.9 takes attribute names only, so
    strict tenants get such an entry ignored like any name that is no attribute. A malformed
    one is refused here, before anything is written."""
    found = []
    for text in (a for a in attributes if "[" in a):
        parsed = parse_filter(text, limits)
        if not isinstance(parsed, ValuePath):
            raise ScimError.invalid_filter(
                f"'attributes' entry {text[:80]!r} must be one attribute with a value filter"
            )
        found.append(parsed)
    return tuple(found)


def _steps(rt: ResourceType, text: str) -> tuple[str, ...] | None:
    """The keys leading to an attribute in a rendered resource, or None if unknown."""
    try:
        path = parse_attr_path(text.strip())
    except ScimError:
        return None
    steps = _path_steps(rt, path)
    if steps is None and path.schema is not None:
        # `urn:...:enterprise:2.0:User` alone names the whole extension
        whole = rt.extension(text.strip())
        return (whole.id,) if whole else None
    return steps


def _path_steps(rt: ResourceType, path: AttrPath) -> tuple[str, ...] | None:
    if path.schema is not None and path.schema.lower() != rt.schema.id.lower():
        extension = rt.extension(path.schema)
        if extension is None:
            return None
        attribute = extension.attribute(path.attribute)
        head: tuple[str, ...] = (extension.id,)
    else:
        attribute, head = rt.attribute(path.attribute), ()
    if attribute is None:
        return None
    if path.sub is None:
        return (*head, attribute.name)
    sub = attribute.sub(path.sub)
    return None if sub is None else (*head, attribute.name, sub.name)


def _always(rt: ResourceType, name: str) -> bool:
    attribute = rt.attribute(name)
    return name in _ALWAYS or (attribute is not None and attribute.returned is Returned.ALWAYS)


def project(rt: ResourceType, body: dict[str, Any], projection: Projection) -> dict[str, Any]:
    if projection.is_default:
        return body
    if projection.attributes:
        result = {k: v for k, v in body.items() if _always(rt, k)}
        for text in projection.attributes:
            steps = _steps(rt, text)
            if steps is not None:
                _copy(body, result, steps)
        for value_path in projection.value_paths:
            _copy_matching(rt, body, result, value_path)
        return result
    result = dict(body)
    for text in projection.excluded:
        steps = _steps(rt, text)
        if steps and not _always(rt, steps[0]):
            _drop(result, steps)
    return result


def _copy(source: dict[str, Any], target: dict[str, Any], steps: tuple[str, ...]) -> None:
    key, rest = steps[0], steps[1:]
    if key not in source:
        return
    value = source[key]
    if not rest:
        target[key] = value
    elif isinstance(value, dict):
        inner = target.setdefault(key, {})
        _copy(value, inner, rest)
    elif isinstance(value, list):
        picked = [{rest[0]: v[rest[0]]} for v in value if isinstance(v, dict) and rest[0] in v]
        if picked:
            target[key] = picked


def _copy_matching(
    rt: ResourceType, source: dict[str, Any], target: dict[str, Any], value_path: ValuePath
) -> None:
    """The values of a multi-valued attribute that match a value filter, with those of it
    already copied, in their order. A filter this resource type cannot evaluate is ignored
    like an unknown name: rendering never fails (the request may have written already)."""
    steps = _path_steps(rt, value_path.path)
    values = _at(source, steps) if steps is not None else None
    if steps is None or not isinstance(values, list):
        return
    try:
        selects = compile_value_filter(rt, value_path.path, value_path.filter)
    except ScimError:
        return
    shown = _at(target, steps)
    chosen = {id(v) for v in shown} if isinstance(shown, list) else set()
    picked = [v for v in values if id(v) in chosen or (isinstance(v, dict) and selects(v))]
    if picked:
        *head, last = steps
        inner = target
        for key in head:
            inner = inner.setdefault(key, {})
        inner[last] = picked


def _at(body: dict[str, Any], steps: tuple[str, ...]) -> Any:
    value: Any = body
    for key in steps:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _drop(body: dict[str, Any], steps: tuple[str, ...]) -> None:
    key, rest = steps[0], steps[1:]
    if not rest:
        body.pop(key, None)
        return
    value = body.get(key)
    if isinstance(value, dict):
        body[key] = {k: v for k, v in value.items() if k != rest[0] or len(rest) > 1}
        if len(rest) > 1:
            _drop(body[key], rest)
    elif isinstance(value, list):
        body[key] = [
            {k: v for k, v in item.items() if k != rest[0]} if isinstance(item, dict) else item
            for item in value
        ]


def _core_name(text: str) -> str:
    """An attribute path without its schema URN (`urn:…:Group:members.value` →
    `members.value`, RFC 7644 §3.10), lower-cased."""
    text = text.strip().lower()
    return text.rsplit(":", 1)[-1] if text.startswith("urn:") else text


class ReturnPreference(StrEnum):
    """What a client asked a PATCH to answer with (RFC 7240 §4.2 `Prefer: return=`)."""

    UNSPECIFIED = ""
    MINIMAL = "minimal"
    REPRESENTATION = "representation"


def patch_returns_resource(
    projection: Projection, preference: ReturnPreference, adds_or_removes_members: bool
) -> bool:
    """Whether a PATCH answers 200 with the resource or 204 without it (RFC 7644 §3.5.2
    allows both). The client's preference decides, then an `attributes` or
    `excludedAttributes` parameter (asking for a representation). By default the resource
    comes back, except after adding or removing some of a Group's members: that is an identity
    provider's sync loop (one PATCH per member change), the group may hold a hundred thousand
    members the request did not name, and Entra ID and Okta both accept 204 there."""
    if preference is not ReturnPreference.UNSPECIFIED:
        return preference is ReturnPreference.REPRESENTATION
    return not projection.is_default or not adds_or_removes_members
