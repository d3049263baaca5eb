"""The OpenAPI description's resource schemas are those the server enforces, and say what the
server accepts and returns."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema_rs
import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import InputLimits
from scimtenancy_server.domain.schema import USER as USER_TYPE
from scimtenancy_server.domain.validation import canonical_attributes
from scimtenancy_transcoder import openapi_resources
from scimtenancy_transcoder.openapi import build_document
from scimtenancy_transcoder.openapi_components import PublishedLimits

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def server_schema_documents() -> list[dict[str, Any]]:
    folder = resources.files("scimtenancy_server.domain").joinpath("schemas")
    return [
        json.loads(entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]


def test_the_committed_resource_schemas_are_derived_from_the_servers() -> None:
    derived = openapi_resources.dump(openapi_resources.derive_all(server_schema_documents()))
    committed = resources.files("scimtenancy_transcoder").joinpath(openapi_resources.DATA_FILE)
    assert committed.read_text("utf-8") == derived, (
        "the server's schemas changed; regenerate as openapi_resources.py says"
    )


def validator(name: str) -> Any:
    """A validator of one component schema, with the document's other components in reach."""
    document = build_document()
    schema = {**document, "$ref": f"#/components/schemas/{name}"}
    return jsonschema_rs.Draft202012Validator(schema)


USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [USER], "userName": "bjensen"},
        {"schemas": [USER, ENTERPRISE], "userName": "b", ENTERPRISE: {"department": "R&D"}},
        {"schemas": [USER], "userName": "b", "active": "True", "emails": {"value": "b@x"}},
        {"schemas": [USER], "userName": "b", "title": None, "id": 7, "groups": "ignored"},
    ],
)
def test_what_the_server_accepts_matches_the_write_schema(body: dict[str, Any]) -> None:
    canonical_attributes(USER_TYPE, body)
    assert validator("UserWrite").is_valid(body)


@pytest.mark.parametrize(
    "body",
    [
        {"userName": "bjensen"},
        {"schemas": [], "userName": "b"},
        {"schemas": [USER]},
        {"schemas": [USER], "userName": None},
        {"schemas": [USER], "userName": "b", "active": "yes"},
        {"schemas": [USER], "userName": "b", "name": [{"givenName": "B"}]},
        {"schemas": [USER], "userName": "b", ENTERPRISE: "R&D"},
    ],
)
def test_what_the_server_refuses_violates_the_write_schema(body: dict[str, Any]) -> None:
    with pytest.raises(ScimError):
        canonical_attributes(USER_TYPE, body)
    assert not validator("UserWrite").is_valid(body)


def test_a_returned_user_never_holds_a_password() -> None:
    user = {"schemas": [USER], "id": "1", "userName": "b", "meta": {"resourceType": "User"}}
    assert validator("User").is_valid(user)
    assert not validator("User").is_valid({**user, "password": "secret"})
    assert validator("User").is_valid({"schemas": [USER], "id": "1"})  # `attributes=id`


def test_errors_carry_a_known_scim_type() -> None:
    error = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "invalidFilter",
        "detail": "bad filter",
    }
    assert validator("Error").is_valid(error)
    assert not validator("Error").is_valid({**error, "scimType": "oops"})
    assert not validator("Error").is_valid({**error, "status": 400})


def test_the_input_limits_are_published_and_agree_with_validation() -> None:
    limits = InputLimits(max_string_length=10, max_values=3)
    document = build_document(limits=PublishedLimits(10, 3))
    schema = {**document, "$ref": "#/components/schemas/UserWrite"}
    described = jsonschema_rs.Draft202012Validator(schema)
    for body in (
        {"schemas": [USER], "userName": "x" * 11},
        {"schemas": [USER], "userName": "u", "emails": [{"value": "e"}] * 4},
        {"schemas": [USER], "userName": "u", "name": {"givenName": "g" * 11}},
    ):
        assert not described.is_valid(body)
        with pytest.raises(ScimError) as refused:
            canonical_attributes(USER_TYPE, body, limits=limits)
        assert refused.value.scim_type == "invalidValue"
    fitting = {"schemas": [USER], "userName": "x" * 10, "emails": [{"value": "e"}] * 3}
    assert described.is_valid(fitting)
    canonical_attributes(USER_TYPE, fitting, limits=limits)
    group = document["components"]["schemas"]["GroupWrite"]["properties"]["members"]
    assert "maxItems" not in json.dumps(group)  # members are bounded by the request size
