"""JSON Schemas of the SCIM protocol messages (RFC 7644 §3, RFC 9865), as the service reads
and writes them, for the OpenAPI description.

Request schemas are as lenient as the server: message keys other than `schemas` are matched
case-insensitively by the server and are spelled here as the RFC spells them; `null` stands
for an absent optional value. Response schemas describe exactly what the service sends."""

from __future__ import annotations

from typing import Any

from scimtenancy_common.wire import ERROR_SCHEMA, LIST_RESPONSE_SCHEMA
from scimtenancy_transcoder import openapi_resources
from scimtenancy_transcoder.openapi_resources import JsonSchema

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

# Every scimType the service sends: RFC 7644 §3.12, `tooLarge` of /Bulk and request bodies,
# and RFC 9865's `invalidCursor`.
SCIM_TYPES = (
    *("invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax", "invalidPath"),
    *("noTarget", "invalidValue", "invalidVers", "sensitive", "tooLarge", "invalidCursor"),
)

STRING: JsonSchema = {"type": "string"}
OPTIONAL_STRING: JsonSchema = {"type": ["string", "null"]}
OPTIONAL_INTEGER: JsonSchema = {"type": ["integer", "null"]}
STATUS: JsonSchema = {"type": "string", "pattern": "^[1-5][0-9][0-9]$"}


def ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/schemas/{name}"}


def case_insensitive(*words: str) -> str:
    """A regular expression matching any of `words` in any case (ECMA 262 has no `(?i)`)."""
    spelled = ("".join(f"[{c.upper()}{c.lower()}]" for c in word) for word in words)
    return f"^({'|'.join(spelled)})$"


def declares(urn: str) -> JsonSchema:
    """`schemas` of a request: a non-empty array of URIs that holds `urn`."""
    return {"type": "array", "minItems": 1, "items": STRING, "contains": {"const": urn}}


def exactly(urn: str) -> JsonSchema:
    """`schemas` of a message the service sends."""
    return {"type": "array", "items": {"const": urn}, "minItems": 1, "maxItems": 1}


def _object(required: list[str], properties: dict[str, Any], **more: Any) -> JsonSchema:
    return {"type": "object", "required": required, "properties": properties, **more}


META = _object(
    [],
    {
        "resourceType": STRING,
        "created": {"type": "string", "format": "date-time"},
        "lastModified": {"type": "string", "format": "date-time"},
        "location": STRING,
        "version": {**STRING, "description": "The strong entity tag also sent as `ETag`."},
    },
    readOnly=True,
)

ERROR = _object(
    ["schemas", "status", "detail"],
    {
        "schemas": exactly(ERROR_SCHEMA),
        "status": {**STATUS, "description": "The HTTP status, as a string."},
        "scimType": {"enum": list(SCIM_TYPES)},
        "detail": STRING,
    },
    additionalProperties=False,
    description="RFC 7644 §3.12 error.",
)


def list_response(item: JsonSchema) -> JsonSchema:
    """RFC 7644 §3.4.2 ListResponse; with cursor paging (RFC 9865) `nextCursor` and
    `previousCursor` replace `startIndex`."""
    return _object(
        ["schemas", "totalResults", "itemsPerPage", "Resources"],
        {
            "schemas": exactly(LIST_RESPONSE_SCHEMA),
            "totalResults": {"type": "integer", "minimum": 0},
            "startIndex": {"type": "integer", "minimum": 1},
            "itemsPerPage": {"type": "integer", "minimum": 0},
            "nextCursor": STRING,
            "previousCursor": STRING,
            "Resources": {"type": "array", "items": item},
        },
        additionalProperties=False,
    )


_ATTRIBUTE_NAMES: JsonSchema = {
    "description": "Attribute names: an array, or one comma-separated string.",
    "anyOf": [{"type": "array", "items": STRING}, STRING, {"type": "null"}],
}

