"""Discovery documents (RFC 7643 §5-§7, RFC 7644 §4), telling only what is really supported."""

from __future__ import annotations

from typing import Any

from scimtenancy_common.wire import LIST_RESPONSE_SCHEMA
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import ResourceType, ResourceTypeRegistry, Schema, load_schema

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

# RFC 7643 §7, §8.7.2: the schemas of the discovery documents themselves. They describe
# documents only: no resource type has them, so nothing is stored or validated under them.
META_SCHEMAS = tuple(
    load_schema(f"meta/{name}.json")
    for name in ("service_provider_config", "resource_type", "schema")
)


def _meta(resource_type: str, base_url: str, path: str) -> dict[str, str]:
    meta = {"resourceType": resource_type}
    if base_url:
        meta["location"] = f"{base_url.rstrip('/')}/{path}"
    return meta


def service_provider_config(
    base_url: str, max_results: int, default_count: int, bulk_operations: int, bulk_payload: int
) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": bulk_operations,
            "maxPayloadSize": bulk_payload,
        },
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A tenant API key presented as `Authorization: Bearer <key>`.",
                "primary": True,
            }
        ],
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": default_count,
            "maxPageSize": max_results,
        },
        "meta": _meta("ServiceProviderConfig", base_url, "ServiceProviderConfig"),
    }


def resource_type_document(rt: ResourceType, base_url: str) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": rt.name,
        "name": rt.name,
        "endpoint": f"/{rt.endpoint}",
        "description": rt.description,
        "schema": rt.schema.id,
        "schemaExtensions": [{"schema": s.id, "required": req} for s, req in rt.extensions],
        "meta": _meta("ResourceType", base_url, f"ResourceTypes/{rt.name}"),
    }


def schema_document(schema: Schema, base_url: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        **schema.document,
        "meta": _meta("Schema", base_url, f"Schemas/{schema.id}"),
    }


def list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def find_resource_type(registry: ResourceTypeRegistry, rt_id: str) -> ResourceType:
    found = next((rt for rt in registry.all() if rt.name.lower() == rt_id.lower()), None)
    if found is None:
        raise ScimError.not_found(f"no resource type {rt_id!r}")
    return found


def served_schemas(registry: ResourceTypeRegistry) -> tuple[Schema, ...]:
    """What /Schemas lists: the resource types' schemas, then the meta-schemas."""
    own = registry.schemas()
    taken = {s.id.lower() for s in own}
    return (*own, *(s for s in META_SCHEMAS if s.id.lower() not in taken))


def find_schema(registry: ResourceTypeRegistry, schema_id: str) -> Schema:
    wanted = schema_id.lower()
    found = next((s for s in served_schemas(registry) if s.id.lower() == wanted), None)
    if found is None:
        raise ScimError.not_found(f"no schema {schema_id!r}")
    return found
