"""The lenient compatibility profile, one leniency at a time, and strict left as it was."""

from __future__ import annotations

from typing import Any

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.patch import PATCH_OP_SCHEMA, apply_patch, check_patch, parse_patch
from scimtenancy_server.domain.projection import bounded_projection, project
from scimtenancy_server.domain.schema import ENTERPRISE_USER_SCHEMA, GROUP, USER, USER_SCHEMA
from scimtenancy_server.domain.tenant import Compatibility
from scimtenancy_server.domain.validation import canonical_attributes

STRICT, LENIENT = Compatibility.STRICT, Compatibility.LENIENT
STORED: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": "bjensen"}
WITH_UNKNOWN_NAMES: list[dict[str, Any]] = [
    {"legacyId": "42"},
    {"name": {"givenName": "Barbara", "middleInitial": "J"}},
    {"emails": [{"value": "b@example.com", "verified": True}]},
    {ENTERPRISE_USER_SCHEMA: {"department": "Sales", "costCentre": "7"}},
    {"urn:example:params:scim:schemas:legacy:1.0:User": {"badge": "9"}},
]
RENDERED: dict[str, Any] = {
    "schemas": [USER_SCHEMA],
    "id": "u1",
    "userName": "bjensen",
    "emails": [
        {"value": "w@example.com", "type": "work"},
        {"value": "h@example.com", "type": "home"},
        {"value": "o@example.com", "type": "other"},
    ],
}


def operations(*items: dict[str, Any]) -> Any:
    return parse_patch({"schemas": [PATCH_OP_SCHEMA], "Operations": list(items)})


def known_part(extra: dict[str, Any]) -> dict[str, Any]:
    """What lenient keeps of `WITH_UNKNOWN_NAMES` entries: their known names only."""
    kept = {
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "b@example.com"}],
        ENTERPRISE_USER_SCHEMA: {"department": "Sales"},
    }
    return {k: v for k, v in kept.items() if k in extra}


@pytest.mark.parametrize("extra", WITH_UNKNOWN_NAMES)
def test_strict_refuses_unknown_attributes_in_a_body(extra: dict[str, Any]) -> None:
    with pytest.raises(ScimError) as raised:
        canonical_attributes(USER, {**STORED, **extra}, compatibility=STRICT)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidValue")
    assert "unknown" in raised.value.detail


@pytest.mark.parametrize("extra", WITH_UNKNOWN_NAMES)
def test_lenient_ignores_unknown_attributes_in_a_body(extra: dict[str, Any]) -> None:
    stored = canonical_attributes(USER, {**STORED, **extra}, compatibility=LENIENT)
    assert {k: v for k, v in stored.items() if k not in ("schemas", "userName")} == known_part(
        extra
    )


def test_lenient_still_checks_the_known_attributes() -> None:
    with pytest.raises(ScimError) as raised:
        canonical_attributes(USER, {**STORED, "legacyId": 1, "active": "no"}, compatibility=LENIENT)
    assert raised.value.scim_type == "invalidValue"
    assert "active" in raised.value.detail


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "value": {"legacyId": "42", "title": "Boss"}},
        {"op": "add", "value": {"name.middleInitial": "J", "title": "Boss"}},
        {"op": "add", "value": {f"{ENTERPRISE_USER_SCHEMA}:costCentre": "7", "title": "Boss"}},
        {"op": "add", "value": {"urn:example:legacy:1.0:User:badge": "9", "title": "Boss"}},
        {"op": "replace", "path": "name", "value": {"middleInitial": "J"}},
        {"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"costCentre": "7"}},
        {"op": "add", "path": "emails", "value": [{"value": "b@example.com", "verified": True}]},
    ],
)
def test_unknown_names_in_a_patch_value(operation: dict[str, Any]) -> None:
    ops = operations(operation)
    with pytest.raises(ScimError) as raised:
        apply_patch(USER, STORED, ops, compatibility=STRICT)
    assert raised.value.scim_type in ("invalidPath", "invalidValue")
    check_patch(USER, ops, compatibility=LENIENT)
    patched = apply_patch(USER, STORED, ops, compatibility=LENIENT)
    assert "legacyId" not in patched
    assert "middleInitial" not in patched.get("name", {})
    assert "costCentre" not in patched.get(ENTERPRISE_USER_SCHEMA, {})
    assert patched.get("title", "Boss") == "Boss"
    assert all("verified" not in e for e in patched.get("emails", []))


