"""Discovery documents (RFC 7643 §5-§7, RFC 7644 §4), telling only what is really supported."""

from __future__ import annotations

from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import ResourceType, ResourceTypeRegistry, Schema, load_schema
from scimtenancy_server.domain.tenant import (
    DEFAULT_RESPONSES,
    AuthenticationScheme,
    ResponseOptions,
)

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


_SERVER_SCHEMES: tuple[dict[str, Any], ...] = (
    {
        "type": "oauthbearertoken",
        "name": "Bearer token",
        "description": "A tenant API key presented as `Authorization: Bearer <key>`.",
        "primary": True,
    },
)


def _scheme(scheme: AuthenticationScheme) -> dict[str, Any]:
    """RFC 7643 §5 `authenticationSchemes` entry; empty URIs are left out."""
    document: dict[str, Any] = {
        "type": scheme.type,
        "name": scheme.name,
        "description": scheme.description,
    }
    for name, value in (
        ("specUri", scheme.spec_uri),
        ("documentationUri", scheme.documentation_uri),
    ):
        if value:
            document[name] = value
    document["primary"] = scheme.primary
    return document


def service_provider_config(
    base_url: str,
    max_results: int,
    default_count: int,
    bulk_operations: int,
    bulk_payload: int,
    responses: ResponseOptions = DEFAULT_RESPONSES,
) -> dict[str, Any]:
    """The tenant's ServiceProviderConfig (RFC 7643 §5): the server's features and limits as
    the tenant's response options narrow them, each one as the server enforces it."""
    page_size = responses.max_results(max_results)
    own = responses.authentication_schemes
    schemes = [_scheme(s) for s in own] if own else list(_SERVER_SCHEMES)
    document: dict[str, Any] = {"schemas": [SPC_SCHEMA]}
    if responses.documentation_uri:
        document["documentationUri"] = responses.documentation_uri
    return {
        **document,
        "patch": {"supported": True},
        "bulk": {
            "supported": responses.bulk,
            "maxOperations": bulk_operations if responses.bulk else 0,
            "maxPayloadSize": bulk_payload if responses.bulk else 0,
        },
        "filter": {"supported": True, "maxResults": page_size},
        "changePassword": {"supported": True},
        "sort": {"supported": responses.sort},
        "etag": {"supported": responses.etag},
        "authenticationSchemes": schemes,
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": min(default_count, page_size),
            "maxPageSize": page_size,
        },
        "meta": _meta("ServiceProviderConfig", base_url, "ServiceProviderConfig"),
    }


def resource_type_document(rt: ResourceType, base_url: str, owner: str = "") -> dict[str, Any]:
    """RFC 7643 §6; `owner`, the tenant's display name, goes into the human-readable
    `description` (the only free text a ResourceType has), never into `name` or `id`."""
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": rt.name,
        "name": rt.name,
        "endpoint": f"/{rt.endpoint}",
        "description": f"{rt.description} of {owner}" if owner else rt.description,
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
