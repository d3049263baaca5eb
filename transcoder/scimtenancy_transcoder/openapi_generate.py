"""Writes the derived parts of the OpenAPI description from the tenancy server's schema
representations; run it after changing them (`--check`: fail when a committed file is stale).

    python -m scimtenancy_transcoder.openapi_generate [--check]

- `openapi_resources.json`: the User, Group and enterprise extension schemas
  (`openapi_resources.derive_all`);
- `openapi_discovery.json`: the components of the discovery documents, from the meta-schemas
  (RFC 7643 §5-§7) the server serves at /Schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from scimtenancy_transcoder import openapi_resources
from scimtenancy_transcoder.openapi_messages import exactly, ref
from scimtenancy_transcoder.openapi_resources import JsonSchema

COMMAND = "python -m scimtenancy_transcoder.openapi_generate"
PACKAGE = Path(__file__).parent
SERVER_SCHEMAS = PACKAGE.parents[1] / "server" / "scimtenancy_server" / "domain" / "schemas"
# A tenant's extension schemas are served as registered. The server checks that one has an
# `id` and `attributes`, that each attribute has a `name`, and its `mutability` and `returned`;
# no other key is sure to be there or to hold a canonical value.
_REGISTERED_SCHEMA_REQUIRES = ["id", "attributes"]
_CHECKED_AT_REGISTRATION = frozenset({"mutability", "returned"})


def _documents(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text("utf-8")) for path in sorted(folder.glob("*.json"))]


def _unchecked(name: str, schema: JsonSchema) -> JsonSchema:
    if "enum" not in schema or name in _CHECKED_AT_REGISTRATION:
        return schema
    return {**{k: v for k, v in schema.items() if k != "enum"}, "examples": schema["enum"]}


def _as_registered(attribute: JsonSchema) -> JsonSchema:
    """The schema of an attribute definition in a served schema: only its `name` is certain."""
    properties = {name: _unchecked(name, s) for name, s in attribute["properties"].items()}
    if "subAttributes" in properties:
        subs = properties["subAttributes"]
        properties["subAttributes"] = {**subs, "items": _as_registered(subs["items"])}
    return {**attribute, "required": ["name"], "properties": properties}


def _discovery_component(document: dict[str, Any]) -> JsonSchema:
    derived = openapi_resources.derive_exact(document)
    properties, required = derived["properties"], derived.get("required", [])
    if "attributes" in properties:
        attributes = properties["attributes"]
        properties["attributes"] = {**attributes, "items": _as_registered(attributes["items"])}
        required = _REGISTERED_SCHEMA_REQUIRES
    # RFC 7643 §3.1: `id` is common to all but the ServiceProviderConfig, which has none.
    common = ["schemas", *(["id"] if "id" in properties else [])]
    return {
        **derived,
        "description": document["description"],
        "required": list(dict.fromkeys([*common, *required])),
        "properties": {"schemas": exactly(document["id"]), **properties, "meta": ref("Meta")},
    }


def discovery_components(documents: list[dict[str, Any]]) -> dict[str, JsonSchema]:
    """`components.schemas` entries of the discovery documents, by the last part of the URN."""
    return {d["id"].rsplit(":", 1)[1]: _discovery_component(d) for d in documents}


def generated() -> dict[str, str]:
    """The content of each derived file, by file name."""
    resources = openapi_resources.derive_all(_documents(SERVER_SCHEMAS))
    discovery = discovery_components(_documents(SERVER_SCHEMAS / "meta"))
    return {
        openapi_resources.DATA_FILE: openapi_resources.dump(resources),
        openapi_resources.DISCOVERY_FILE: openapi_resources.dump(discovery),
    }


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    stale = []
    for name, text in generated().items():
        path = PACKAGE / name
        if path.exists() and path.read_text("utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.write_text(text, "utf-8")
    if check and stale:
        sys.stderr.write(f"stale: {', '.join(stale)}; run {COMMAND} to regenerate\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
