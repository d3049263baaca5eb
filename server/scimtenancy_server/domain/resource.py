"""A stored resource and the rules that turn client JSON into its attributes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import Mutability, ResourceType

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredResource:
    """A resource as the service keeps it: SCIM attributes without `id` and `meta`."""

    resource_type: str
    id: str
    version: int
    created: datetime
    last_modified: datetime
    attributes: JsonObject

    @property
    def etag(self) -> str:
        return format_version(self.version)

    def revised(self, attributes: JsonObject, now: datetime) -> StoredResource:
        return replace(self, attributes=attributes, version=self.version + 1, last_modified=now)


def format_version(version: int) -> str:
    """`meta.version` and the ETag: a strong entity tag (RFC 7232 §2.3) from a counter."""
    return f'"{version}"'


def version_matches(if_match: str, version: int) -> bool:
    """RFC 7232 §3.1 If-Match: `*` or a list of entity tags; a weak tag compares by value."""
    tags = [tag.strip() for tag in if_match.split(",")]
    current = format_version(version)
    return any(tag == "*" or tag.removeprefix("W/") == current for tag in tags)


def parse_json_object(body: bytes, what: str = "request body") -> JsonObject:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ScimError.invalid_syntax(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ScimError.invalid_syntax(f"{what} must be a JSON object")
    return value


def attributes_from_client(resource_type: ResourceType, document: JsonObject) -> JsonObject:
    """Validates a client's representation (POST or PUT) and returns its writable attributes.

    Attribute names are matched case-insensitively and stored under their canonical names
    (RFC 7643 §2.1); read-only attributes sent by a client are ignored (RFC 7643 §2.2).
    """
    schemas = _declared_schemas(resource_type, document.get("schemas"))
    attributes: JsonObject = {"schemas": schemas}
    for key, value in document.items():
        extension = resource_type.extension(key) if key.startswith("urn:") else None
        if extension is not None:
            if not isinstance(value, dict):
                raise ScimError.invalid_syntax(f"extension {extension} must be a JSON object")
            attributes[extension] = value
            continue
        attribute = resource_type.attribute(key)
        if attribute is None:
            raise ScimError.invalid_value(
                f"unknown attribute {key!r} for resource type {resource_type.name}"
            )
        if attribute.mutability is Mutability.READ_ONLY or attribute.name == "schemas":
            continue
        if value is not None:
            attributes[attribute.name] = value
    sync_schemas(resource_type, attributes)
    require_attributes(resource_type, attributes)
    return attributes


def sync_schemas(resource_type: ResourceType, attributes: JsonObject) -> None:
    """Keeps `schemas` listing exactly the core schema and the extensions that hold values."""
    schemas = [resource_type.schema]
    for extension in resource_type.extensions:
        value = attributes.get(extension)
        if isinstance(value, dict) and value:
            schemas.append(extension)
        else:
            attributes.pop(extension, None)
    attributes["schemas"] = schemas


def require_attributes(resource_type: ResourceType, attributes: JsonObject) -> None:
    for name in resource_type.required:
        value = attributes.get(name)
        if value is None or value == "" or value == []:
            raise ScimError.invalid_value(f"attribute {name!r} is required")
        if name == resource_type.unique and not isinstance(value, str):
            raise ScimError.invalid_value(f"attribute {name!r} must be a string")


def _declared_schemas(resource_type: ResourceType, schemas: object) -> list[str]:
    if not isinstance(schemas, list) or not schemas:
        raise ScimError.invalid_syntax("'schemas' must be a non-empty array of schema URIs")
    declared: list[str] = []
    for urn in schemas:
        if not isinstance(urn, str):
            raise ScimError.invalid_syntax("'schemas' must contain only strings")
        known = resource_type.schema if urn.lower() == resource_type.schema.lower() else None
        known = known or resource_type.extension(urn)
        if known is None:
            raise ScimError.invalid_value(
                f"schema {urn!r} is not a schema of resource type {resource_type.name}"
            )
        declared.append(known)
    if resource_type.schema not in declared:
        raise ScimError.invalid_value(f"'schemas' must contain {resource_type.schema}")
    return declared
