"""The derived parts of the OpenAPI description: the committed files are what the generator
writes from the server's schemas now, and the discovery schemas are true of what it serves."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jsonschema_rs
import orjson

from scimtenancy_server.domain import discovery
from scimtenancy_server.domain.render import list_response_json
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY, Schema
from scimtenancy_transcoder import openapi_generate
from scimtenancy_transcoder.openapi import build_document


def test_the_committed_derived_files_are_what_the_generator_writes() -> None:
    package = resources.files("scimtenancy_transcoder")
    for name, text in openapi_generate.generated().items():
        assert package.joinpath(name).read_text("utf-8") == text, (
            f"{name} is stale: run {openapi_generate.COMMAND}"
        )
    assert openapi_generate.main(["--check"]) == 0


def validator(name: str) -> Any:
    schema = {**build_document(), "$ref": f"#/components/schemas/{name}"}
    return jsonschema_rs.Draft202012Validator(schema)


BASE = "https://scim.example/tenants/t/scim/v2"
SPC = discovery.service_provider_config(BASE, 200, 100, 1000, 1_048_576)


def test_the_service_provider_config_matches_its_schema() -> None:
    spc = validator("ServiceProviderConfig")
    assert spc.is_valid(SPC)
    assert not spc.is_valid({k: v for k, v in SPC.items() if k != "bulk"})
    assert not spc.is_valid({**SPC, "bulk": {"supported": True}})
    assert not spc.is_valid({**SPC, "schemas": [discovery.RESOURCE_TYPE_SCHEMA]})


def test_every_resource_type_document_matches_its_schema() -> None:
    documents = [discovery.resource_type_document(rt, BASE) for rt in DEFAULT_REGISTRY.all()]
    listed = _listed(documents)
    assert validator("ResourceTypeList").is_valid(listed)
    assert not validator("ResourceType").is_valid({**documents[0], "endpoint": None})
    assert not validator("ResourceType").is_valid(
        {k: v for k, v in documents[0].items() if k != "id"}
    )


def test_every_served_schema_matches_the_schema_of_schemas() -> None:
    served = [
        discovery.schema_document(s, BASE) for s in discovery.served_schemas(DEFAULT_REGISTRY)
    ]
    assert {s["id"] for s in served} >= {discovery.SPC_SCHEMA, discovery.SCHEMA_SCHEMA}
    assert validator("SchemaList").is_valid(_listed(served))


# A tenant's extension, registered with no more than the server asks of it.
REGISTERED = {
    "id": "urn:example:params:scim:schemas:extension:badge:2.0:User",
    "attributes": [
        {"name": "badge", "uniqueness": "perTenant"},
        {"name": "site", "type": "complex", "subAttributes": [{"name": "room", "type": "?"}]},
    ],
}


def test_a_registered_extension_is_served_as_its_schema_says() -> None:
    document = discovery.schema_document(Schema.from_json(REGISTERED), BASE)
    schema = validator("Schema")
    assert schema.is_valid(document)
    unnamed = {**document, "attributes": [{"type": "string"}]}
    assert not schema.is_valid(unnamed)
    odd_mutability = {**document, "attributes": [{"name": "b", "mutability": "sometimes"}]}
    assert not schema.is_valid(odd_mutability)


def test_patch_may_answer_without_a_body_and_bulk_may_be_turned_off() -> None:
    paths = build_document()["paths"]
    for patch in (
        paths["/Users/{id}"]["patch"],
        paths["/Groups/{id}"]["patch"],
        paths["/Me"]["patch"],
    ):
        assert "patch_answer" in patch["responses"]["204"]["description"]
    assert paths["/Bulk"]["post"]["responses"]["501"] == {
        "$ref": "#/components/responses/NotImplemented"
    }


def _listed(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The ListResponse the server answers for these discovery documents."""
    listed: dict[str, Any] = orjson.loads(
        list_response_json(len(documents), [orjson.dumps(d) for d in documents])
    )
    return listed