SEARCH_REQUEST = _object(
    ["schemas"],
    {
        "schemas": declares(SEARCH_REQUEST_URN),
        "attributes": _ATTRIBUTE_NAMES,
        "excludedAttributes": _ATTRIBUTE_NAMES,
        "filter": OPTIONAL_STRING,
        "sortBy": OPTIONAL_STRING,
        "sortOrder": {**OPTIONAL_STRING, "examples": ["ascending", "descending"]},
        "startIndex": OPTIONAL_INTEGER,
        "count": OPTIONAL_INTEGER,
        "cursor": {**OPTIONAL_STRING, "description": "RFC 9865: empty for the first page."},
    },
    description="RFC 7644 §3.4.3 query by POST. `attributes` and `excludedAttributes` "
    "exclude each other; `cursor` excludes `startIndex`.",
)

PATCH_OPERATION = _object(
    ["op"],
    {
        "op": {"type": "string", "pattern": case_insensitive("add", "replace", "remove")},
        "path": OPTIONAL_STRING,
        "value": {},
    },
    anyOf=[
        {"properties": {"op": {"pattern": case_insensitive("remove")}}},
        {"required": ["value"]},
    ],
    description="`add` and `replace` need a `value`.",
)

PATCH_OP = _object(
    ["schemas", "Operations"],
    {
        "schemas": declares(PATCH_OP_URN),
        "Operations": {"type": "array", "minItems": 1, "items": ref("PatchOperation")},
    },
    description="RFC 7644 §3.5.2 PatchOp.",
)

BULK_OPERATION = _object(
    ["method", "path"],
    {
        "method": {"type": "string", "pattern": case_insensitive("POST", "PUT", "PATCH", "DELETE")},
        "path": {"type": "string", "pattern": "^/"},
        "bulkId": OPTIONAL_STRING,
        "version": {"description": "An entity tag the target must match (like If-Match)."},
        "data": {"description": "The resource (POST, PUT) or the PatchOp (PATCH)."},
    },
    allOf=[
        {
            "anyOf": [
                {"properties": {"method": {"pattern": case_insensitive("PUT", "PATCH", "DELETE")}}},
                {
                    "required": ["bulkId"],
                    "properties": {"bulkId": {"type": "string", "minLength": 1}},
                },
            ]
        },
        {
            "anyOf": [
                {"properties": {"method": {"pattern": case_insensitive("DELETE")}}},
                {"required": ["data"], "properties": {"data": {"type": "object"}}},
            ]
        },
    ],
    description="A POST needs a `bulkId`; every method but DELETE needs `data`.",
)

BULK_REQUEST = _object(
    ["schemas", "Operations"],
    {
        "schemas": declares(BULK_REQUEST_URN),
        "failOnErrors": {"type": ["integer", "null"], "minimum": 1},
        "Operations": {"type": "array", "minItems": 1, "items": ref("BulkOperation")},
    },
    description="RFC 7644 §3.7. Operation count and payload size are limited as "
    "/ServiceProviderConfig advertises (413 `tooLarge`).",
)

BULK_RESPONSE = _object(
    ["schemas", "Operations"],
    {
        "schemas": exactly(BULK_RESPONSE_URN),
        "Operations": {
            "type": "array",
            "items": _object(
                ["method", "status"],
                {
                    "method": {"enum": ["POST", "PUT", "PATCH", "DELETE"]},
                    "bulkId": STRING,
                    "version": STRING,
                    "location": STRING,
                    "status": STATUS,
                    "response": ref("Error"),
                },
                additionalProperties=False,
            ),
        },
    },
    additionalProperties=False,
)

HEALTH = _object(
    ["status"],
    {"status": {"enum": ["alive", "ready", "not ready"]}, "detail": STRING},
    additionalProperties=False,
)


def message_schemas() -> dict[str, JsonSchema]:
    """The `components.schemas` entries for protocol messages and discovery documents (derived
    from the server's meta-schemas)."""
    return {
        "Error": ERROR,
        "Meta": META,
        "SearchRequest": SEARCH_REQUEST,
        "PatchOp": PATCH_OP,
        "PatchOperation": PATCH_OPERATION,
        "BulkRequest": BULK_REQUEST,
        "BulkOperation": BULK_OPERATION,
        "BulkResponse": BULK_RESPONSE,
        **openapi_resources.load(openapi_resources.DISCOVERY_FILE),
        "ResourceTypeList": list_response(ref("ResourceType")),
        "SchemaList": list_response(ref("Schema")),
        "Health": HEALTH,
    }
