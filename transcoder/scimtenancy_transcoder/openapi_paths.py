"""The operations of the OpenAPI description (`paths`), one table row per route: what each takes
and every status it answers with. SCIM paths are relative to the SCIM base URL; the probes and
the description itself are at the root of the origin."""

from __future__ import annotations

from dataclasses import dataclass

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
    ref,
)
from scimtenancy_transcoder.openapi_resources import JsonSchema
from scimtenancy_transcoder.strategies import TENANT_HEADERS

OPENAPI_PATH = "/openapi.json"
ROOT_PATHS = ("/healthz", "/readyz", OPENAPI_PATH)
BODY_MEDIA_TYPES = (SCIM_MEDIA_TYPE, "application/json")
READ = (400, 401, 403, 404, 429, 503)
WRITE = (*READ, 409, 412, 413, 415)
DISCOVERY = (401, 403, 404, 429, 503)
PROJECTION = ("attributes", "excludedAttributes")
ME = (501,)  # RFC 7644 §3.11: /Me needs a credential that names a User
_TAGS = {
    ".search": "Search",
    **dict.fromkeys(("ServiceProviderConfig", "ResourceTypes", "Schemas"), "Discovery"),
    **{path.lstrip("/"): "Operations" for path in ROOT_PATHS},
}
_PATH_DESCRIPTIONS = {"/Me": "RFC 7644 §3.11: the User the credential names (a JWT subject)."}


@dataclass(frozen=True)
class Kind:
    """What an operation takes and answers: success responses by status, error statuses."""

    responses: dict[int, JsonSchema]
    errors: tuple[int, ...]
    parameters: tuple[str, ...] = ()
    body: JsonSchema | None = None


@dataclass(frozen=True)
class Route:
    """One row of the table; `route` is the method and the path, as in "GET /Users"."""

    route: str
    operation_id: str
    summary: str
    kind: Kind

    @property
    def method(self) -> str:
        return self.route.split(" ")[0].lower()

    @property
    def path(self) -> str:
        return self.route.split(" ")[1]


def _body(schema: str, example_name: str, example: JsonSchema) -> JsonSchema:
    media = {"schema": ref(schema), "examples": {example_name: {"value": example}}}
    return {"required": True, "content": dict.fromkeys(BODY_MEDIA_TYPES, media)}


def _ok(description: str, schema: str, headers: tuple[str, ...] = ()) -> JsonSchema:
    response: JsonSchema = {"description": description, "content": scim_content(ref(schema))}
    if headers:
        response["headers"] = {h: header_ref(h) for h in headers}
    return response


_USER_EXAMPLE = {
    "schemas": [USER_URN],
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "active": True,
}
_GROUP_EXAMPLE = {"schemas": [GROUP_URN], "displayName": "Tour Guides"}
_EXAMPLES: dict[str, JsonSchema] = {"User": _USER_EXAMPLE, "Group": _GROUP_EXAMPLE}
_PATCH_EXAMPLE = {
    "schemas": [PATCH_OP_URN],
    "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}],
}
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
_CURRENT = ("ETag", "Location")
_NOT_MODIFIED = {
    "description": "`If-None-Match` matches the current version.",
    "headers": {"ETag": header_ref("ETag")},
}


def _write_body(name: str) -> JsonSchema:
    return _body(f"{name}Write", name.lower(), _EXAMPLES[name])


def _list(name: str) -> Kind:
    return Kind({200: _ok("A page of results.", f"{name}List")}, READ, tuple(QUERY))


def _create(name: str) -> Kind:
    by_id = {"id": "$response.body#/id"}
    links = {
        f"{verb}{name}": {"operationId": f"{verb.lower()}{name}", "parameters": by_id}
        for verb in ("Get", "Replace", "Patch", "Delete")
    }
    created = _ok(f"The created {name}.", name, _CURRENT) | {"links": links}
    return Kind({201: created}, WRITE, PROJECTION, _write_body(name))


def _read(noun: str, name: str, more: tuple[int, ...] = ()) -> Kind:
    responses = {200: _ok(f"{noun}.", name, _CURRENT), 304: _NOT_MODIFIED}
    return Kind(responses, (*READ, *more), (*PROJECTION, "If-None-Match"))


def _replace(noun: str, name: str, more: tuple[int, ...] = ()) -> Kind:
    responses = {200: _ok(f"{noun}.", name, _CURRENT)}
    return Kind(responses, (*WRITE, *more), ("If-Match", *PROJECTION), _write_body(name))


def _patch(noun: str, name: str, more: tuple[int, ...] = ()) -> Kind:
    """RFC 7644 §3.5.2: the resource, or nothing. RFC 7240 `Prefer` chooses; without it, the
    tenant's `patch_answer` does (by default nothing only after adding or removing some of a
    Group's members)."""
    headers = (*_CURRENT, "Preference-Applied")
    nothing = {
        "description": f"{noun} changed; no body (`Prefer: return=minimal`, a change of a "
        "Group's members only, or the tenant's `patch_answer` is `no_content`).",
        "headers": {h: header_ref(h) for h in headers},
    }
    responses = {200: _ok(f"{noun}.", name, headers), 204: nothing}
    body = _body("PatchOp", "replace", _PATCH_EXAMPLE)
    return Kind(responses, (*WRITE, *more), ("If-Match", "Prefer", *PROJECTION), body)


def _delete(more: tuple[int, ...] = ()) -> Kind:
    return Kind({204: {"description": "Deleted."}}, (*READ, *more, 412), ("If-Match",))


