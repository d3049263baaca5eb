"""A full representation (create, replace, a PATCH's result) must carry every required
attribute (RFC 7643 §2.2), in the core schema, in extensions and in sub-attributes of the
values of a complex attribute; a read-only one is never demanded of a client."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.resource import JsonObject
from scimtenancy_server.domain.schema import (
    GROUP,
    USER,
    Attribute,
    Mutability,
    ResourceType,
    Schema,
)
from scimtenancy_server.domain.validation import canonical_attributes

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BADGES = "urn:example:params:scim:schemas:extension:badges:2.0:User"

BADGE_SCHEMA = Schema(
    id=BADGES,
    name="Badges",
    description="badges with a required number",
    attributes=(
        Attribute("site"),
        Attribute(
            "badges",
            type="complex",
            multi_valued=True,
            sub_attributes=(Attribute("number", required=True), Attribute("colour")),
        ),
        Attribute("issuer", required=True, mutability=Mutability.READ_ONLY),
    ),
    document={},
)
WITH_BADGES = replace(USER, extensions=((BADGE_SCHEMA, False),))


def _refused(rt: ResourceType, document: JsonObject) -> ScimError:
    with pytest.raises(ScimError) as refused:
        canonical_attributes(rt, document)
    return refused.value


@pytest.mark.parametrize("user_name", [None, "", "   "])
def test_a_user_needs_a_user_name(user_name: str | None) -> None:
    document: JsonObject = {"schemas": [CORE], "displayName": "No Name"}
    if user_name is not None:
        document["userName"] = user_name
    error = _refused(USER, document)
    assert (error.status, error.scim_type) == (400, "invalidValue")
    assert "'userName' is required" in error.detail


def test_a_group_needs_a_display_name() -> None:
    error = _refused(GROUP, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})
    assert "'displayName' is required" in error.detail


def test_a_required_sub_attribute_of_an_extension_value_is_demanded() -> None:
    document: JsonObject = {
        "schemas": [CORE, BADGES],
        "userName": "badge.holder",
        BADGES: {"badges": [{"number": "7"}, {"colour": "red"}]},
    }
    error = _refused(WITH_BADGES, document)
    assert f"'{BADGES}:badges.number' is required" in error.detail


def test_present_required_values_pass_and_read_only_ones_are_not_demanded() -> None:
    document = {
        "schemas": [CORE, BADGES],
        "userName": "badge.holder",
        BADGES: {"site": "north", "badges": [{"number": "7", "colour": "red"}]},
    }
    attributes = canonical_attributes(WITH_BADGES, document)
    assert attributes["userName"] == "badge.holder"
    assert attributes[BADGES]["badges"] == [{"number": "7", "colour": "red"}]


def test_only_attributes_with_something_required_below_them_are_checked() -> None:
    by_name = {a.name: a for a in BADGE_SCHEMA.attributes}
    assert by_name["badges"].checks_required  # through its `number`
    assert not by_name["site"].checks_required
    assert not by_name["issuer"].checks_required  # read-only: the service sets it
    core = {a.name: a for a in USER.schema.attributes}
    assert core["userName"].checks_required
    assert [name for name, a in core.items() if a.checks_required] == ["userName"]
