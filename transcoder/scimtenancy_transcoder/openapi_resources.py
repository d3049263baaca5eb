"""JSON Schemas for the OpenAPI description, derived from the tenancy server's schema
representations (RFC 7643 §7): the documents its /Schemas serves and it enforces.

The transcoder is a separate process and does not import the server: what is derived is
committed as `openapi_resources.json` (resources) and `openapi_discovery.json` (discovery
documents), written by `python -m scimtenancy_transcoder.openapi_generate`; a unit test fails
when either is stale.

Each resource schema gets two JSON Schemas:

- `read`: what a response holds. Types are the canonical ones; `returned: never` attributes
  (`password`) are forbidden; nothing is required, since `attributes` / `excludedAttributes`
  may leave any attribute out.
- `write`: what a request may hold, as leniently as the server accepts it (RFC 7643 §2):
  `null` means no value, a single value stands for a one-element array, booleans may be the
  strings "true" / "false" in any case (Microsoft Entra ID sends them so), and read-only
  attributes are left out because the server ignores them whatever they hold.

A discovery document is written whole by the service, so its `read` schema is `exact`:
required attributes are always there and canonical values are the only values.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

JsonSchema = dict[str, Any]

DATA_FILE = "openapi_resources.json"
DISCOVERY_FILE = "openapi_discovery.json"

_READ_TYPES: dict[str, JsonSchema] = {
    "string": {"type": "string"},
    "reference": {"type": "string"},
    "binary": {"type": "string", "contentEncoding": "base64"},
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "dateTime": {"type": "string", "format": "date-time"},
}
# Booleans as Microsoft Entra ID sends them: "True", "false", ...
_BOOLEAN_STRING = {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"}


def _annotations(attribute: dict[str, Any], exact: bool = False) -> JsonSchema:
    notes: JsonSchema = {}
    if attribute.get("description"):
        notes["description"] = attribute["description"]
    if attribute.get("canonicalValues"):
        notes["enum" if exact else "examples"] = list(attribute["canonicalValues"])
    return notes


def _read_single(attribute: dict[str, Any], exact: bool) -> JsonSchema:
    if attribute.get("type") == "complex":
        subs = attribute.get("subAttributes", ())
        schema: JsonSchema = {
            "type": "object",
            "properties": {sub["name"]: _read(sub, exact) for sub in subs},
        }
        if exact and _flagged_required(subs):
            schema["required"] = _flagged_required(subs)
        return schema
    return dict(_READ_TYPES[attribute.get("type", "string")])


def _read(attribute: dict[str, Any], exact: bool = False) -> JsonSchema | bool:
    if attribute.get("returned") == "never":
        return False
    single = _read_single(attribute, exact)
    schema: JsonSchema = (
        {"type": "array", "items": single} if attribute.get("multiValued") else single
    )
    if attribute.get("mutability") == "readOnly":
        schema["readOnly"] = True
    return {**schema, **_annotations(attribute, exact)}


def _flagged_required(attributes: list[dict[str, Any]]) -> list[str]:
    return [a["name"] for a in attributes if a.get("required")]


def _writable(attribute: dict[str, Any]) -> bool:
    return attribute.get("mutability") != "readOnly" and attribute["name"] != "$ref"


def _required(attributes: list[dict[str, Any]]) -> list[str]:
    return _flagged_required([a for a in attributes if _writable(a)])


def _write_single(attribute: dict[str, Any]) -> JsonSchema:
    kind = attribute.get("type", "string")
    if kind == "complex":
        subs = [s for s in attribute.get("subAttributes", ()) if _writable(s)]
        schema: JsonSchema = {
            "type": ["object", "null"],
            "properties": {sub["name"]: _write(sub) for sub in subs},
        }
        if _required(subs):
            schema["required"] = _required(subs)
        return schema
    if kind == "boolean":
        return {"anyOf": [{"type": ["boolean", "null"]}, _BOOLEAN_STRING]}
    single = dict(_READ_TYPES[kind])
    single["type"] = [single["type"], "null"]
    return single


def _write(attribute: dict[str, Any]) -> JsonSchema:
    single = _write_single(attribute)
    if attribute.get("required"):
        single = _without_null(single)
    schema: JsonSchema = (
        {"anyOf": [{"type": "array", "items": single}, single]}
        if attribute.get("multiValued")
        else single
    )
    if attribute.get("mutability") == "writeOnly":
        schema["writeOnly"] = True
    return {**schema, **_annotations(attribute)}


def _without_null(schema: JsonSchema) -> JsonSchema:
    """A required attribute must hold a value: `null` and blank strings count as missing."""
    if "anyOf" in schema:
        return {"anyOf": [_without_null(s) for s in schema["anyOf"]]}
    kinds = schema.get("type")
    if isinstance(kinds, list):
        kept = [k for k in kinds if k != "null"]
        schema = {**schema, "type": kept[0] if len(kept) == 1 else kept}
    if schema.get("type") == "string":
        schema = {**schema, "pattern": r"\S"}  # blank counts as missing too
    return schema


def derive(document: dict[str, Any]) -> dict[str, Any]:
    """The read and write JSON Schemas of one SCIM schema representation."""
    attributes = document["attributes"]
    write: JsonSchema = {
        "type": "object",
        "properties": {a["name"]: _write(a) for a in attributes if _writable(a)},
    }
    if _required(attributes):
        write["required"] = _required(attributes)
    return {
        "id": document["id"],
        "name": document["name"],
        "description": document.get("description", ""),
        "read": {"type": "object", "properties": {a["name"]: _read(a) for a in attributes}},
        "write": write,
    }


# A Group's members are bounded by the request size only, like the server's `max_values`.
UNCOUNTED_PROPERTIES = frozenset({"members"})
# `schemas` holds URNs, which the server checks against the schemas it knows, not by length.
UNBOUNDED_PROPERTIES = frozenset({"schemas"})


def with_limits(schema: Any, max_string_length: int, max_values: int, name: str = "") -> Any:
    """The schema with the server's input limits published: `maxLength` on every string and
    `maxItems` on every multi-valued attribute (RFC 7643 attributes; `name` is the property)."""
    if isinstance(schema, list):
        return [with_limits(s, max_string_length, max_values, name) for s in schema]
    if not isinstance(schema, dict) or name in UNBOUNDED_PROPERTIES:
        return schema
    result: JsonSchema = {}
    for key, value in schema.items():
        if key == "properties":
            result[key] = {
                prop: with_limits(sub, max_string_length, max_values, prop)
                for prop, sub in value.items()
            }
        elif key in ("items", "anyOf"):
            result[key] = with_limits(value, max_string_length, max_values, name)
        else:
            result[key] = value
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds:
        result["maxLength"] = max_string_length
    if "array" in kinds and name not in UNCOUNTED_PROPERTIES:
        result["maxItems"] = max_values
    return result


def derive_exact(document: dict[str, Any]) -> JsonSchema:
    """The JSON Schema of a document the service writes whole under `document`'s schema."""
    return _read_single({"type": "complex", "subAttributes": document["attributes"]}, exact=True)


def derive_all(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The data file's content: derived schemas keyed by SCIM schema URN."""
    return {d["id"]: derive(d) for d in sorted(documents, key=lambda d: str(d["id"]))}


def dump(derived: dict[str, Any]) -> str:
    return json.dumps(derived, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def load(data_file: str = DATA_FILE) -> dict[str, Any]:
    """Committed derived schemas: by default the resources', keyed by SCIM schema URN."""
    text = resources.files("scimtenancy_transcoder").joinpath(data_file).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
