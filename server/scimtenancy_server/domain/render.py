"""The SCIM representation of a stored resource (RFC 7643 §3), rendered for one base URL."""

from __future__ import annotations

from typing import Any

import orjson

from scimtenancy_server.domain.clock import format_datetime
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType


def resource_location(base_url: str, resource_type: ResourceType, resource_id: str) -> str:
    return f"{base_url.rstrip('/')}/{resource_type.endpoint}/{resource_id}"


def to_scim(resource_type: ResourceType, resource: StoredResource, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": resource.attributes.get("schemas", [resource_type.schema])}
    body["id"] = resource.id
    for name, value in resource.attributes.items():
        attribute = resource_type.attribute(name)
        if name == "schemas" or (attribute is not None and not attribute.returned):
            continue
        body[name] = value
    meta: dict[str, Any] = {
        "resourceType": resource_type.name,
        "created": format_datetime(resource.created),
        "lastModified": format_datetime(resource.last_modified),
        "version": resource.etag,
    }
    if base_url:
        meta["location"] = resource_location(base_url, resource_type, resource.id)
    body["meta"] = meta
    return body


def render(resource_type: ResourceType, resource: StoredResource, base_url: str) -> bytes:
    return orjson.dumps(to_scim(resource_type, resource, base_url))
