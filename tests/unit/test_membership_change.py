"""PATCH operations on a Group's members become one MembershipChange (domain/membership.py),
in request order, without reading the group's members; other attributes still patch as before."""

from __future__ import annotations

from typing import Any

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.membership import MembershipChange, named_members
from scimtenancy_server.domain.patch import PatchRun, parse_patch
from scimtenancy_server.domain.projection import (
    Projection,
    ReturnPreference,
    patch_returns_resource,
)
from scimtenancy_server.domain.schema import GROUP, USER

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STORED = {"schemas": [GROUP.schema.id], "displayName": "Sales"}


def run(*operations: dict[str, Any]) -> PatchRun:
    patch = PatchRun(GROUP, STORED)
    for operation in parse_patch({"schemas": [PATCH_OP], "Operations": list(operations)}):
        patch.apply(operation)
    return patch


def members(*ids: str) -> list[dict[str, str]]:
    return [{"value": i} for i in ids]


def test_adds_and_removes_fold_in_request_order() -> None:
    change = run(
        {"op": "add", "path": "members", "value": members("a", "b")},
        {"op": "remove", "path": 'members[value eq "a"]'},  # Okta
        {"op": "Remove", "path": "members", "value": members("c")},  # Entra ID
        {"op": "add", "value": {"members": members("c")}},
    ).members
    assert (change.reset, change.added, change.removed) == (False, {"b": None, "c": None}, {"a"})


def test_member_operations_leave_the_groups_attributes_alone() -> None:
    patch = run(
        {"op": "replace", "path": "displayName", "value": "Sales EMEA"},
        {"op": "add", "path": "members", "value": [{"value": "u1", "type": "User"}]},
    )
    assert patch.result() == {**STORED, "displayName": "Sales EMEA"}
    assert patch.members.added == {"u1": "User"}


def test_replace_and_remove_all_start_over() -> None:
    replaced = run(
        {"op": "add", "path": "members", "value": members("a")},
        {"op": "replace", "path": "members", "value": members("b")},
    ).members
    assert (replaced.reset, replaced.added, replaced.removed) == (True, {"b": None}, set())
    cleared = run({"op": "remove", "path": "members"}).members
    assert (cleared.reset, cleared.added) == (True, {})


def test_other_removal_filters_are_kept_for_the_store() -> None:
    change = run({"op": "remove", "path": 'members[type eq "Group"]'}).members
    assert len(change.removal_filters) == 1
    assert not change.removed


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "members", "value": [{"type": "User"}]},
        {"op": "add", "path": "members", "value": [{"value": 7}]},
        {"op": "replace", "path": 'members[value eq "a"].type', "value": "Group"},
        {"op": "add", "path": 'members[value eq "a"]', "value": {"value": "b"}},
        {"op": "remove", "path": "members.value"},
    ],
)
def test_member_operations_that_name_no_member_are_refused(operation: dict[str, Any]) -> None:
    with pytest.raises(ScimError) as refused:
        run(operation)
    assert refused.value.status == 400


def test_a_filtered_removal_after_an_add_must_name_ids() -> None:
    with pytest.raises(ScimError) as refused:
        run(
            {"op": "add", "path": "members", "value": members("a")},
            {"op": "remove", "path": 'members[type eq "User"]'},
        )
    assert refused.value.scim_type == "invalidPath"


def test_named_members_reads_value_eq_and_or_chains_only() -> None:
    assert named_members(parse_filter('value eq "a" or value eq "b"')) == ["a", "b"]
    assert named_members(parse_filter('value eq "a" and type eq "User"')) is None
    assert named_members(parse_filter('display eq "a"')) is None


def test_an_empty_change_writes_no_memberships() -> None:
    assert MembershipChange().empty
    assert not run({"op": "remove", "path": "members"}).members.empty


@pytest.mark.parametrize(
    ("projection", "preference", "some_members", "returns"),
    [
        (Projection(), ReturnPreference.UNSPECIFIED, False, True),
        (Projection(), ReturnPreference.UNSPECIFIED, True, False),
        (Projection(excluded=("members",)), ReturnPreference.UNSPECIFIED, True, True),
        (Projection(), ReturnPreference.REPRESENTATION, True, True),
        (Projection(attributes=("userName",)), ReturnPreference.MINIMAL, False, False),
    ],
)
def test_a_patch_answers_with_the_resource_as_the_client_prefers(
    projection: Projection, preference: ReturnPreference, some_members: bool, returns: bool
) -> None:
    assert patch_returns_resource(projection, preference, some_members) is returns


def test_users_patch_as_before() -> None:
    patch = PatchRun(USER, {"schemas": [USER.schema.id], "userName": "a"})
    for operation in parse_patch(
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}
    ):
        patch.apply(operation)
    assert patch.result()["title"] == "x"
    assert patch.members.empty
