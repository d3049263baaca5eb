"""The SCIM representation of a stored resource (RFC 7643 §3), rendered for one base URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from scimtenancy_common.wire import LIST_RESPONSE_SCHEMA
from scimtenancy_server.domain.clock import format_datetime
from scimtenancy_server.domain.projection import Projection, project
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ENTERPRISE_USER_SCHEMA, Attribute, ResourceType, Schema

_ENDPOINTS = {"User": "Users", "Group": "Groups"}


def resource_location(base_url: str, endpoint: str, resource_id: str) -> str:
    return f"{base_url.rstrip('/')}/{endpoint}/{resource_id}"


def _with_ref(value: Any, base_url: str, target_type: str | None) -> Any:
    """`$ref` is derived from `value` per request, never stored. The referenced resource type
    is fixed by the attribute (`groups`, `manager`) or given by the value's `type` (`members`)."""
    if not isinstance(value, dict) or "value" not in value:
        return value
    endpoint = _ENDPOINTS.get(target_type or value.get("type") or "")
    if endpoint is None:
        return value
    return {**value, "$ref": resource_location(base_url, endpoint, str(value["value"]))}


def member_references(members: Sequence[Any], base_url: str) -> list[Any]:
    """A Group's members with their `$ref`."""
    return [_with_ref(m, base_url, None) for m in members] if base_url else list(members)


def _render_references(rt: ResourceType, body: dict[str, Any], base_url: str) -> None:
    if not base_url:
        return
    for name, default_type in (("members", None), ("groups", "Group")):
        values = body.get(name)
        if isinstance(values, list) and rt.attribute(name) is not None:
            body[name] = [_with_ref(v, base_url, default_type) for v in values]
    enterprise = body.get(ENTERPRISE_USER_SCHEMA)
    if isinstance(enterprise, dict) and isinstance(enterprise.get("manager"), dict):
        manager = _with_ref(enterprise["manager"], base_url, "User")
        body[ENTERPRISE_USER_SCHEMA] = {**enterprise, "manager": manager}


def _hidden(attribute: Attribute | None) -> bool:
    return attribute is not None and attribute.never_returned


def _visible(attribute: Attribute, value: Any) -> Any:
    """The value without its never-returned sub-attributes."""
    if not attribute.hides_sub_attributes:
        return value
    items = [
        {k: v for k, v in item.items() if not _hidden(attribute.sub(k))}
        for item in (value if isinstance(value, list) else [value])
        if isinstance(item, dict)
    ]
    return items if isinstance(value, list) else (items[0] if items else None)


def _visible_extension(schema: Schema, values: Any) -> Any:
    if not isinstance(values, dict):
        return values
    shown = {}
    for key, value in values.items():
        attribute = schema.attribute(key)
        if not _hidden(attribute):
            shown[key] = value if attribute is None else _visible(attribute, value)
    return shown


def to_scim(rt: ResourceType, resource: StoredResource, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": resource.attributes.get("schemas", [rt.schema.id])}
    body["id"] = resource.id
    for name, value in resource.attributes.items():
        if name == "schemas":
            continue
        attribute = rt.attribute(name)
        if attribute is not None:
            if not _hidden(attribute):
                body[name] = _visible(attribute, value)
            continue
        extension = rt.extension(name)
        body[name] = value if extension is None else _visible_extension(extension, value)
    _render_references(rt, body, base_url)
    meta: dict[str, Any] = {
        "resourceType": rt.name,
        "created": format_datetime(resource.created),
        "lastModified": format_datetime(resource.last_modified),
        "version": resource.etag,
    }
    if base_url:
        meta["location"] = resource_location(base_url, rt.endpoint, resource.id)
    body["meta"] = meta
    return body


def render(
    rt: ResourceType, resource: StoredResource, base_url: str, projection: Projection | None = None
) -> bytes:
    body = to_scim(rt, resource, base_url)
    return orjson.dumps(project(rt, body, projection) if projection else body)


def list_response_json(
    total: int,
    resources: Sequence[bytes],
    start_index: int = 1,
    cursors: tuple[str, str] | None = None,
) -> bytes:
    """The ListResponse message (RFC 7644 §3.4.2) around resources already rendered as JSON.
    With cursor paging, `cursors` (next, previous) replace `startIndex`, each present only
    when there is a page that way (RFC 9865 §2.2)."""
    paging = b'"startIndex":%d,' % start_index
    if cursors is not None:
        named = zip((b"nextCursor", b"previousCursor"), cursors, strict=True)
        paging = b"".join(b'"%s":%s,' % (n, orjson.dumps(c)) for n, c in named if c)
    head = b'{"schemas":["%s"],"totalResults":%d,%s"itemsPerPage":%d,"Resources":[' % (
        LIST_RESPONSE_SCHEMA.encode(),
        total,
        paging,
        len(resources),
    )
    return head + b",".join(resources) + b"]}"