@pytest.mark.parametrize("compatibility", [STRICT, LENIENT])
def test_a_path_naming_an_unknown_attribute_is_refused_by_every_profile(
    compatibility: Compatibility,
) -> None:
    """Only values are read leniently: an operation aimed at nothing is still an error."""
    ops = operations({"op": "replace", "path": "legacyId", "value": "42"})
    with pytest.raises(ScimError) as raised:
        check_patch(USER, ops, compatibility=compatibility)
    assert raised.value.scim_type == "invalidPath"


def test_lenient_members_may_carry_unknown_names() -> None:
    ops = operations({"op": "add", "path": "members", "value": [{"value": "u1", "origin": "x"}]})
    with pytest.raises(ScimError):
        check_patch(GROUP, ops, compatibility=STRICT)
    check_patch(GROUP, ops, compatibility=LENIENT)


@pytest.mark.parametrize("compatibility", [STRICT, LENIENT])
def test_operation_names_and_a_stray_id_are_ignored_by_every_profile(
    compatibility: Compatibility,
) -> None:
    """Strict already ignores both: an operation's unknown keys are not read, and `id` is
    read-only (RFC 7643 §2.2: read-only values a client sends are ignored)."""
    ops = operations(
        {"op": "replace", "name": "title", "path": "title", "value": "Boss"},
        {"op": "add", "name": "displayName", "value": {"id": "client-id", "displayName": "B"}},
    )
    patched = apply_patch(USER, STORED, ops, compatibility=compatibility)
    assert (patched["title"], patched["displayName"]) == ("Boss", "B")
    body = {**STORED, "id": "client-id"}
    assert "id" not in canonical_attributes(USER, body, compatibility=compatibility)


def test_strict_ignores_a_value_filter_in_attributes_as_before() -> None:
    projection = bounded_projection(('emails[type eq "work"]',), (), compatibility=STRICT)
    assert project(USER, RENDERED, projection) == {"schemas": [USER_SCHEMA], "id": "u1"}


@pytest.mark.parametrize(
    ("attributes", "values"),
    [
        (('emails[type eq "work"]',), ["w@example.com"]),
        (('emails[type eq "WORK"]',), ["w@example.com"]),  # type is caseExact false
        (('emails[type eq "work" or type eq "other"]',), ["w@example.com", "o@example.com"]),
        (('emails[type eq "other"]', 'emails[type eq "work"]'), ["w@example.com", "o@example.com"]),
        (("emails", 'emails[type eq "work"]'), ["w@example.com", "h@example.com", "o@example.com"]),
        ((f'{USER_SCHEMA}:emails[type eq "home"]',), ["h@example.com"]),
    ],
)
def test_lenient_shows_the_values_a_filter_in_attributes_matches(
    attributes: tuple[str, ...], values: list[str]
) -> None:
    projection = bounded_projection(attributes, (), compatibility=LENIENT)
    shown = project(USER, RENDERED, projection)
    assert [e["value"] for e in shown["emails"]] == values
    assert "userName" not in shown


@pytest.mark.parametrize(
    "entry",
    ['emails[type eq "fax"]', 'emails[kind eq "work"]', 'shoeSize[size eq "9"]', "userName[x pr]"],
)
def test_lenient_shows_nothing_for_a_filter_nothing_matches_or_naming_no_value(entry: str) -> None:
    projection = bounded_projection((entry, "userName"), (), compatibility=LENIENT)
    assert project(USER, RENDERED, projection) == {
        "schemas": [USER_SCHEMA],
        "id": "u1",
        "userName": "bjensen",
    }


@pytest.mark.parametrize(
    "entry", ['emails[type eq "work"', 'emails[type eq "work"] and userName pr', "emails[]"]
)
def test_lenient_refuses_a_malformed_filter_in_attributes(entry: str) -> None:
    with pytest.raises(ScimError) as raised:
        bounded_projection((entry,), (), compatibility=LENIENT)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidFilter")
    bounded_projection((entry,), (), compatibility=STRICT)  # strict never reads it


def test_lenient_loads_the_members_a_filter_in_attributes_names() -> None:
    entry = ('members[type eq "User"]',)
    assert bounded_projection(entry, (), compatibility=LENIENT).may_include("members")
    assert not bounded_projection(entry, (), compatibility=STRICT).may_include("members")
