"""The operations of the OpenAPI description (`paths`), relative to the SCIM base URL: what each
takes and every status it answers with."""

from __future__ import annotations

from typing import Any

from scimtenancy_transcoder.errors import SCIM_MEDIA_TYPE
from scimtenancy_transcoder.openapi_components import (
    GROUP_URN,
    QUERY,
    USER_URN,
    error_ref,
    header_ref,
    parameter_ref,
    scim_content,
)
from scimtenancy_transcoder.openapi_messages import (
    BULK_REQUEST_URN,
    PATCH_OP_URN,
    SEARCH_REQUEST_URN,
    JsonSchema,
    ref,
)
from scimtenancy_transcoder.strategies import TENANT_HEADERS

BODY_MEDIA_TYPES = (SCIM_MEDIA_TYPE, "application/json")
_READ = (400, 401, 403, 404, 429, 503)
_WRITE = (*_READ, 409, 412, 413, 415)
_DISCOVERY = (401, 403, 404, 429, 503)

_PROJECTION = ("attributes", "excludedAttributes")
_LIST_QUERY = tuple(QUERY)


def _body(schema: JsonSchema, examples: dict[str, Any]) -> JsonSchema:
    media = {"schema": schema, "examples": {k: {"value": v} for k, v in examples.items()}}
    return {"required": True, "content": dict.fromkeys(BODY_MEDIA_TYPES, media)}


def _ok(description: str, schema: JsonSchema, headers: tuple[str, ...] = ()) -> JsonSchema:
    response: JsonSchema = {"description": description, "content": scim_content(schema)}
    if headers:
        response["headers"] = {h: header_ref(h) for h in headers}
    return response


def _operation(
    operation_id: str,
    summary: str,
    tag: str,
    success: dict[int, JsonSchema],
    errors: tuple[int, ...],
    *,
    parameters: tuple[str, ...] = (),
    body: JsonSchema | None = None,
) -> JsonSchema:
    responses = {str(status): response for status, response in success.items()}
    for status in sorted(errors):
        responses[str(status)] = error_ref(status)
    operation: JsonSchema = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "parameters": [parameter_ref(p) for p in parameters],
        "responses": responses,
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


def _resource_paths(
    endpoint: str, name: str, example: dict[str, Any], filter_example: str
) -> dict[str, JsonSchema]:
    one = ref(name)
    body = _body(ref(f"{name}Write"), {name.lower(): example})
    by_id = {"id": "$response.body#/id"}
    links = {
        f"{verb}{name}": {"operationId": f"{verb.lower()}{name}", "parameters": by_id}
        for verb in ("Get", "Replace", "Patch", "Delete")
    }
    created = _ok(f"The created {name}.", one, ("ETag", "Location")) | {"links": links}
    current = _ok(f"The {name}.", one, ("ETag", "Location"))
    patch = _body(ref("PatchOp"), {"replace": _PATCH_EXAMPLE})
    return {
        f"/{endpoint}": {
            "get": _operation(
                f"list{endpoint}",
                f"List or filter {endpoint}",
                endpoint,
                {200: _ok("A page of results.", ref(f"{name}List"))},
                _READ,
                parameters=_LIST_QUERY,
            ),
            "post": _operation(
                f"create{name}",
                f"Create a {name}",
                endpoint,
                {201: created},
                _WRITE,
                parameters=_PROJECTION,
                body=body,
            ),
        },
        f"/{endpoint}/{{id}}": {
            "parameters": [parameter_ref("id")],
            "get": _operation(
                f"get{name}",
                f"Read a {name}",
                endpoint,
                {200: current, 304: _not_modified()},
                _READ,
                parameters=(*_PROJECTION, "If-None-Match"),
            ),
            "put": _operation(
                f"replace{name}",
                f"Replace a {name}",
                endpoint,
                {200: current},
                _WRITE,
                parameters=("If-Match", *_PROJECTION),
                body=body,
            ),
            "patch": _operation(
                f"patch{name}",
                f"Modify a {name}",
                endpoint,
                _patched(name, one),
                _WRITE,
                parameters=("If-Match", "Prefer", *_PROJECTION),
                body=patch,
            ),
            "delete": _operation(
                f"delete{name}",
                f"Delete a {name}",
                endpoint,
                {204: {"description": "Deleted."}},
                (*_READ, 412),
                parameters=("If-Match",),
            ),
        },
        f"/{endpoint}/.search": {
            "post": _search(
                f"search{endpoint}", f"Query {endpoint} by POST", endpoint, name, filter_example
            )
        },
    }


def _patched(name: str, one: JsonSchema) -> dict[int, JsonSchema]:
    """RFC 7644 §3.5.2: the resource, or nothing (by default after adding or removing some of a
    Group's members; RFC 7240 `Prefer` chooses)."""
    headers = {h: header_ref(h) for h in ("ETag", "Location", "Preference-Applied")}
    return {
        200: _ok(f"The {name}.", one, ("ETag", "Location", "Preference-Applied")),
        204: {"description": f"The {name} changed; no body.", "headers": headers},
    }


