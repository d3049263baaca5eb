"""Reusable parts of the OpenAPI description (`components`): the SCIM resource schemas composed
from `openapi_resources`, error responses per status, headers and parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scimtenancy_transcoder import openapi_resources
from scimtenancy_transcoder.errors import SCIM_MEDIA_TYPE
from scimtenancy_transcoder.openapi_messages import (
    STRING,
    declares,
    list_response,
    message_schemas,
    ref,
)
from scimtenancy_transcoder.openapi_resources import JsonSchema
from scimtenancy_transcoder.strategies import TENANT_HEADERS


@dataclass(frozen=True)
class PublishedLimits:
    """The server's input limits that JSON Schema can state (its settings
    `MAX_STRING_LENGTH` and `MAX_VALUES`; both processes read the same settings)."""

    max_string_length: int = 8192
    max_values: int = 256

    def apply(self, schema: JsonSchema) -> JsonSchema:
        limited: JsonSchema = openapi_resources.with_limits(
            schema, self.max_string_length, self.max_values
        )
        return limited


DEFAULT_PUBLISHED_LIMITS = PublishedLimits()
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_NAMES_NOTE = (
    "Attribute names are matched case-insensitively; unknown attributes get 400 "
    "`invalidValue`; read-only attributes are ignored. Extensions registered for the tenant "
    "appear under their schema URN."
)

# status → (component name, description, required response headers)
ERRORS: dict[int, tuple[str, str, tuple[str, ...]]] = {
    400: ("BadRequest", "Invalid request; `scimType` says why.", ()),
    401: ("Unauthorized", "Missing, malformed or unknown credential.", ("WWW-Authenticate",)),
    403: (
        "Forbidden",
        "The credential lacks the permission, belongs to another tenant than the URL names, "
        "its tenant is suspended or at a limit, or the resource is shared and read-only.",
        (),
    ),
    404: ("NotFound", "No such resource, resource type, or tenant host.", ()),
    409: ("Conflict", "`uniqueness` violated, or the resource changed too often.", ()),
    412: ("PreconditionFailed", "`If-Match` does not match the current version.", ()),
    413: ("PayloadTooLarge", "The body, or a /Bulk request, is too large (`tooLarge`).", ()),
    415: ("UnsupportedMediaType", "Send application/scim+json or application/json.", ()),
    429: ("TooManyRequests", "The tenant's request rate is exceeded.", ("Retry-After",)),
    501: (
        "NotImplemented",
        "/Me needs a credential that names a User (a JWT); /Bulk is turned off for the tenant.",
        (),
    ),
    503: ("ServiceUnavailable", "The database or the tenancy server is unavailable.", ()),
}
_HEADERS: dict[str, JsonSchema] = {
    "ETag": {
        "description": "The resource's strong entity tag (= `meta.version`).",
        "schema": STRING,
    },
    "Location": {"description": "The resource's URL.", "schema": STRING},
    "Preference-Applied": {
        "description": "RFC 7240: the `Prefer: return=` preference this answer honours.",
        "schema": STRING,
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WWW-Authenticate": {"schema": STRING},
}

# Sent only when the request asked for them.
_OPTIONAL_HEADERS = frozenset({"Preference-Applied"})

QUERY: dict[str, tuple[JsonSchema, str]] = {
    "filter": (STRING, "RFC 7644 §3.4.2.2 filter."),
    "sortBy": (STRING, "Attribute to sort by."),
    "sortOrder": (
        {**STRING, "examples": ["ascending", "descending"]},
        "`ascending` (default) or `descending`, in any case; used with sortBy only.",
    ),
    "startIndex": ({"type": "integer"}, "1-based index of the first result (below 1: 1)."),
    "count": ({"type": "integer"}, "Results per page (below 0: 0; capped by maxResults)."),
    "cursor": (STRING, "RFC 9865 cursor paging; empty for the first page."),
    "attributes": (STRING, "Comma-separated attributes to return."),
    "excludedAttributes": (STRING, "Comma-separated attributes to leave out."),
}


def header_ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/headers/{name}"}


def parameter_ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/parameters/{name}"}


def error_ref(status: int) -> JsonSchema:
    return {"$ref": f"#/components/responses/{ERRORS[status][0]}"}


def scim_content(schema: JsonSchema) -> JsonSchema:
    return {SCIM_MEDIA_TYPE: {"schema": schema}}


def _resource_schemas(limits: PublishedLimits) -> dict[str, JsonSchema]:
    derived = openapi_resources.load()
    user, group, enterprise = derived[USER_URN], derived[GROUP_URN], derived[ENTERPRISE_URN]
    common_read = {
        "schemas": {"type": "array", "minItems": 1, "items": STRING},
        "id": {**STRING, "readOnly": True},
        "externalId": STRING,
        "meta": ref("Meta"),
    }
    common_write = {"externalId": {"type": ["string", "null"]}}
    extension_write = {"anyOf": [ref("EnterpriseUserWrite"), {"type": "null"}]}

    def read(core: dict[str, Any], extra: dict[str, Any]) -> JsonSchema:
        properties = {**common_read, **core["read"]["properties"], **extra}
        return {
            "type": "object",
            "description": core["description"],
            "required": ["schemas", "id"],
            "properties": properties,
        }

    def write(core: dict[str, Any], extra: dict[str, Any]) -> JsonSchema:
        properties = {"schemas": declares(core["id"]), **common_write}
        properties |= core["write"]["properties"] | extra
        return {
            "type": "object",
            "description": f"{core['description']}. {_NAMES_NOTE}",
            "required": ["schemas", *core["write"].get("required", [])],
            "properties": properties,
        }

    resource = {"anyOf": [ref("User"), ref("Group")]}
    return {
        "User": read(user, {ENTERPRISE_URN: ref("EnterpriseUser")}),
        "UserWrite": limits.apply(write(user, {ENTERPRISE_URN: extension_write})),
        "Group": read(group, {}),
        "GroupWrite": limits.apply(write(group, {})),
        "EnterpriseUser": enterprise["read"],
        "EnterpriseUserWrite": limits.apply(enterprise["write"]),
        "UserList": list_response(ref("User")),
        "GroupList": list_response(ref("Group")),
        "ResourceList": list_response(resource),
    }


_HEADER_PARAMETERS = {
    "If-Match": "Entity tags (or `*`) the resource must match, else 412.",
    "If-None-Match": "Entity tags (or `*`): 304 when one matches.",
    "Prefer": "RFC 7240 `return=minimal` (204) or `return=representation` (200).",
}
_TENANT_HEADER = (
    "The tenant, if named (first of X-Tenant-ID, X-Client-ID, Tenant); 403 unless it is the "
    "credential's tenant."
)


def _parameter(name: str, where: str, description: str, schema: JsonSchema) -> JsonSchema:
    return {"name": name, "in": where, "description": description, "schema": schema}


def _parameters(header_strategy: bool) -> dict[str, JsonSchema]:
    path_id = {"type": "string", "minLength": 1}
    parameters = {"id": {"name": "id", "in": "path", "required": True, "schema": path_id}}
    parameters |= {n: _parameter(n, "header", d, STRING) for n, d in _HEADER_PARAMETERS.items()}
    parameters |= {n: _parameter(n, "query", d, s) for n, (s, d) in QUERY.items()}
    if header_strategy:
        parameters |= {h: _parameter(h, "header", _TENANT_HEADER, STRING) for h in TENANT_HEADERS}
    return parameters


def _error_responses() -> dict[str, JsonSchema]:
    return {
        name: {
            "description": description,
            "content": scim_content(ref("Error")),
            **({"headers": {h: header_ref(h) for h in headers}} if headers else {}),
        }
        for name, description, headers in ERRORS.values()
    }


def components(header_strategy: bool, limits: PublishedLimits) -> JsonSchema:
    return {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A tenant API key, or a JWT from a configured issuer.",
            }
        },
        "schemas": {**message_schemas(), **_resource_schemas(limits)},
        "parameters": _parameters(header_strategy),
        "headers": {
            name: {**header, "required": name not in _OPTIONAL_HEADERS}
            for name, header in _HEADERS.items()
        },
        "responses": _error_responses(),
    }
