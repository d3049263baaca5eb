"""Turns client JSON into canonical attributes, enforcing the schema (RFC 7643 §2):
names matched case-insensitively and stored canonically, types checked, read-only values
ignored, required and immutable attributes enforced. The result is what storage keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import Attribute, Mutability, ResourceType, Schema

JsonObject = dict[str, Any]

# `$ref` values of references to resources are rendered per request (tenant URL strategy),
# never stored: they are derived from `value`.
_DERIVED_SUBS = frozenset({"$ref"})


def canonical_attributes(
    rt: ResourceType, document: JsonObject, existing: JsonObject | None = None
) -> JsonObject:
    """Validates a full representation (POST, PUT, or the result of a PATCH)."""
    declared = _declared_schemas(rt, document.get("schemas"))
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
            values = _object(extension, value, extension.id)
            if values:
                attributes[extension.id] = values
            continue
        attribute = rt.attribute(key)
        if attribute is None:
            raise ScimError.invalid_value(f"unknown attribute {key!r} for {rt.name}")
        if attribute.mutability is Mutability.READ_ONLY:
            continue  # RFC 7643 §2.2: read-only values sent by a client are ignored
        canonical_value = canonical(attribute, value, attribute.name)
        if canonical_value is not None:
            attributes[attribute.name] = canonical_value
    attributes["schemas"] = _schemas_in_use(rt, attributes, declared)
    _require(rt, attributes)
    if existing is not None:
        _keep_immutable(rt, attributes, existing)
    return attributes


def _object(owner: Schema, value: JsonObject, where: str) -> JsonObject:
    result: JsonObject = {}
    for key, item in value.items():
        attribute = owner.attribute(key)
        if attribute is None:
            raise ScimError.invalid_value(f"unknown attribute {key!r} in {where}")
        if attribute.mutability is Mutability.READ_ONLY:
            continue
        canonical_value = canonical(attribute, item, f"{where}:{attribute.name}")
        if canonical_value is not None:
            result[attribute.name] = canonical_value
    return result


def canonical(attribute: Attribute, value: Any, where: str) -> Any:
    """The canonical form of one attribute's value; None when it holds no value."""
    if value is None:
        return None
    if attribute.multi_valued:
        items = value if isinstance(value, list) else [value]
        values = [_single(attribute, item, where) for item in items]
        kept = [v for v in values if v is not None]
        return kept or None
    if isinstance(value, list):
        raise ScimError.invalid_value(f"{where} is single-valued; got an array")
    return _single(attribute, value, where)


def _single(attribute: Attribute, value: Any, where: str) -> Any:
    if value is None:
        return None
    if not attribute.complex:
        return _scalar(attribute, value, where)
    if not isinstance(value, dict):
        raise ScimError.invalid_value(f"{where} is complex: its value must be a JSON object")
    result: JsonObject = {}
    for key, item in value.items():
        sub = attribute.sub(key)
        if sub is None:
            raise ScimError.invalid_value(f"unknown sub-attribute {key!r} of {where}")
        if sub.name in _DERIVED_SUBS or sub.mutability is Mutability.READ_ONLY:
            continue
        scalar = canonical(sub, item, f"{where}.{sub.name}")
        if scalar is not None:
            result[sub.name] = scalar
    return result or None


def _scalar(attribute: Attribute, value: Any, where: str) -> Any:
    kind = attribute.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        # Microsoft Entra ID sends booleans as strings ("True", "False").
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif kind == "dateTime":
        if isinstance(value, str) and _is_datetime(value):
            return value
    elif isinstance(value, str):
        return value
    raise ScimError.invalid_value(f"{where} must be of type {kind}; got {value!r}"[:300])


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _declared_schemas(rt: ResourceType, schemas: object) -> list[str]:
    """Checks `schemas`. URIs of unknown schemas are tolerated and dropped (Entra ID declares
    its ADSCIM Group schema without sending attributes of it); attributes under an unknown
    schema are refused where they appear."""
    if not isinstance(schemas, list) or not schemas:
        raise ScimError.invalid_syntax("'schemas' must be a non-empty array of schema URIs")
    if not all(isinstance(urn, str) for urn in schemas):
        raise ScimError.invalid_syntax("'schemas' must contain only strings")
    declared = [s.id for urn in schemas if (s := rt.schema_of(urn)) is not None]
    if rt.schema.id not in declared:
        raise ScimError.invalid_value(f"'schemas' must contain {rt.schema.id}")
    return declared


def _schemas_in_use(rt: ResourceType, attributes: JsonObject, declared: list[str]) -> list[str]:
    """The core schema and every extension holding values (RFC 7643 §3)."""
    del declared  # declared-but-empty extensions are dropped, undeclared-but-used are added
    return [rt.schema.id, *(s.id for s, _ in rt.extensions if attributes.get(s.id))]


def _require(rt: ResourceType, attributes: JsonObject) -> None:
    for attribute in rt.schema.attributes:
        _require_one(attribute, attributes, attribute.name)
    for extension in rt.required_extensions:
        if not attributes.get(extension.id):
            raise ScimError.invalid_value(f"extension {extension.id} is required")
    for extension, _ in rt.extensions:
        values = attributes.get(extension.id)
        if values:
            for attribute in extension.attributes:
                _require_one(attribute, values, f"{extension.id}:{attribute.name}")


def _require_one(attribute: Attribute, container: JsonObject, where: str) -> None:
    value = container.get(attribute.name)
    blank = value is None or (isinstance(value, str) and not value.strip())
    if attribute.required and attribute.mutability is not Mutability.READ_ONLY and blank:
        raise ScimError.invalid_value(f"attribute {where!r} is required and cannot be blank")
    if value is not None and attribute.complex:
        for item in value if isinstance(value, list) else [value]:
            for sub in attribute.sub_attributes:
                if sub.name not in _DERIVED_SUBS:
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