def _not_modified() -> JsonSchema:
    return {
        "description": "`If-None-Match` matches the current version.",
        "headers": {"ETag": header_ref("ETag")},
    }


def _search(
    operation_id: str, summary: str, tag: str, name: str, filter_example: str
) -> JsonSchema:
    example = {"schemas": [SEARCH_REQUEST_URN], "filter": filter_example, "count": 10}
    return _operation(
        operation_id,
        summary,
        tag,
        {200: _ok("A page of results.", ref(f"{name}List"))},
        (*_READ, 413, 415),
        body=_body(ref("SearchRequest"), {"search": example}),
    )


_PATCH_EXAMPLE = {
    "schemas": [PATCH_OP_URN],
    "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}],
}
_USER_EXAMPLE = {
    "schemas": [USER_URN],
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "active": True,
}
_GROUP_EXAMPLE = {"schemas": [GROUP_URN], "displayName": "Tour Guides"}
_BULK_EXAMPLE = {
    "schemas": [BULK_REQUEST_URN],
    "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": _USER_EXAMPLE},
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g1",
            "data": {**_GROUP_EXAMPLE, "members": [{"value": "bulkId:u1"}]},
        },
    ],
}


def _me_paths() -> dict[str, JsonSchema]:
    current = _ok("The caller's User.", ref("User"), ("ETag", "Location"))
    me = (*_READ, 501)
    write = (*_WRITE, 501)
    return {
        "/Me": {
            "description": "RFC 7644 §3.11: the User the credential names (a JWT subject).",
            "get": _operation(
                "getMe",
                "Read the caller's User",
                "Me",
                {200: current, 304: _not_modified()},
                me,
                parameters=(*_PROJECTION, "If-None-Match"),
            ),
            "put": _operation(
                "replaceMe",
                "Replace the caller's User",
                "Me",
                {200: current},
                write,
                parameters=("If-Match", *_PROJECTION),
                body=_body(ref("UserWrite"), {"user": _USER_EXAMPLE}),
            ),
            "patch": _operation(
                "patchMe",
                "Modify the caller's User",
                "Me",
                _patched("User", ref("User")),
                write,
                parameters=("If-Match", "Prefer", *_PROJECTION),
                body=_body(ref("PatchOp"), {"replace": _PATCH_EXAMPLE}),
            ),
            "delete": _operation(
                "deleteMe",
                "Delete the caller's User",
                "Me",
                {204: {"description": "Deleted."}},
                (*me, 412),
                parameters=("If-Match",),
            ),
        }
    }


def _discovery_paths() -> dict[str, JsonSchema]:
    def get(operation_id: str, summary: str, schema: str) -> JsonSchema:
        success = {200: _ok(summary, ref(schema))}
        return {"get": _operation(operation_id, summary, "Discovery", success, _DISCOVERY)}

    return {
        "/ServiceProviderConfig": get(
            "getServiceProviderConfig", "The service's features", "ServiceProviderConfig"
        ),
        "/ResourceTypes": get("listResourceTypes", "Resource types", "ResourceTypeList"),
        "/ResourceTypes/{id}": {
            "parameters": [parameter_ref("id")],
            **get("getResourceType", "One resource type", "ResourceType"),
        },
        "/Schemas": get("listSchemas", "Schemas the service enforces", "SchemaList"),
        "/Schemas/{id}": {
            "parameters": [parameter_ref("id")],
            **get("getSchema", "One schema, by URN", "Schema"),
        },
    }


def scim_paths(header_strategy: bool) -> dict[str, JsonSchema]:
    paths = {
        **_resource_paths("Users", "User", _USER_EXAMPLE, 'userName sw "b"'),
        **_resource_paths("Groups", "Group", _GROUP_EXAMPLE, 'displayName sw "T"'),
        **_me_paths(),
        "/.search": {
            "post": _search(
                "search",
                "Query every resource type",
                "Search",
                "Resource",
                'meta.lastModified gt "2020-01-01T00:00:00Z"',
            )
        },
        "/Bulk": {
            "post": _operation(
                "bulk",
                "Many operations in one request",
                "Bulk",
                {200: _ok("One result per operation.", ref("BulkResponse"))},
                (*_READ, 413, 415),
                body=_body(ref("BulkRequest"), {"bulk": _BULK_EXAMPLE}),
            )
        },
        **_discovery_paths(),
    }
    if header_strategy:
        tenant_headers = [parameter_ref(h) for h in TENANT_HEADERS]
        for item in paths.values():
            item["parameters"] = [*item.get("parameters", []), *tenant_headers]
    return paths
