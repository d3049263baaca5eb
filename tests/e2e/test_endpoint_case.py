"""Endpoint names in any case, through HTTP on every URL strategy (issue 13, class 2).

Clients spell endpoints as loosely as attribute names, which RFC 7643 §2.1 makes
case-insensitive: hand-written integrations and some conformance suites send `/users`,
`/GROUPS` or `/serviceproviderconfig`. Each routes like its RFC 7644 §3.2 spelling, and every
URL rendered for it (`Location`, `meta.location`, `$ref`, a bulk result's `location`) stays
canonical whatever case the request used."""

from __future__ import annotations

from typing import Any

import pytest
from e2e.stack import STRATEGIES, ScimClient, Stack
from e2e.test_bad_input import assert_scim_error
from helpers import user_body

from scimtenancy_server.domain.schema import GROUP_SCHEMA, USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


async def _tenant(stack: Stack, strategy: str) -> ScimClient:
    return await stack.tenant(IsolationLevel.STANDARD, strategy)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_a_user_lives_its_whole_life_under_a_lower_case_endpoint(
    stack: Stack, strategy: str
) -> None:
    scim = await _tenant(stack, strategy)
    created = await scim.post("/users", user_body("bjensen"))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    location = f"{scim.base_url}/Users/{user_id}"
    assert created.headers["location"] == location
    assert created.json()["meta"]["location"] == location

    fetched = await scim.get(f"/USERS/{user_id}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["location"] == location
    replaced = await scim.put(f"/uSeRs/{user_id}", user_body("bjensen", title="Guide"))
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["location"] == location
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "title", "value": "x"}],
    }
    patched = await scim.patch(f"/users/{user_id}", patch)
    assert patched.status_code == 200, patched.text
    assert patched.headers["location"] == location
    assert patched.json()["meta"]["location"] == location

    listed = (await scim.get("/users")).json()
    assert [u["meta"]["location"] for u in listed["Resources"]] == [location]
    search = {"schemas": [SEARCH_REQUEST], "filter": 'userName eq "bjensen"'}
    for path in ("/users/.search", "/Users/.SEARCH", "/.Search"):
        found = await scim.post(path, search)
        assert found.status_code == 200, (path, found.text)
        assert [u["id"] for u in found.json()["Resources"]] == [user_id]

    assert (await scim.delete(f"/users/{user_id}")).status_code == 204
    assert_scim_error(await scim.get(f"/Users/{user_id}"), 404)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_group_members_refer_to_the_canonical_endpoint(stack: Stack, strategy: str) -> None:
    scim = await _tenant(stack, strategy)
    member = (await scim.post("/USERS", user_body("member"))).json()
    body = {"schemas": [GROUP_SCHEMA], "displayName": "Ops", "members": [{"value": member["id"]}]}
    created = await scim.post("/GROUPS", body)
    assert created.status_code == 201, created.text
    group = created.json()
    assert created.headers["location"] == f"{scim.base_url}/Groups/{group['id']}"
    assert group["members"][0]["$ref"] == f"{scim.base_url}/Users/{member['id']}"
    fetched = await scim.get(f"/groups/{group['id']}")
    assert fetched.headers["location"] == created.headers["location"]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_discovery_endpoints_answer_in_any_case(stack: Stack, strategy: str) -> None:
    scim = await _tenant(stack, strategy)
    spellings = {
        "/ServiceProviderConfig": ("/serviceproviderconfig", "/SERVICEPROVIDERCONFIG"),
        "/ResourceTypes": ("/resourcetypes",),
        "/ResourceTypes/User": (
            "/resourcetypes/User",
            "/RESOURCETYPES/User",
            "/resourcetypes/user",
        ),
        "/Schemas": ("/schemas",),
        f"/Schemas/{USER_SCHEMA}": (f"/schemas/{USER_SCHEMA}", f"/SCHEMAS/{USER_SCHEMA.upper()}"),
    }
    for canonical, others in spellings.items():
        expected = await scim.get(canonical)
        assert expected.status_code == 200, (canonical, expected.text)
        for path in others:
            answer = await scim.get(path)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.json() == expected.json(), path
    assert_scim_error(await scim.post("/schemas", {}), 405)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_bulk_in_any_case_renders_canonical_locations(stack: Stack, strategy: str) -> None:
    scim = await _tenant(stack, strategy)
    operations = [
        {"method": "POST", "path": "/users", "bulkId": "u", "data": user_body("bulked")},
        {"method": "PATCH", "path": "/USERS/bulkId:u", "data": _title_patch("y")},
    ]
    answer = await scim.post("/bulk", {"schemas": [BULK_REQUEST], "Operations": operations})
    assert answer.status_code == 200, answer.text
    results = answer.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "200"]
    user_id = results[0]["location"].rsplit("/", 1)[1]
    assert [r["location"] for r in results] == [f"{scim.base_url}/Users/{user_id}"] * 2


def _title_patch(title: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "title", "value": title}],
    }


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_me_in_any_case_is_me(stack: Stack, strategy: str) -> None:
    scim = await _tenant(stack, strategy)
    canonical = await scim.get("/Me")  # an API key names no User: the same refusal either way
    lower = await scim.get("/me")
    assert (lower.status_code, lower.json()) == (canonical.status_code, canonical.json())
    assert_scim_error(lower, 501)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_a_type_name_renders_its_endpoint(stack: Stack, strategy: str) -> None:
    scim = await _tenant(stack, strategy)
    created = await scim.post("/user", user_body("named"))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{scim.base_url}/Users/{created.json()['id']}"


async def test_unknown_endpoints_stay_unknown(stack: Stack) -> None:
    scim = await _tenant(stack, "path")
    for path in ("/people", "/userss", "/Users/x/.search"):
        assert_scim_error(await scim.post(path, user_body("nobody")), 404)
    assert (await scim.get("/Users")).json()["totalResults"] == 0


async def test_the_tenant_in_a_path_keeps_its_own_rules(stack: Stack) -> None:
    """Only the endpoint is folded: a tenant id is compared exactly, so another spelling of
    it names another tenant, whatever the endpoint's case."""
    scim = await _tenant(stack, "path")
    shouted = scim.as_tenant_in_url(scim.tenant_id.upper())
    for path in ("/Users", "/users"):
        refused = await shouted.post(path, user_body("shouted"))
        assert_scim_error(refused, 403)
        assert refused.json()["detail"] == "the credential does not belong to the tenant in the URL"
    assert (await scim.get("/users")).json()["totalResults"] == 0
