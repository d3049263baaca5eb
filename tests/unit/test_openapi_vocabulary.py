"""The OpenAPI description speaks SCIM's vocabulary: every message and discovery schema names
the attributes that scim2-models' models of RFC 7643 / RFC 7644 name, as the wire spells them,
and the examples are documents those models accept. scim2-models is a test dependency only,
so it checks the description here rather than feeding it at run time."""

from __future__ import annotations

import re
from typing import Any

import pytest
import scim2_models as scim

from scimtenancy_transcoder.openapi import build_document

SCHEMAS = build_document()["components"]["schemas"]
# component → the model, and the model's attributes the component leaves out on purpose
VOCABULARY: dict[str, tuple[type[scim.BaseModel], set[str]]] = {
    "Error": (scim.Error, set()),
    "Meta": (scim.Meta, set()),
    "UserList": (scim.ListResponse[scim.User[Any]], set()),
    "SearchRequest": (scim.SearchRequest, set()),
    "PatchOp": (scim.PatchOp, set()),
    "PatchOperation": (scim.PatchOperation, set()),
    "BulkRequest": (scim.BulkRequest, set()),
    "BulkResponse": (scim.BulkResponse, set()),
    # RFC 7644 §3.7: one model for both directions; a request's operation has no outcome.
    "BulkOperation": (scim.BulkOperation, {"location", "response", "status"}),
    # The resource base class brings `id` and `externalId`, which a configuration has not.
    "ServiceProviderConfig": (scim.ServiceProviderConfig, {"id", "externalId"}),
    "ResourceType": (scim.ResourceType, {"externalId"}),
    "Schema": (scim.Schema, {"externalId"}),
}


def wire_names(model: type[scim.BaseModel]) -> set[str]:
    return set(model.model_json_schema(by_alias=True)["properties"])


@pytest.mark.parametrize("component", sorted(VOCABULARY))
def test_each_message_names_the_attributes_scim_defines(component: str) -> None:
    model, left_out = VOCABULARY[component]
    assert set(SCHEMAS[component]["properties"]) == wire_names(model) - left_out


def test_a_bulk_result_names_the_attributes_of_an_answered_operation() -> None:
    result = SCHEMAS["BulkResponse"]["properties"]["Operations"]["items"]
    assert set(result["properties"]) == wire_names(scim.BulkOperation) - {"path", "data"}


def test_keywords_are_read_in_any_case() -> None:
    """The server matches `op` and `method` case-insensitively (Entra ID sends `Replace`)."""
    op = re.compile(SCHEMAS["PatchOperation"]["properties"]["op"]["pattern"])
    method = re.compile(SCHEMAS["BulkOperation"]["properties"]["method"]["pattern"])
    ops = [o.value for o in scim.PatchOperation.Op]
    assert all(op.match(spelled) for o in ops for spelled in (o, o.upper(), o.title()))
    assert not op.match("move")
    methods = [m.value for m in scim.BulkOperation.Method]
    assert all(method.match(spelled) for m in methods for spelled in (m, m.lower()))
    assert not method.match("GET")


def examples() -> dict[str, Any]:
    """The request examples of the description, by name."""
    found: dict[str, Any] = {}
    for item in build_document()["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            for media in body.get("content", {}).values():
                found |= {name: example["value"] for name, example in media["examples"].items()}
    return found


MODELS: dict[str, tuple[type[scim.BaseModel], scim.Context]] = {
    "user": (scim.User[Any], scim.Context.RESOURCE_CREATION_REQUEST),
    "group": (scim.Group, scim.Context.RESOURCE_CREATION_REQUEST),
    "replace": (scim.PatchOp[scim.User[Any]], scim.Context.RESOURCE_PATCH_REQUEST),
    "search": (scim.SearchRequest, scim.Context.SEARCH_REQUEST),
    "bulk": (scim.BulkRequest[scim.User[Any] | scim.Group], scim.Context.BULK_REQUEST),
}


def test_every_example_is_a_message_scim_accepts() -> None:
    found = examples()
    assert found.keys() == MODELS.keys()
    for name, example in found.items():
        model, context = MODELS[name]
        accepted = model.model_validate(example, scim_ctx=context)
        if isinstance(accepted, scim.BulkRequest):
            # An operation that does not validate becomes a failed result instead.
            assert all(op.response is None for op in accepted.operations or ())
