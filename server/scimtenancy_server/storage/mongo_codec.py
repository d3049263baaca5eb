"""The canonical stored form of a resource in MongoDB (see ARCHITECTURE.md, "Storage model").

Field names may not contain `.` or start with `$` (FerretDB refuses them, and MongoDB's query
language cannot address them), so attribute keys are escaped: `%` → `%25`, `.` → `%2E`, a
leading `$` → `%24`. Schema-URN keys such as the Enterprise User extension rely on this.
"""

from __future__ import annotations

from typing import Any

from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.domain.text_folding import fold_identity
from scimtenancy_server.storage.repository import Scope


def escape_key(key: str) -> str:
    if "." not in key and "%" not in key and not key.startswith("$"):
        return key
    escaped = key.replace("%", "%25").replace(".", "%2E")
    return "%24" + escaped[1:] if escaped.startswith("$") else escaped


def unescape_key(key: str) -> str:
    if "%" not in key:
        return key
    return key.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def _map_keys(value: Any, mapper: Any) -> Any:
    if isinstance(value, dict):
        return {mapper(k): _map_keys(v, mapper) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_keys(v, mapper) for v in value]
    return value


def shadow_field(lookup: str) -> str:
    """The field holding the folded copy (domain/text_folding.py) of a caseExact=false lookup
    attribute (`userName` → `lc_userName`; `emails.value` → `lc_emails_value`, an array).
    The `lc_` names date from when the copy was lower-cased; `mongo_refold` migrates those."""
    return "lc_" + lookup.replace(".", "_")


def _folded(attributes: dict[str, Any], lookup: str) -> Any:
    name, _, sub = lookup.partition(".")
    value = attributes.get(name)
    if not sub:
        return fold_identity(value) if isinstance(value, str) else None
    items = value if isinstance(value, list) else []
    found = [
        fold_identity(i[sub]) for i in items if isinstance(i, dict) and isinstance(i.get(sub), str)
    ]
    return found or None


def shadow_fields(resource_type: ResourceType, attributes: dict[str, Any]) -> dict[str, Any]:
    """The shadow fields of a resource's attributes: absent where there is nothing to fold."""
    fields = {shadow_field(name): _folded(attributes, name) for name in resource_type.lookup}
    return {field: value for field, value in fields.items() if value is not None}


def collection_name(scope: Scope) -> str:
    endpoint = scope.resource_type.endpoint.lower()
    if scope.isolation is IsolationLevel.STRICT:
        return f"t.{scope.tenant_id}.{endpoint}"
    return endpoint


def scoped(scope: Scope, query: dict[str, Any]) -> dict[str, Any]:
    """Adds the tenant to a query on a shared collection; strict collections hold one tenant."""
    if scope.isolation is IsolationLevel.STRICT:
        return query
    return {"tenant_id": scope.tenant_id, **query}


def owned(scope: Scope, document: dict[str, Any]) -> bool:
    """Whether a document read by `_id` belongs to the scope's tenant."""
    return scope.isolation is IsolationLevel.STRICT or document.get("tenant_id") == scope.tenant_id


def document_id(scope: Scope, resource_id: str) -> str:
    if scope.isolation is IsolationLevel.STRICT:
        return resource_id
    return f"{scope.tenant_id}:{resource_id}"


def to_document(scope: Scope, resource: StoredResource) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": document_id(scope, resource.id),
        "id": resource.id,
        "version": resource.version,
        "created": resource.created,
        "last_modified": resource.last_modified,
        "data": _map_keys(resource.attributes, escape_key),
    }
    document.update(shadow_fields(scope.resource_type, resource.attributes))
    return scoped(scope, document)


def from_document(resource_type: ResourceType, document: dict[str, Any]) -> StoredResource:
    return StoredResource(
        resource_type=resource_type.name,
        id=document["id"],
        version=document["version"],
        created=document["created"],
        last_modified=document["last_modified"],
        attributes=stored_attributes(document),
    )


def stored_attributes(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document's SCIM attributes, keys unescaped."""
    attributes: dict[str, Any] = _map_keys(document.get("data") or {}, unescape_key)
    return attributes
