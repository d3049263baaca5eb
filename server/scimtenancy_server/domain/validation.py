"""Turns client JSON into canonical attributes, enforcing the schema (RFC 7643 §2):
names matched case-insensitively and stored canonically, types checked, read-only values
ignored, required and immutable attributes enforced, unknown names refused (or ignored, for a
tenant of the lenient compatibility profile). The result is what storage keeps."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, INT64_MAX, INT64_MIN, InputLimits
from scimtenancy_server.domain.schema import Attribute, Mutability, ResourceType, Schema
from scimtenancy_server.domain.tenant import Compatibility

JsonObject = dict[str, Any]

# `$ref` values of references to resources are rendered per request (tenant URL strategy),
# never stored: they are derived from `value`.
_DERIVED_SUBS = frozenset({"$ref"})
# Group membership is bounded by the request size, not by the per-attribute value count.
_UNCOUNTED = frozenset({("Group", "members")})
_STRING_TYPES = frozenset({"string", "reference", "binary", "dateTime"})
_EXACT_DOUBLE = 2**53


def canonical_attributes(
    rt: ResourceType,
    document: JsonObject,
    existing: JsonObject | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
    compatibility: Compatibility = Compatibility.STRICT,
) -> JsonObject:
    """Validates a full representation (POST, PUT, or the result of a PATCH)."""
    _check_schemas(rt, document.get("schemas"))
    attributes: JsonObject = {}
    for key, value in document.items():
        if key == "schemas":
            continue
        extension = rt.extension(key) if key.lower().startswith("urn:") else None
        if extension is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise ScimError.invalid_syntax(f"extension {extension.id} must be a JSON object")
            values = _object(extension, value, extension.id, limits, compatibility)
            if values:
                attributes[extension.id] = values
            continue
        attribute = rt.attribute(key)
        if attribute is None:
            unknown_name(compatibility, f"unknown attribute {key!r} for {rt.name}")
            continue
        if attribute.mutability is Mutability.READ_ONLY:
            continue  # RFC 7643 §2.2: read-only values sent by a client are ignored
        item_limits = value_limits(rt, attribute.name, limits)
        canonical_value = canonical(attribute, value, attribute.name, item_limits, compatibility)
        if canonical_value is not None:
            attributes[attribute.name] = canonical_value
    attributes["schemas"] = _schemas_in_use(rt, attributes)
    _require(rt, attributes)
    if existing is not None:
        _keep_immutable(rt, attributes, existing)
    _check_size(rt, attributes, limits)
    return attributes


def unknown_name(compatibility: Compatibility, detail: str) -> None:
    """A name no schema defines: refused, or ignored under the lenient profile (what lenient
    servers do; the client is not told that the value was dropped)."""
    if compatibility is Compatibility.STRICT:
        raise ScimError.invalid_value(detail)


def _uncounted(rt: ResourceType, name: str) -> bool:
    return (rt.name, name) in _UNCOUNTED


def value_limits(rt: ResourceType, name: str, limits: InputLimits) -> InputLimits:
    """The limits for one attribute's values: a Group's members escape `max_values` (RFC 7644
    §3.5.2.1 adds them one PATCH at a time; the request size bounds them)."""
    return replace(limits, max_values=INT64_MAX) if _uncounted(rt, name) else limits


def _check_size(rt: ResourceType, attributes: JsonObject, limits: InputLimits) -> None:
    counted = {k: v for k, v in attributes.items() if not _uncounted(rt, k)}
    size = len(orjson.dumps(counted))
    if size > limits.max_resource_bytes:
        raise ScimError.too_large(
            f"the {rt.name} holds {size} bytes of attributes; at most "
            f"{limits.max_resource_bytes} are accepted (max_resource_bytes)"
        )


def _object(
    owner: Schema,
    value: JsonObject,
    where: str,
    limits: InputLimits,
    compatibility: Compatibility,
) -> JsonObject:
    result: JsonObject = {}
    for key, item in value.items():
        attribute = owner.attribute(key)
        if attribute is None:
            unknown_name(compatibility, f"unknown attribute {key!r} in {where}")
            continue
        if attribute.mutability is Mutability.READ_ONLY:
            continue
        canonical_value = canonical(
            attribute, item, f"{where}:{attribute.name}", limits, compatibility
        )
        if canonical_value is not None:
            result[attribute.name] = canonical_value
    return result


def canonical(
    attribute: Attribute,
    value: Any,
    where: str,
    limits: InputLimits = DEFAULT_LIMITS,
    compatibility: Compatibility = Compatibility.STRICT,
) -> Any:
    """The canonical form of one attribute's value; None when it holds no value."""
    if value is None:
        return None
    if attribute.multi_valued:
        items = value if isinstance(value, list) else [value]
        if len(items) > limits.max_values:
            raise ScimError.invalid_value(
                f"{where} holds {len(items)} values; at most {limits.max_values} are "
                "accepted (max_values)"
            )
        values = [_single(attribute, item, where, limits, compatibility) for item in items]
        kept = [v for v in values if v is not None]
        return kept or None
    if isinstance(value, list):
        raise ScimError.invalid_value(f"{where} is single-valued; got an array")
    return _single(attribute, value, where, limits, compatibility)


