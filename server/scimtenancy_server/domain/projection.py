"""`attributes` and `excludedAttributes` (RFC 7644 §3.9), with the `returned` rules of
RFC 7643 §2.2: `always` attributes stay, `never` ones never appear (render drops them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_attr_path
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.schema import ResourceType, Returned

_ALWAYS = ("schemas", "id")


@dataclass(frozen=True, slots=True)
class Projection:
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

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
            return any(_core_name(a).split(".")[0] == lower for a in self.attributes)
        return all(_core_name(e) != lower for e in self.excluded)


def bounded_projection(
    attributes: tuple[str, ...], excluded: tuple[str, ...], limits: InputLimits = DEFAULT_LIMITS
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
    return Projection(attributes, excluded)


def _steps(rt: ResourceType, text: str) -> tuple[str, ...] | None:
    """The keys leading to an attribute in a rendered resource, or None if unknown."""
    try:
        path = parse_attr_path(text.strip())
    except ScimError:
        return None
    if path.schema is not None and path.schema.lower() != rt.schema.id.lower():
        extension = rt.extension(path.schema)
        if extension is None:
            # `urn:...:enterprise:2.0:User` alone names the whole extension
            whole = rt.extension(text.strip())
            return (whole.id,) if whole else None
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
