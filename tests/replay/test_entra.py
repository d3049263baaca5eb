"""Replays of Microsoft Entra ID's SCIM provisioning traffic, request by request.

Bodies follow Microsoft's own samples:
- "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID"
  (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups)
- "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra user
  provisioning service" (.../application-provisioning-config-problem-scim-compatibility), which
  shows what Entra sends by default and with the `aadOptscim062020` tenant-URL flag.

Entra treats both 200 and 204 as success for PATCH ("Update to the group PATCH request should
yield an HTTP 204 No Content"; "It isn't necessary to include the entire resource in the PATCH
response"), so every PATCH here accepts either and the outcome is checked with a GET.
"""

from __future__ import annotations

import uuid
from typing import Any

from e2e.stack import ScimClient, Stack
from e2e.test_bad_input import assert_scim_error
from replay.replay_helpers import (
    PATCH_OP,
    JsonObject,
    assert_patched,
    create,
    member_values,
    patch_op,
)

from scimtenancy_server.domain.schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
# Entra's Create Group sample still declares this Microsoft schema next to the core one.
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
EMPLOYEE_NUMBER = f"{ENTERPRISE_USER_SCHEMA}:employeeNumber"


def entra_user(user_name: str, **extra: Any) -> JsonObject:
    """A user as Entra's default attribute mappings send it on POST /Users."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "displayName": "Joy Young",
        "emails": [{"primary": True, "type": "work", "value": f"work.{user_name}"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Joy Young", "familyName": "Young", "givenName": "Joy"},
        "roles": [],
        **extra,
    }


def entra_group(display_name: str, **extra: Any) -> JsonObject:
    """A group as Entra creates it: no members; they follow in PATCH requests."""
    return {
        "schemas": [GROUP_SCHEMA],
        "externalId": str(uuid.uuid4()),
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
        **extra,
    }


async def fetch(scim: ScimClient, path: str, **params: str) -> JsonObject:
    response = await scim.get(path, params=params or None)
    assert response.status_code == 200, response.text
    found: JsonObject = response.json()
    return found


async def tenant(stack: Stack) -> ScimClient:
    return await stack.tenant(IsolationLevel.STANDARD)


async def test_entra_create_user_with_enterprise_extension(stack: Stack) -> None:
    """Create User: Entra's POST /Users body, with the enterprise extension's employeeNumber,
    department and manager (a reference to a user provisioned before)."""
    scim = await tenant(stack)
    manager = await create(scim, "/Users", entra_user("manager@contoso.com"))
    body = entra_user(
        "Test_User_00aa00aa@testuser.com",
        **{
            ENTERPRISE_USER_SCHEMA: {
                "employeeNumber": "701984",
                "department": "Sales",
                "manager": {"value": manager["id"]},
            }
        },
    )

    response = await scim.post("/Users", body)

    assert response.status_code == 201, response.text
    user = response.json()
    assert user["id"]
    assert response.headers["location"] == f"{scim.base_url}/Users/{user['id']}"
    assert user["meta"]["resourceType"] == "User"
    assert set(user["schemas"]) == {USER_SCHEMA, ENTERPRISE_USER_SCHEMA}
    for attribute in ("externalId", "userName", "displayName", "emails", "name"):
        assert user[attribute] == body[attribute], attribute
    assert user["active"] is True
    extension = user[ENTERPRISE_USER_SCHEMA]
    assert extension["employeeNumber"] == "701984"
    assert extension["department"] == "Sales"
    assert extension["manager"]["value"] == manager["id"]
    assert await fetch(scim, f"/Users/{user['id']}") == user


async def test_entra_existence_check_returns_empty_list_on_a_miss(stack: Stack) -> None:
    """Get User by query / Test Connection: Entra looks a user up by its matching attribute
    (userName, or externalId) and expects 200 with an empty ListResponse when none matches."""
    scim = await tenant(stack)
    user_name = "Test_User_11bb11bb@testuser.com"
    external_id = str(uuid.uuid4())
    by_user_name = {"filter": f'userName eq "{user_name}"'}
    by_external_id = {"filter": f'externalId eq "{external_id}"'}

    for query in (by_user_name, by_external_id, {"filter": f'userName eq "{uuid.uuid4()}"'}):
        miss = await fetch(scim, "/Users", **query)
        assert miss["schemas"] == [LIST_RESPONSE]
        assert (miss["totalResults"], miss["Resources"]) == (0, [])

    user = await create(scim, "/Users", entra_user(user_name, externalId=external_id))

    for query in (by_user_name, by_external_id):
        hit = await fetch(scim, "/Users", **query)
        assert hit["schemas"] == [LIST_RESPONSE]
        assert hit["totalResults"] == 1
        assert [r["id"] for r in hit["Resources"]] == [user["id"]]
        assert hit["Resources"][0]["userName"] == user_name


async def test_entra_uniqueness_check_by_dotted_work_email_filter(stack: Stack) -> None:
    """Uniqueness check on a mapped email: Entra sends `emails[type eq "work"].value eq "…"`,
    which is not RFC 7644 §3.4.2.2 grammar (issue 13, class 1). It must answer as
    `emails[type eq "work" and value eq "…"]`: one email value both of type work and with
    that address, never a home address that happens to be equal."""
    scim = await tenant(stack)
    address = "joy.young@contoso.com"
    await create(scim, "/Users", entra_user("joy@contoso.com"))  # another work address
    at_work = entra_user("at.work@contoso.com", emails=[{"type": "work", "value": address}])
    at_home = entra_user("at.home@contoso.com", emails=[{"type": "home", "value": address}])
    holder = await create(scim, "/Users", at_work)
    await create(scim, "/Users", at_home)

    dotted = f'emails[type eq "work"].value eq "{address.upper()}"'
    hit = await fetch(scim, "/Users", filter=dotted)
    assert [r["id"] for r in hit["Resources"]] == [holder["id"]]
    rfc_form = await fetch(
        scim, "/Users", filter=f'emails[type eq "work" and value eq "{address}"]'
    )
    assert (hit["totalResults"], hit["Resources"]) == (1, rfc_form["Resources"])

    present = await fetch(scim, "/Users", filter='emails[type eq "home"].value pr')
    assert [r["userName"] for r in present["Resources"]] == ["at.home@contoso.com"]
    miss = await fetch(scim, "/Users", filter='emails[type eq "work"].value eq "no@contoso.com"')
    assert (miss["schemas"], miss["totalResults"], miss["Resources"]) == ([LIST_RESPONSE], 0, [])

    unknown = await scim.get("/Users", params={"filter": 'emails[type eq "work"].nick eq "x"'})
    assert_scim_error(unknown, 400, "invalidFilter")


async def test_entra_patch_with_capitalised_operations(stack: Stack) -> None:
    """Update User (default mode): Entra emits `op` as Add, Replace and Remove ("Don't require
    a case-sensitive match on structural elements in SCIM, in particular PATCH op")."""
    scim = await tenant(stack)
    user = await create(scim, "/Users", entra_user("babs@contoso.com", title="Tour Guide"))
    path = f"/Users/{user['id']}"

    response = await scim.patch(
        path,
        patch_op(
            {"op": "Add", "path": "nickName", "value": "Babs"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Replace", "path": EMPLOYEE_NUMBER, "value": "Eqpj"},
            {"op": "Replace", "path": "userName", "value": "renamed@contoso.com"},
            {"op": "Remove", "path": "title"},
        ),
    )

    assert_patched(response)
    found = await fetch(scim, path)
    assert found["nickName"] == "Babs"
    assert found["name"] == {
        "formatted": "Joy Young",
        "familyName": "updatedFamilyName",
        "givenName": "Joy",
    }
    assert found[ENTERPRISE_USER_SCHEMA]["employeeNumber"] == "Eqpj"
    assert found["userName"] == "renamed@contoso.com"
    assert "title" not in found
    assert found["emails"] == user["emails"]
    renamed = await fetch(scim, "/Users", filter='userName eq "renamed@contoso.com"')
    assert [r["id"] for r in renamed["Resources"]] == [user["id"]]


async def test_entra_active_sent_as_string_boolean(stack: Stack) -> None:
    """Requests made to disable users, without the flag: `"value": "False"`, a string; the
    user must end up with the boolean active=false (and "True" must bring it back)."""
    scim = await tenant(stack)
    user = await create(scim, "/Users", entra_user("string.bool@contoso.com"))
    path = f"/Users/{user['id']}"

    disabled = await scim.patch(
        path, patch_op({"op": "Replace", "path": "active", "value": "False"})
    )

    assert_patched(disabled)
    assert (await fetch(scim, path))["active"] is False

    enabled = await scim.patch(path, patch_op({"op": "Replace", "path": "active", "value": "True"}))

    assert_patched(enabled)
    assert (await fetch(scim, path))["active"] is True


async def test_entra_soft_delete_keeps_the_user_readable(stack: Stack) -> None:
    """Disable User: soft delete is `active=false`; "The user object should be returned in a
    request whether or not the user is active", and `active=true` restores it."""
    scim = await tenant(stack)
    user = await create(scim, "/Users", entra_user("soft.deleted@contoso.com"))
    path = f"/Users/{user['id']}"

    # Keys in the order of the sample: Operations first, then schemas.
    disable = {
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
        "schemas": [PATCH_OP],
    }

    response = await scim.patch(path, disable)

    assert_patched(response)
    found = await fetch(scim, path)
    assert found["active"] is False
    assert found["userName"] == "soft.deleted@contoso.com"
    listed = await fetch(scim, "/Users", filter='userName eq "soft.deleted@contoso.com"')
    assert listed["totalResults"] == 1
    assert listed["Resources"][0]["id"] == user["id"]
    assert listed["Resources"][0]["active"] is False

    restored = await scim.patch(path, patch_op({"op": "Replace", "path": "active", "value": True}))

    assert_patched(restored)
    assert (await fetch(scim, path))["active"] is True


async def test_entra_replace_work_email_by_filter_path(stack: Stack) -> None:
    """Update User [Multi-valued properties]: `Replace` of `emails[type eq "work"].value`
    changes only the work address."""
    scim = await tenant(stack)
    body = entra_user("multi.valued@contoso.com")
    body["emails"].append({"type": "home", "value": "home@example.com"})
    user = await create(scim, "/Users", body)
    path = f"/Users/{user['id']}"

    response = await scim.patch(
        path,
        patch_op(
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ),
    )

    assert_patched(response)
    found = await fetch(scim, path)
    assert sorted((e["type"], e["value"]) for e in found["emails"]) == [
        ("home", "home@example.com"),
        ("work", "updatedEmail@microsoft.com"),
    ]
    work = next(e for e in found["emails"] if e["type"] == "work")
    assert work.get("primary") is True
    assert found["name"]["familyName"] == "updatedFamilyName"


async def test_entra_add_work_email_to_a_user_without_emails(stack: Stack) -> None:
    """Entra sends `Add` to `emails[type eq "work"].value` when the user has no work email yet
    (Microsoft Q&A "Entra ID patch sending Add instead of Replace"): it must create one."""
    scim = await tenant(stack)
    body = entra_user("no.emails@contoso.com")
    del body["emails"]
    user = await create(scim, "/Users", body)
    path = f"/Users/{user['id']}"
    assert "emails" not in user

    response = await scim.patch(
        path,
        patch_op(
            {"op": "Replace", "path": "title", "value": "tester"},
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "joe@example.com"},
        ),
    )

    assert_patched(response)
    found = await fetch(scim, path)
    assert found["title"] == "tester"
    assert [(e.get("type"), e.get("value")) for e in found["emails"]] == [
        ("work", "joe@example.com")
    ]


async def test_entra_create_group_with_the_documented_body(stack: Stack) -> None:
    """Create Group: Entra's sample body declares the ADSCIM Group schema beside the core one,
    carries externalId and no members ("Groups are created with an empty members list")."""
    scim = await tenant(stack)
    body = entra_group("displayName")
    body["schemas"] = [GROUP_SCHEMA, ADSCIM_GROUP]

    response = await scim.post("/Groups", body)

    assert response.status_code == 201, response.text
    group = response.json()
    assert group["displayName"] == "displayName"
    assert group["externalId"] == body["externalId"]
    assert member_values(group) == []
    assert await fetch(scim, f"/Groups/{group['id']}") == group


async def test_entra_group_lookup_excludes_members(stack: Stack) -> None:
    """Get Group / Get Group by displayName: Entra queries groups with
    `excludedAttributes=members`; the members attribute must be left out of the response."""
    scim = await tenant(stack)
    member = await create(scim, "/Users", entra_user("member@contoso.com"))
    group = await create(
        scim, "/Groups", entra_group("Sales Team", members=[{"value": member["id"]}])
    )

    found = await fetch(
        scim, "/Groups", excludedAttributes="members", filter='displayName eq "Sales Team"'
    )

    assert found["schemas"] == [LIST_RESPONSE]
    assert found["totalResults"] == 1
    [resource] = found["Resources"]
    assert resource["id"] == group["id"]
    assert resource["displayName"] == "Sales Team"
    assert resource["externalId"] == group["externalId"]
    assert "members" not in resource

    single = await fetch(scim, f"/Groups/{group['id']}", excludedAttributes="members")
    assert single["id"] == group["id"]
    assert "members" not in single
    assert member_values(await fetch(scim, f"/Groups/{group['id']}")) == [member["id"]]

    miss = await fetch(
        scim, "/Groups", excludedAttributes="members", filter='displayName eq "No Such Team"'
    )
    assert (miss["totalResults"], miss["Resources"]) == (0, [])


async def test_entra_add_members_to_a_group_without_members(stack: Stack) -> None:
    """Update Group [Add Members]: `Add` to `members` of a group created without any, with
    `$ref: null`; adding an existing member again must not duplicate it."""
    scim = await tenant(stack)
    first = await create(scim, "/Users", entra_user("first@contoso.com"))
    second = await create(scim, "/Users", entra_user("second@contoso.com"))
    group = await create(scim, "/Groups", entra_group("Empty Group"))
    path = f"/Groups/{group['id']}"
    assert member_values(group) == []

    response = await scim.patch(
        path,
        patch_op({"op": "Add", "path": "members", "value": [{"$ref": None, "value": first["id"]}]}),
    )

    assert_patched(response)
    assert member_values(await fetch(scim, path)) == [first["id"]]

    again = await scim.patch(
        path,
        patch_op(
            {
                "op": "Add",
                "path": "members",
                "value": [
                    {"$ref": None, "value": first["id"]},
                    {"$ref": None, "value": second["id"]},
                ],
            }
        ),
    )

    assert_patched(again)
    assert member_values(await fetch(scim, path)) == sorted([first["id"], second["id"]])


async def test_entra_default_mode_removes_only_the_listed_members(stack: Stack) -> None:
    """Update Group [Remove Members], default mode: `{"op":"Remove","path":"members",
    "value":[{"value":id}]}` must remove just those members, not the whole list."""
    scim = await tenant(stack)
    ids = [(await create(scim, "/Users", entra_user(f"u{i}@contoso.com")))["id"] for i in range(3)]
    group = await create(
        scim, "/Groups", entra_group("Three Members", members=[{"value": i} for i in ids])
    )
    path = f"/Groups/{group['id']}"

    response = await scim.patch(
        path,
        patch_op({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": ids[1]}]}),
    )

    assert_patched(response)
    assert member_values(await fetch(scim, path)) == sorted([ids[0], ids[2]])


async def test_entra_flagged_remove_member_by_value_filter(stack: Stack) -> None:
    """aadOptscim062020, requests to remove a group member: lowercase `remove` with the path
    `members[value eq "<id>"]` and no value; only that member goes."""
    scim = await tenant(stack)
    ids = [(await create(scim, "/Users", entra_user(f"f{i}@contoso.com")))["id"] for i in range(3)]
    group = await create(
        scim, "/Groups", entra_group("Flagged Group", members=[{"value": i} for i in ids])
    )
    path = f"/Groups/{group['id']}"

    response = await scim.patch(
        path, patch_op({"op": "remove", "path": f'members[value eq "{ids[0]}"]'})
    )

    assert_patched(response)
    assert member_values(await fetch(scim, path)) == sorted(ids[1:])


async def test_entra_flagged_replace_without_path(stack: Stack) -> None:
    """aadOptscim062020, requests to replace multiple attributes: one lowercase `replace`
    without a path whose value has dotted keys (`name.givenName`), URN-qualified keys and the
    boolean `active`; sibling sub-attributes not named must be kept."""
    scim = await tenant(stack)
    user = await create(
        scim,
        "/Users",
        entra_user(
            "flagged@contoso.com",
            **{ENTERPRISE_USER_SCHEMA: {"employeeNumber": "Eqpj", "department": "Sales"}},
        ),
    )
    path = f"/Users/{user['id']}"

    response = await scim.patch(
        path,
        patch_op(
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    EMPLOYEE_NUMBER: "Aklq",
                    "active": False,
                },
            }
        ),
    )

    assert_patched(response)
    found = await fetch(scim, path)
    assert found["displayName"] == "Bjfe"
    assert found["name"] == {"formatted": "Joy Young", "givenName": "Kkom", "familyName": "Unua"}
    assert found[ENTERPRISE_USER_SCHEMA] == {"employeeNumber": "Aklq", "department": "Sales"}
    assert found["active"] is False
    assert found["userName"] == "flagged@contoso.com"
    assert found["emails"] == user["emails"]


async def test_entra_flagged_replace_multiple_attributes_sample(stack: Stack) -> None:
    """aadOptscim062020, the documented sample in full: a `replace` of the work email by
    filter path, then a no-path `replace` of displayName, name parts and employeeNumber."""
    scim = await tenant(stack)
    body = entra_user("sample@contoso.com", **{ENTERPRISE_USER_SCHEMA: {"employeeNumber": "1"}})
    body["emails"].append({"type": "other", "value": "other@example.com"})
    user = await create(scim, "/Users", body)
    path = f"/Users/{user['id']}"

    response = await scim.patch(
        path,
        patch_op(
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestMhvaes@test.microsoft.com",
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    EMPLOYEE_NUMBER: "Aklq",
                },
            },
        ),
    )

    assert_patched(response)
    found = await fetch(scim, path)
    assert sorted((e["type"], e["value"]) for e in found["emails"]) == [
        ("other", "other@example.com"),
        ("work", "TestMhvaes@test.microsoft.com"),
    ]
    assert found["displayName"] == "Bjfe"
    assert (found["name"]["givenName"], found["name"]["familyName"]) == ("Kkom", "Unua")
    assert found[ENTERPRISE_USER_SCHEMA]["employeeNumber"] == "Aklq"
    assert found["active"] is True