def _search(name: str, example: str) -> Kind:
    search = {"schemas": [SEARCH_REQUEST_URN], "filter": example, "count": 10}
    page = {200: _ok("A page of results.", f"{name}List")}
    return Kind(page, (*READ, 413, 415), body=_body("SearchRequest", "search", search))


def _bulk() -> Kind:
    """RFC 7644 §3.7; 501 for a tenant with /Bulk turned off."""
    result = {200: _ok("One result per operation.", "BulkResponse")}
    return Kind(result, (*READ, 413, 415, 501), body=_body("BulkRequest", "bulk", _BULK_EXAMPLE))


def _discovery(path: str, operation_id: str, summary: str, schema: str) -> Route:
    return Route(f"GET {path}", operation_id, summary, Kind({200: _ok(summary, schema)}, DISCOVERY))


def _root(*responses: tuple[int, str, str]) -> Kind:
    """An answer in JSON, not SCIM: (status, description, component or "" for any object)."""

    def content(schema: str) -> JsonSchema:
        return {"application/json": {"schema": ref(schema) if schema else {"type": "object"}}}

    return Kind({s: {"description": d, "content": content(c)} for s, d, c in responses}, ())


def _resource_routes(endpoint: str, name: str, example: str) -> list[Route]:
    every, one, the = f"/{endpoint}", f"/{endpoint}/{{id}}", f"The {name}"
    search = _search(name, example)
    return [
        Route(f"GET {every}", f"list{endpoint}", f"List or filter {endpoint}", _list(name)),
        Route(f"POST {every}", f"create{name}", f"Create a {name}", _create(name)),
        Route(f"GET {one}", f"get{name}", f"Read a {name}", _read(the, name)),
        Route(f"PUT {one}", f"replace{name}", f"Replace a {name}", _replace(the, name)),
        Route(f"PATCH {one}", f"patch{name}", f"Modify a {name}", _patch(the, name)),
        Route(f"DELETE {one}", f"delete{name}", f"Delete a {name}", _delete()),
        Route(f"POST {every}/.search", f"search{endpoint}", f"Query {endpoint} by POST", search),
    ]


_CALLER = "The caller's User"
_SPC = "The service's features"
_READINESS = "Readiness: the tenancy server and its database answer"
_RECENT = 'meta.lastModified gt "2020-01-01T00:00:00Z"'
_LIVE = _root((200, "Ready.", "Health"))
_READY = _root((200, "Ready.", "Health"), (503, "Not ready.", "Health"))
_DOCUMENT = _root((200, "OpenAPI 3.1 document.", ""))
ROUTES = (
    *_resource_routes("Users", "User", 'userName sw "b"'),
    *_resource_routes("Groups", "Group", 'displayName sw "T"'),
    Route("GET /Me", "getMe", "Read the caller's User", _read(_CALLER, "User", ME)),
    Route("PUT /Me", "replaceMe", "Replace the caller's User", _replace(_CALLER, "User", ME)),
    Route("PATCH /Me", "patchMe", "Modify the caller's User", _patch(_CALLER, "User", ME)),
    Route("DELETE /Me", "deleteMe", "Delete the caller's User", _delete(ME)),
    Route("POST /.search", "search", "Query every resource type", _search("Resource", _RECENT)),
    Route("POST /Bulk", "bulk", "Many operations in one request", _bulk()),
    _discovery("/ServiceProviderConfig", "getServiceProviderConfig", _SPC, "ServiceProviderConfig"),
    _discovery("/ResourceTypes", "listResourceTypes", "Resource types", "ResourceTypeList"),
    _discovery("/ResourceTypes/{id}", "getResourceType", "One resource type", "ResourceType"),
    _discovery("/Schemas", "listSchemas", "Schemas the service enforces", "SchemaList"),
    _discovery("/Schemas/{id}", "getSchema", "One schema, by URN", "Schema"),
    Route("GET /healthz", "liveness", "Liveness: answers while the process runs", _LIVE),
    Route("GET /readyz", "readiness", _READINESS, _READY),
    Route(f"GET {OPENAPI_PATH}", "openapi", "This description", _DOCUMENT),
)


def _operation(route: Route) -> JsonSchema:
    kind = route.kind
    responses = {str(status): response for status, response in kind.responses.items()}
    responses |= {str(status): error_ref(status) for status in sorted(kind.errors)}
    first = route.path.split("/")[1]
    operation: JsonSchema = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [_TAGS.get(first, first)],
        "responses": responses,
    }
    if kind.parameters:
        operation["parameters"] = [parameter_ref(p) for p in kind.parameters]
    if kind.body is not None:
        operation["requestBody"] = kind.body
    if route.path in ROOT_PATHS:
        operation["security"] = []
    return operation


def _path_item(path: str, header_strategy: bool) -> JsonSchema:
    if path in ROOT_PATHS:
        return {"servers": [{"url": "/"}]}
    item: JsonSchema = {}
    if path in _PATH_DESCRIPTIONS:
        item["description"] = _PATH_DESCRIPTIONS[path]
    parameters = [parameter_ref("id")] if "{id}" in path else []
    parameters += [parameter_ref(h) for h in TENANT_HEADERS] if header_strategy else []
    if parameters:
        item["parameters"] = parameters
    return item


def paths(header_strategy: bool) -> dict[str, JsonSchema]:
    """Every path and operation; with the header strategy, SCIM paths take the tenant headers."""
    items: dict[str, JsonSchema] = {}
    for route in ROUTES:
        item = items.setdefault(route.path, _path_item(route.path, header_strategy))
        item[route.method] = _operation(route)
    return items
