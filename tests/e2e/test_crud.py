"""Create, get, patch, list with a filter, replace and delete, through HTTP and gRPC to storage,
for both isolation levels and every tenant URL strategy."""

from __future__ import annotations

import pytest
from e2e.stack import STRATEGIES, Stack
from helpers import user_body

from scimtenancy_server.domain.schema import GROUP_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_user_lifecycle(stack: Stack, isolation: IsolationLevel, strategy: str) -> None:
    scim = await stack.tenant(isolation, strategy)

    created = await scim.post("/Users", user_body("BJensen", name={"givenName": "Barbara"}))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/scim+json"
    user = created.json()
    user_id = user["id"]
    location = f"{scim.base_url}/Users/{user_id}"
    assert created.headers["location"] == location
    assert user["meta"]["location"] == location
    assert user["meta"]["resourceType"] == "User"
    assert created.headers["etag"] == user["meta"]["version"]

    fetched = await scim.get(f"/Users/{user_id}")
    assert fetched.status_code == 200
    assert fetched.json() == user

    patched = await scim.patch(
        f"/Users/{user_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": "name.givenName", "value": "Babs"},
                {"op": "add", "value": {"title": "Tour Guide"}},
            ],
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == {"givenName": "Babs"}
    assert patched.json()["title"] == "Tour Guide"
    assert patched.headers["etag"] != created.headers["etag"]

    listed = await scim.get("/Users", params={"filter": 'userName eq "bjensen"'})
    assert listed.status_code == 200
    page = listed.json()
    assert page["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (1, 1, 1)
    assert page["Resources"][0]["id"] == user_id

    replaced = await scim.put(f"/Users/{user_id}", user_body("bjensen2", active=False))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["userName"] == "bjensen2"
    assert "title" not in replaced.json()

    assert (await scim.delete(f"/Users/{user_id}")).status_code == 204
    assert (await scim.get(f"/Users/{user_id}")).status_code == 404
    assert (await scim.delete(f"/Users/{user_id}")).status_code == 404


async def test_group_lifecycle(stack: Stack, isolation: IsolationLevel) -> None:
    scim = await stack.tenant(isolation)
    member = (await scim.post("/Users", user_body("member"))).json()["id"]
    created = await scim.post(
        "/Groups",
        {"schemas": [GROUP_SCHEMA], "displayName": "Admins", "members": [{"value": member}]},
    )
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    assert created.headers["location"] == f"{scim.base_url}/Groups/{group_id}"
    removed = await scim.patch(
        f"/Groups/{group_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": member}]}],
        },
    )
    # A membership PATCH answers 204 by default (RFC 7644 §3.5.2; Entra ID and Okta expect it).
    assert removed.status_code == 204, removed.text
    assert removed.headers["etag"] == '"2"'
    assert removed.headers["location"] == f"{scim.base_url}/Groups/{group_id}"
    assert "members" not in (await scim.get(f"/Groups/{group_id}")).json()
    found = await scim.get("/Groups", params={"filter": 'displayName eq "admins"'})
    assert found.json()["totalResults"] == 1
    assert (await scim.delete(f"/Groups/{group_id}")).status_code == 204


async def test_list_pages_with_start_index_and_count(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    ids = sorted([(await scim.post("/Users", user_body(f"u{i}"))).json()["id"] for i in range(5)])
    page = (await scim.get("/Users", params={"startIndex": 2, "count": 2})).json()
    assert page["totalResults"] == 5
    assert (page["startIndex"], page["itemsPerPage"]) == (2, 2)
    assert [r["id"] for r in page["Resources"]] == ids[1:3]
    empty = (await scim.get("/Users", params={"count": 0})).json()
    assert (empty["totalResults"], empty["Resources"]) == (5, [])
    miss = (await scim.get("/Users", params={"filter": 'userName eq "nobody"'})).json()
    assert (miss["totalResults"], miss["Resources"]) == (0, [])


async def test_if_match_guards_writes(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    created = await scim.post("/Users", user_body("etag"))
    path = f"/Users/{created.json()['id']}"
    stale = {"If-Match": '"999"'}
    assert (await scim.put(path, user_body("etag2"), headers=stale)).status_code == 412
    assert (await scim.delete(path, headers=stale)).status_code == 412
    current = {"If-Match": created.headers["etag"]}
    assert (await scim.put(path, user_body("etag2"), headers=current)).status_code == 200
    assert (await scim.delete(path, headers=current)).status_code == 412  # version moved on
    assert (await scim.get(path)).json()["userName"] == "etag2"


async def test_if_none_match_answers_304_while_unchanged(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    created = await scim.post("/Users", user_body("cached"))
    path, etag = f"/Users/{created.json()['id']}", created.headers["etag"]
    unchanged = await scim.get(path, headers={"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == etag
    assert (await scim.get(path, headers={"If-None-Match": '"0", *'})).status_code == 304
    await scim.put(path, user_body("cached", title="new"))
    changed = await scim.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["title"] == "new"


async def test_user_name_uniqueness_ignores_case(stack: Stack, isolation: IsolationLevel) -> None:
    scim = await stack.tenant(isolation)
    assert (await scim.post("/Users", user_body("BJensen"))).status_code == 201
    duplicate = await scim.post("/Users", user_body("bjensen"))
    assert duplicate.status_code == 409
    assert duplicate.json()["scimType"] == "uniqueness"
    assert (await scim.get("/Users")).json()["totalResults"] == 1


async def test_me_needs_a_credential_that_names_a_user(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    response = await scim.get("/Me")
    assert response.status_code == 501
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "/Me" in response.json()["detail"]
