"""The input limits of validation, PATCH and JSON parsing: each refusal names its limit."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from scimtenancy_server.domain.errors import MAX_DETAIL_LENGTH, ScimError
from scimtenancy_server.domain.limits import INT64_MAX, INT64_MIN, InputLimits
from scimtenancy_server.domain.patch import PatchRun, apply_patch, parse_patch
from scimtenancy_server.domain.resource import parse_json_object
from scimtenancy_server.domain.schema import GROUP, USER, Attribute
from scimtenancy_server.domain.validation import canonical, canonical_attributes

LIMITS = InputLimits(max_string_length=8, max_values=2, max_resource_bytes=300, max_json_depth=4)
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
INTEGER = Attribute("n", type="integer")
DECIMAL = Attribute("d", type="decimal")


def refusal(action: Any) -> ScimError:
    with pytest.raises(ScimError) as refused:
        action()
    assert len(refused.value.detail) <= MAX_DETAIL_LENGTH
    return refused.value


def user(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": "u", **attributes}


def test_strings_longer_than_the_limit_are_refused_by_name() -> None:
    error = refusal(lambda: canonical_attributes(USER, user(title="x" * 9), limits=LIMITS))
    assert (error.status, error.scim_type) == (400, "invalidValue")
    assert "title" in error.detail
    assert "8" in error.detail
    assert canonical_attributes(USER, user(title="x" * 8), limits=LIMITS)["title"] == "x" * 8


def test_sub_attribute_strings_are_bounded_too() -> None:
    body = user(emails=[{"value": "e" * 9}])
    error = refusal(lambda: canonical_attributes(USER, body, limits=LIMITS))
    assert "emails.value" in error.detail


def test_multi_valued_attributes_hold_at_most_max_values() -> None:
    body = user(emails=[{"value": f"{i}"} for i in range(3)])
    error = refusal(lambda: canonical_attributes(USER, body, limits=LIMITS))
    assert "emails" in error.detail
    assert "max_values" in error.detail


def test_group_members_are_exempt_from_max_values() -> None:
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "g",
        "members": [{"value": f"m{i}"} for i in range(5)],
    }
    assert len(canonical_attributes(GROUP, group, limits=LIMITS)["members"]) == 5


def test_the_whole_resource_is_bounded_without_its_members() -> None:
    body = user(title="t" * 8, nickName="n" * 8, **{"name": {"givenName": "g" * 8}})
    body["addresses"] = [{"streetAddress": "s" * 8, "locality": "l" * 8}] * 2
    body["phoneNumbers"] = [{"value": "1" * 8, "type": "work"}] * 2
    assert len(orjson.dumps(body)) > 300
    error = refusal(lambda: canonical_attributes(USER, body, limits=LIMITS))
    assert (error.status, error.scim_type) == (413, "tooLarge")
    assert "300" in error.detail


@pytest.mark.parametrize(
    "value", [INT64_MAX + 1, INT64_MIN - 1, 1e308, 2.0**63, 2.0**53 + 2, math.inf, "1", True]
)
def test_integers_outside_64_bits_or_inexact_are_refused(value: object) -> None:
    error = refusal(lambda: canonical(INTEGER, value, "n"))
    assert error.scim_type == "invalidValue"


@pytest.mark.parametrize("value", [INT64_MAX, INT64_MIN, 0, 2.0**53, -(2.0**53), 42.0])
def test_integers_within_range_are_kept_as_integers(value: int | float) -> None:
    kept = canonical(INTEGER, value, "n")
    assert isinstance(kept, int)
    assert kept == value


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**400])
def test_decimals_must_be_finite(value: object) -> None:
    assert refusal(lambda: canonical(DECIMAL, value, "d")).scim_type == "invalidValue"


def test_decimals_past_int64_become_doubles_and_serialise() -> None:
    kept = canonical(DECIMAL, 2**64, "d")
    assert kept == float(2**64)
    assert orjson.loads(orjson.dumps(kept)) == kept


def test_json_nesting_is_bounded_without_recursion() -> None:
    assert parse_json_object(b'{"a":[[1]]}', max_depth=4) == {"a": [[1]]}
    error = refusal(lambda: parse_json_object(b'{"a":[[[1]]]}', max_depth=3))
    assert error.scim_type == "invalidSyntax"
    assert "3" in error.detail
    deep = b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert refusal(lambda: parse_json_object(deep)).scim_type == "invalidSyntax"


def test_patch_results_are_bounded_like_creates() -> None:
    stored = canonical_attributes(USER, user(emails=[{"value": "a"}]), limits=LIMITS)
    add = {"op": "add", "path": "emails", "value": [{"value": "b"}, {"value": "c"}]}
    operations = parse_patch({"schemas": [PATCH_OP], "Operations": [add]}, LIMITS)
    error = refusal(lambda: apply_patch(USER, stored, operations, LIMITS))
    assert "max_values" in error.detail


def test_patch_paths_and_operation_counts_are_bounded() -> None:
    long_path = {"op": "remove", "path": "x" * 300}
    error = refusal(lambda: parse_patch({"schemas": [PATCH_OP], "Operations": [long_path]}))
    assert error.scim_type == "invalidPath"
    many = [{"op": "remove", "path": "title"}] * 1001
    error = refusal(lambda: parse_patch({"schemas": [PATCH_OP], "Operations": many}))
    assert "1000" in error.detail


def test_adding_members_already_held_is_linear_and_keeps_one_of_each() -> None:
    members = [{"value": f"m{i}", "type": "User"} for i in range(20_000)]
    group = canonical_attributes(GROUP, {"schemas": list(GROUP.schemas), "displayName": "g"})
    again = {
        "op": "add",
        "path": "members",
        "value": [*members, {"value": "new"}, {"value": "new"}],
    }
    run = PatchRun(GROUP, group)
    for operation in parse_patch({"schemas": [PATCH_OP], "Operations": [again, again]}):
        run.apply(operation)
    assert len(run.members.added) == 20_001  # members are not counted by max_values
