from __future__ import annotations

from typing import Any

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.membership import MembershipChange
from scimtenancy_server.domain.patch import PATCH_OP_SCHEMA, PatchRun, apply_patch, parse_patch
from scimtenancy_server.domain.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
)

BASE: dict[str, Any] = {
    "schemas": [USER_SCHEMA],
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "a@example.com", "type": "work"}],
}


def patch(
    *operations: dict[str, Any], resource: dict[str, Any] | None = None, rt: Any = USER
) -> dict[str, Any]:
    ops = parse_patch({"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)})
    return apply_patch(rt, resource or BASE, ops)


def test_replace_a_sub_attribute_keeps_the_others() -> None:
    result = patch({"op": "Replace", "path": "name.givenName", "value": "Babs"})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}
    assert BASE["name"]["givenName"] == "Barbara"  # the input is never mutated


def test_add_appends_to_multi_valued_attributes_without_duplicates() -> None:
    added = {"value": "b@example.com", "type": "home"}
    result = patch({"op": "add", "path": "emails", "value": [added, BASE["emails"][0]]})
    assert result["emails"] == [BASE["emails"][0], added]


def test_replace_a_multi_valued_attribute_replaces_all_values() -> None:
    result = patch({"op": "replace", "path": "emails", "value": [{"value": "c@x.org"}]})
    assert result["emails"] == [{"value": "c@x.org"}]


def test_no_path_operations_accept_attribute_paths_as_keys() -> None:
    result = patch(
        {
            "op": "replace",
            "value": {
                "name.givenName": "B",
                "active": False,
                f"{ENTERPRISE_USER_SCHEMA}:employeeNumber": "42",
            },
        }
    )
    assert result["name"]["givenName"] == "B"
    assert result["active"] is False
    assert result[ENTERPRISE_USER_SCHEMA] == {"employeeNumber": "42"}
    assert result["schemas"] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]


def test_attribute_names_are_case_insensitive() -> None:
    assert patch({"op": "replace", "path": "USERNAME", "value": "x"})["userName"] == "x"
    assert (
        patch({"op": "replace", "path": "Name.GivenName", "value": "y"})["name"]["givenName"] == "y"
    )


def member_change(*operations: dict[str, Any]) -> MembershipChange:
    """What the operations do to a Group's members (kept apart from its attributes)."""
    group = {"schemas": [GROUP_SCHEMA], "displayName": "G"}
    run = PatchRun(GROUP, group)
    for operation in parse_patch({"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}):
        run.apply(operation)
    assert run.result() == group
    return run.members


def test_remove_listed_members_only() -> None:
    listed = member_change({"op": "Remove", "path": "members", "value": [{"value": "2"}]})
    assert (listed.reset, listed.added, listed.removed) == (False, {}, {"2"})
    cleared = member_change({"op": "remove", "path": "members"})
    assert (cleared.reset, cleared.added, cleared.removed) == (True, {}, set())


def test_removing_the_last_extension_value_drops_its_schema() -> None:
    with_ext = {
        **BASE,
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        ENTERPRISE_USER_SCHEMA: {"employeeNumber": "1"},
    }
    result = patch(
        {"op": "remove", "path": f"{ENTERPRISE_USER_SCHEMA}:employeeNumber"}, resource=with_ext
    )
    assert ENTERPRISE_USER_SCHEMA not in result
    assert result["schemas"] == [USER_SCHEMA]


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "remove"}, "noTarget"),
        ({"op": "replace", "path": "meta", "value": {}}, "mutability"),
        ({"op": "add", "path": "nope", "value": 1}, "invalidPath"),
        ({"op": "add", "path": "userName.sub", "value": 1}, "invalidPath"),
        ({"op": "add", "path": "emails.value", "value": "x"}, "invalidPath"),
        ({"op": "add", "path": "urn:unknown:schema:attr", "value": 1}, "invalidPath"),
        ({"op": "add", "path": "emails[type eq]", "value": 1}, "invalidPath"),
        ({"op": "add", "path": 'name[givenName eq "x"]', "value": 1}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type co "zzz"]', "value": {"value": "x"}}, "noTarget"),
        ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
        ({"op": "add", "path": "emails", "value": [{"shoe": 1}]}, "invalidValue"),
        ({"op": "replace", "path": "name", "value": "flat"}, "invalidValue"),
        ({"op": "replace", "value": "not an object"}, "invalidSyntax"),
        ({"op": "add", "path": "title"}, "invalidSyntax"),
        ({"op": "remove", "path": "userName"}, "invalidValue"),
    ],
)
def test_invalid_operations(operation: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(ScimError) as raised:
        patch(operation)
    assert (raised.value.status, raised.value.scim_type) == (400, scim_type)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"schemas": [PATCH_OP_SCHEMA]},
        {"schemas": [PATCH_OP_SCHEMA], "Operations": []},
        {"schemas": [PATCH_OP_SCHEMA], "Operations": ["add"]},
        {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "move"}]},
    ],
)
def test_malformed_patch_requests(document: dict[str, Any]) -> None:
    with pytest.raises(ScimError) as raised:
        parse_patch(document)
    assert raised.value.scim_type == "invalidSyntax"


def test_value_filter_paths_select_values() -> None:
    two = {
        **BASE,
        "emails": [{"value": "a@x.org", "type": "work"}, {"value": "b@y.org", "type": "home"}],
    }
    result = patch(
        {"op": "replace", "path": 'emails[type eq "home"].value', "value": "c@z.org"}, resource=two
    )
    assert result["emails"] == [
        {"value": "a@x.org", "type": "work"},
        {"value": "c@z.org", "type": "home"},
    ]
    removed = patch({"op": "remove", "path": 'emails[value ew "x.org"]'}, resource=two)
    assert removed["emails"] == [{"value": "b@y.org", "type": "home"}]


def test_a_filtered_add_on_an_empty_attribute_creates_the_value() -> None:
    bare = {"schemas": [USER_SCHEMA], "userName": "bare"}
    result = patch(
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@x.org"}, resource=bare
    )
    assert result["emails"] == [{"type": "work", "value": "w@x.org"}]


def test_members_filter_removal_and_string_booleans() -> None:
    assert member_change({"op": "remove", "path": 'members[value eq "2"]'}).removed == {"2"}
    assert patch({"op": "Replace", "path": "active", "value": "False"})["active"] is False


def test_a_new_primary_value_demotes_the_old_one() -> None:
    primary = {**BASE, "emails": [{"value": "a@x.org", "primary": True}]}
    result = patch(
        {"op": "add", "path": "emails", "value": [{"value": "b@x.org", "primary": True}]},
        resource=primary,
    )
    assert result["emails"] == [
        {"value": "a@x.org", "primary": False},
        {"value": "b@x.org", "primary": True},
    ]
