"""Replays of Okta's SCIM 2.0 provisioning traffic, request by request.

Requests follow Okta's "SCIM 2.0 Protocol Reference" ("Okta and SCIM Version 2.0",
developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20): user import and existence checks,
create, PUT updates, deactivation by PATCH, and Group Push. Okta accepts a 200 with the resource
or a 204 for PATCH ("The SCIM server response to PATCH method requests can also be a HTTP 204
response"), so PATCH outcomes are checked with a GET.
"""

from __future__ import annotations

import asyncio
import uuid

from e2e.stack import ScimClient, Stack
from replay.replay_helpers import JsonObject, assert_patched, create, member_values, patch_op

from scimtenancy_server.domain.schema import GROUP_SCHEMA, USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
OKTA_PAGE = 100  # Okta always pages with count=100, then startIndex += 100


def okta_user(user_name: str) -> JsonObject:
    """A user as Okta's Create User request sends it, password and empty groups included;
    externalId is the Okta user id (`00u…`)."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": f"00u{uuid.uuid4().hex[:17]}",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }


async def fetch(scim: ScimClient, path: str) -> JsonObject:
    """GET with the query already in `path`, encoded as Okta encodes it."""
    response = await scim.get(path)
    assert response.status_code == 200, response.text
    found: JsonObject = response.json()
    return found


async def create_users(scim: ScimClient, user_names: list[str]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(user_names), 20):
        batch = user_names[start : start + 20]
        created = await asyncio.gather(*(create(scim, "/Users", okta_user(n)) for n in batch))
        ids.extend(user["id"] for user in created)
    return ids


async def tenant(stack: Stack) -> ScimClient:
    return await stack.tenant(IsolationLevel.STANDARD)


async def test_okta_existence_check_misses_with_empty_list(stack: Stack) -> None:
    """Determine if the User already exists: `filter=userName eq ...&startIndex=1&count=100`;
    a miss is 200 with an empty ListResponse whose paging numbers are integers."""
    scim = await tenant(stack)

    found = await fetch(
        scim, "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
    )

    assert found["schemas"] == [LIST_RESPONSE]
    assert found["totalResults"] == 0
    assert found["Resources"] == []
    assert found["startIndex"] == 1
    assert found["itemsPerPage"] == 0
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        assert type(found[key]) is int, key


async def test_okta_create_user(stack: Stack) -> None:
    """Create the User: Okta's POST /Users body (with password, locale and `groups: []`); the
    201 response carries the user, never the password, and the existence check now finds it."""
    scim = await tenant(stack)
    body = okta_user("test.user@okta.local")

    response = await scim.post("/Users", body)

    assert response.status_code == 201, response.text
    user = response.json()
    assert user["id"]
    assert user["meta"]["resourceType"] == "User"
    for attribute in ("userName", "name", "emails", "displayName", "locale", "externalId"):
        assert user[attribute] == body[attribute], attribute
    assert user["active"] is True
    assert "password" not in user
    assert await fetch(scim, f"/Users/{user['id']}") == user
    found = await fetch(
        scim, "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
    )
    assert found["totalResults"] == 1
    assert [r["id"] for r in found["Resources"]] == [user["id"]]


async def test_okta_duplicate_user_name_in_another_case_conflicts(stack: Stack) -> None:
    """A user that already exists must be refused with 409 (Okta stops the job on it);
    userName is caseExact=false (RFC 7643 §4.1.1), so a case variant is the same user, and
    the error is scimType "uniqueness" (RFC 7644 §3.3). Okta's suite also checks that an
    upper-cased userName filter finds the user."""
    scim = await tenant(stack)
    user = await create(scim, "/Users", okta_user("test.user@okta.local"))

    duplicate = await scim.post("/Users", okta_user("Test.User@OKTA.local"))

    assert duplicate.status_code == 409, duplicate.text
    error = duplicate.json()
    assert ERROR in error["schemas"]
    assert error["scimType"] == "uniqueness"
    assert str(error["status"]) == "409"
    listed = await fetch(scim, "/Users?startIndex=1&count=100")
    assert listed["totalResults"] == 1
    upper = await fetch(
        scim, "/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100"
    )
    assert [r["id"] for r in upper["Resources"]] == [user["id"]]


async def test_okta_put_replaces_the_full_profile(stack: Stack) -> None:
    """Update a specific User (PUT): Okta GETs the user, changes what moved and PUTs the whole
    object back, id, meta and groups included; the response is the updated user."""
    scim = await tenant(stack)
    user = await create(scim, "/Users", okta_user("test.user@okta.local"))
    path = f"/Users/{user['id']}"
    await fetch(scim, path)
    body = {
        "schemas": [USER_SCHEMA],
        "id": user["id"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [
            {
                "primary": True,
                "value": "test.user@okta.local",
                "type": "work",
                "display": "test.user@okta.local",
            }
        ],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
    }

    response = await scim.put(path, body)

    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["id"] == user["id"]
    assert replaced["name"] == body["name"]
    assert replaced["emails"] == body["emails"]
    assert replaced["active"] is True
    assert "password" not in replaced
    assert await fetch(scim, path) == replaced


async def test_okta_deactivates_with_a_pathless_replace(stack: Stack) -> None:
    """Deactivating a user: `{"op":"replace","value":{"active":false}}` without a path. Okta
    never deletes users, so the user stays readable and listed, inactive."""
    scim = await tenant(stack)
    user = await create(scim, "/Users", okta_user("test.user@okta.local"))
    path = f"/Users/{user['id']}"

    response = await scim.patch(path, patch_op({"op": "replace", "value": {"active": False}}))

    assert_patched(response)
    found = await fetch(scim, path)
    assert found["active"] is False
    assert found["userName"] == "test.user@okta.local"
    assert found["name"] == user["name"]
    listed = await fetch(
        scim, "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
    )
    assert [(r["id"], r["active"]) for r in listed["Resources"]] == [(user["id"], False)]


async def test_okta_push_group(stack: Stack) -> None:
    """Create Groups (Group Push): POST with `members: []`; Okta then imports groups with
    `GET /Groups?startIndex=1&count=100`."""
    scim = await tenant(stack)

    response = await scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": []}
    )

    assert response.status_code == 201, response.text
    group = response.json()
    assert group["displayName"] == "Test SCIMv2"
    assert group["meta"]["resourceType"] == "Group"
    assert member_values(group) == []
    assert await fetch(scim, f"/Groups/{group['id']}") == group
    listed = await fetch(scim, "/Groups?startIndex=1&count=100")
    assert (listed["totalResults"], listed["startIndex"]) == (1, 1)
    assert [r["id"] for r in listed["Resources"]] == [group["id"]]


async def test_okta_renames_group_with_id_in_the_value(stack: Stack) -> None:
    """Update a specific Group name: a pathless `replace` whose value repeats the group's own
    read-only `id` next to the new displayName; the id is unchanged, the name is new."""
    scim = await tenant(stack)
    user = await create(scim, "/Users", okta_user("test.user@okta.local"))
    group = await create(
        scim,
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Test SCIMv2",
            "members": [{"value": user["id"]}],
        },
    )
    path = f"/Groups/{group['id']}"

    response = await scim.patch(
        path,
        patch_op({"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv20"}}),
    )

    assert_patched(response)
    found = await fetch(scim, path)
    assert found["id"] == group["id"]
    assert found["displayName"] == "Test SCIMv20"
    assert member_values(found) == [user["id"]]


async def test_okta_adds_group_members(stack: Stack) -> None:
    """Update specific Group membership: `{"op":"add","path":"members","value":[...]}` with
    value and display, onto a pushed group that has no members yet."""
    scim = await tenant(stack)
    first = await create(scim, "/Users", okta_user("first@okta.local"))
    second = await create(scim, "/Users", okta_user("second@okta.local"))
    group = await create(
        scim, "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": []}
    )
    path = f"/Groups/{group['id']}"

    response = await scim.patch(
        path,
        patch_op(
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"value": first["id"], "display": "first@okta.local"},
                    {"value": second["id"], "display": "second@okta.local"},
                ],
            }
        ),
    )

    assert_patched(response)
    assert member_values(await fetch(scim, path)) == sorted([first["id"], second["id"]])


async def test_okta_removes_a_member_by_value_filter(stack: Stack) -> None:
    """Update specific Group membership, Okta's sample in full: `remove` with the path
    `members[value eq "<id>"]`, then `add` of another member, in one PATCH."""
    scim = await tenant(stack)
    ids = await create_users(scim, [f"member{i}@okta.local" for i in range(3)])
    group = await create(
        scim,
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Test SCIMv2",
            "members": [{"value": ids[0]}, {"value": ids[1]}],
        },
    )
    path = f"/Groups/{group['id']}"

    response = await scim.patch(
        path,
        patch_op(
            {"op": "remove", "path": f'members[value eq "{ids[1]}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": ids[2], "display": "member2@okta.local"}],
            },
        ),
    )

    assert_patched(response)
    assert member_values(await fetch(scim, path)) == sorted([ids[0], ids[2]])


async def test_okta_replaces_all_members(stack: Stack) -> None:
    """Full push of the membership: `{"op":"replace","path":"members","value":[...]}` replaces
    every member with exactly those listed."""
    scim = await tenant(stack)
    ids = await create_users(scim, [f"member{i}@okta.local" for i in range(3)])
    group = await create(
        scim,
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Test SCIMv2",
            "members": [{"value": ids[0]}, {"value": ids[1]}],
        },
    )
    path = f"/Groups/{group['id']}"

    response = await scim.patch(
        path,
        patch_op(
            {
                "op": "replace",
                "path": "members",
                "value": [
                    {"value": ids[1], "display": "member1@okta.local"},
                    {"value": ids[2], "display": "member2@okta.local"},
                ],
            }
        ),
    )

    assert_patched(response)
    assert member_values(await fetch(scim, path)) == sorted([ids[1], ids[2]])


async def walk(scim: ScimClient, count: int) -> list[str]:
    """Pages through /Users as Okta's import does, checking each page's numbers."""
    ids: list[str] = []
    start = 1
    while True:
        page = await fetch(scim, f"/Users?startIndex={start}&count={count}")
        resources = page["Resources"]
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(resources)
        assert len(resources) <= count
        ids.extend(r["id"] for r in resources)
        total: int = page["totalResults"]
        if start + count > total:
            assert start + len(resources) - 1 == total
            return ids
        assert len(resources) == count
        start += count


async def test_okta_import_pages_in_a_stable_order(stack: Stack) -> None:
    """Retrieve Users: Okta pages with `count=100`, `startIndex += 100`, until totalResults;
    the order must be the same whatever count and startIndex, with no duplicates or gaps."""
    scim = await tenant(stack)
    created = await create_users(scim, [f"user{i:03}@okta.local" for i in range(OKTA_PAGE + 5)])

    okta_walk = await walk(scim, OKTA_PAGE)

    assert len(okta_walk) == len(set(okta_walk)) == len(created)
    assert set(okta_walk) == set(created)
    assert await walk(scim, OKTA_PAGE) == okta_walk
    assert await walk(scim, 7) == okta_walk
    tail = await fetch(scim, f"/Users?startIndex={OKTA_PAGE + 1}&count={OKTA_PAGE}")
    assert [r["id"] for r in tail["Resources"]] == okta_walk[OKTA_PAGE:]
