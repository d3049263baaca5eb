"""Which schema representations may become a tenant's schema extension."""

from __future__ import annotations

from typing import Any

from scimtenancy_server.domain.discovery import served_schemas
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import ResourceTypeRegistry, Schema

_ATTRIBUTE_TYPES = frozenset(
    {"string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"}
)


def extension_schema(document: dict[str, Any], registry: ResourceTypeRegistry) -> Schema:
    """A schema representation (RFC 7643 §7) checked enough to be enforced and served, and
    not one of the service's own schemas."""
    schema_id = document.get("id")
    if not isinstance(schema_id, str) or not schema_id.startswith("urn:"):
        raise ScimError.invalid_value("an extension schema needs an 'id' URN")
    if not isinstance(document.get("attributes"), list) or not document["attributes"]:
        raise ScimError.invalid_value("an extension schema needs 'attributes'")
    try:
        schema = Schema.from_json(document)
    except (KeyError, TypeError, ValueError) as error:
        raise ScimError.invalid_value(f"the extension schema is malformed: {error}") from None
    if any(a.type not in _ATTRIBUTE_TYPES for a in schema.attributes):
        raise ScimError.invalid_value(f"attribute types must be among {sorted(_ATTRIBUTE_TYPES)}")
    if schema.id.lower() in {s.id.lower() for s in served_schemas(registry)}:
        raise ScimError.invalid_value(f"{schema.id} is a schema of the service itself")
    return schema