def _single(
    attribute: Attribute,
    value: Any,
    where: str,
    limits: InputLimits,
    compatibility: Compatibility,
) -> Any:
    if value is None:
        return None
    if not attribute.complex:
        return _scalar(attribute, value, where, limits)
    if not isinstance(value, dict):
        raise ScimError.invalid_value(f"{where} is complex: its value must be a JSON object")
    result: JsonObject = {}
    for key, item in value.items():
        sub = attribute.sub(key)
        if sub is None:
            unknown_name(compatibility, f"unknown sub-attribute {key!r} of {where}")
            continue
        if sub.name in _DERIVED_SUBS or sub.mutability is Mutability.READ_ONLY:
            continue
        scalar = canonical(sub, item, f"{where}.{sub.name}", limits)
        if scalar is not None:
            result[sub.name] = scalar
    return result or None


def _scalar(attribute: Attribute, value: Any, where: str, limits: InputLimits) -> Any:
    kind = attribute.type
    if isinstance(value, str) and kind in _STRING_TYPES and len(value) > limits.max_string_length:
        raise ScimError.invalid_value(
            f"{where} holds {len(value)} characters; at most {limits.max_string_length} are "
            "accepted (max_string_length)"
        )
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        # Microsoft Entra ID sends booleans as strings ("True", "False").
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind == "integer":
        return _integer(value, where)
    elif kind == "decimal":
        return _decimal(value, where)
    elif kind == "dateTime":
        if isinstance(value, str) and _is_datetime(value):
            return value
    elif isinstance(value, str):
        return value
    raise _wrong_type(kind, value, where)


def _wrong_type(kind: str, value: Any, where: str) -> ScimError:
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return ScimError.invalid_value(f"{where} must be of type {kind}; got {shown[:80]}")


def _integer(value: Any, where: str) -> int:
    """RFC 7643 §2.3.4 integers, within 64 bits (what BSON and every client can hold). A
    number written with a fraction or exponent counts when it is a whole number that a double
    holds exactly; past 2**53 it may already have lost digits in parsing."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_DOUBLE:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong_type("integer", value, where)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ScimError.invalid_value(f"{where} must be an integer within the signed 64-bit range")
    return value


def _decimal(value: Any, where: str) -> int | float:
    """RFC 7643 §2.3.3 decimals: finite doubles; an integer past 64 bits becomes a double."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _wrong_type("decimal", value, where)
    number: int | float = value
    if isinstance(number, int) and not INT64_MIN <= number <= INT64_MAX:
        try:
            number = float(number)
        except OverflowError:
            number = math.inf
    if isinstance(number, float) and not math.isfinite(number):
        raise ScimError.invalid_value(f"{where} must be a finite decimal number")
    return number


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_schemas(rt: ResourceType, schemas: object) -> None:
    """Checks `schemas`: strings, the core schema among them. URIs of unknown schemas are
    tolerated (Entra ID declares its ADSCIM Group schema without sending attributes of it);
    attributes under an unknown schema are refused where they appear."""
    if not isinstance(schemas, list) or not schemas:
        raise ScimError.invalid_syntax("'schemas' must be a non-empty array of schema URIs")
    if not all(isinstance(urn, str) for urn in schemas):
        raise ScimError.invalid_syntax("'schemas' must contain only strings")
    if not any(rt.schema_of(urn) is rt.schema for urn in schemas):
        raise ScimError.invalid_value(f"'schemas' must contain {rt.schema.id}")


def _schemas_in_use(rt: ResourceType, attributes: JsonObject) -> list[str]:
    """RFC 7643 §3: `schemas` lists the core schema and every extension holding values,
    whatever the request declared. An extension used but not declared is added, not refused:
    Entra ID sends a custom extension's attributes without its URN in `schemas`
    (MicrosoftDocs/azure-docs#65648). One declared but left empty is dropped."""
    return [rt.schema.id, *(s.id for s, _ in rt.extensions if attributes.get(s.id))]


def _require(rt: ResourceType, attributes: JsonObject) -> None:
    for attribute in rt.schema.attributes:
        if attribute.checks_required:
            _require_one(attribute, attributes, attribute.name)
    for extension in rt.required_extensions:
        if not attributes.get(extension.id):
            raise ScimError.invalid_value(f"extension {extension.id} is required")
    for extension, _ in rt.extensions:
        values = attributes.get(extension.id)
        if values:
            for attribute in extension.attributes:
                if attribute.checks_required:
                    _require_one(attribute, values, f"{extension.id}:{attribute.name}")


def _require_one(attribute: Attribute, container: JsonObject, where: str) -> None:
    value = container.get(attribute.name)
    blank = value is None or (isinstance(value, str) and not value.strip())
    if attribute.required and attribute.mutability is not Mutability.READ_ONLY and blank:
        raise ScimError.invalid_value(f"attribute {where!r} is required and cannot be blank")
    if value is not None and attribute.complex:
        for item in value if isinstance(value, list) else [value]:
            for sub in attribute.sub_attributes:
                if sub.checks_required and sub.name not in _DERIVED_SUBS:
                    _require_one(sub, item, f"{where}.{sub.name}")


def _keep_immutable(rt: ResourceType, attributes: JsonObject, existing: JsonObject) -> None:
    """RFC 7643 §2.2: an immutable attribute may be set once, never changed."""
    for attribute in rt.schema.attributes:
        if attribute.mutability is not Mutability.IMMUTABLE:
            continue
        before = existing.get(attribute.name)
        if before is not None and attributes.get(attribute.name) != before:
            raise ScimError.mutability(f"attribute {attribute.name!r} is immutable")


def preserve_write_only(
    rt: ResourceType, attributes: JsonObject, existing: JsonObject
) -> JsonObject:
    """A replacement that omits a write-only value (a password) keeps it: no client can
    read it back to send it again."""
    kept = {
        a.name: existing[a.name]
        for a in rt.schema.attributes
        if a.mutability is Mutability.WRITE_ONLY and a.name in existing
    }
    return {**kept, **attributes}
