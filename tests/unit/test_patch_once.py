"""A PATCH is worked out once (`check_patch` returns the plan every run of it uses) and its
values are canonical before an operation edits with them; the result is validated as a
whole."""

from __future__ import annotations

from typing import Any

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.patch import (
    PATCH_OP_SCHEMA,
    Operation,
    apply_patch,
    check_patch,
    parse_patch,
)
from scimtenancy_server.domain.schema import USER, USER_SCHEMA
from scimtenancy_server.domain.tenant import Compatibility

WORK = {"value": "a@x.org", "type": "work"}
STORED: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": "bjensen", "emails": [WORK]}


def operations(*items: dict[str, Any]) -> list[Operation]:
    return parse_patch({"schemas": [PATCH_OP_SCHEMA], "Operations": list(items)})


def planned(ops: list[Operation], stored: dict[str, Any] = STORED, **rules: Any) -> Any:
    """The result as the service computes it: the check's plan, run on the resource."""
    run = check_patch(USER, ops, **rules).run(stored)
    for operation in ops:
        run.apply(operation)
    return run.result()


def test_a_planned_run_answers_what_a_fresh_one_does_and_keeps_the_request() -> None:
    # The check adds the email and strips its display on an empty resource first; the run on
    # the stored resource must still see the value the client sent.
    ops = operations(
        {"op": "add", "path": "emails", "value": [{**WORK, "display": "A"}]},
        {"op": "remove", "path": "emails.display"},
    )
    fresh = apply_patch(USER, STORED, ops)
    assert fresh["emails"] == [WORK, WORK]
    assert planned(ops) == fresh
    assert ops[0].value == [{**WORK, "display": "A"}]
    assert STORED["emails"] == [WORK]


def test_runs_of_one_plan_agree_as_retries_must() -> None:
    ops = operations(
        {"op": "replace", "path": 'emails[type eq "work"]', "value": {**WORK, "display": "W"}},
        {"op": "remove", "path": 'emails[type eq "work"].display'},
        {"op": "add", "path": 'emails[display eq "W"].value', "value": "b@x.org"},
    )
    plan = check_patch(USER, ops)
    results = []
    for _ in range(2):
        run = plan.run(STORED)
        for operation in ops:
            run.apply(operation)
        results.append(run.result())
    assert results[0] == results[1] == apply_patch(USER, STORED, ops)
    assert results[0]["emails"] == [WORK, {"display": "W", "value": "b@x.org"}]


def test_one_value_means_what_its_attribute_says() -> None:
    # The same string object reaches a boolean and a string attribute.
    flag = "True"
    result = planned(operations({"op": "replace", "value": {"active": flag, "title": flag}}))
    assert (result["active"], result["title"]) == (True, "True")


def test_values_are_canonical_before_an_operation_edits_with_them() -> None:
    stored = {**STORED, "emails": [{**WORK, "primary": True}]}
    added = planned(
        operations(
            {"op": "add", "path": "emails", "value": [{"value": "b@x.org", "primary": "True"}]}
        ),
        stored,
    )
    assert [e.get("primary") for e in added["emails"]] == [False, True]
    held = planned(
        operations({"op": "add", "path": "emails", "value": [{"Value": "a@x.org", "TYPE": "work"}]})
    )
    assert held["emails"] == [WORK]
    name = {**STORED, "name": {"givenName": "B", "familyName": "J"}}
    kept = planned(
        operations(
            {"op": "replace", "path": "name", "value": {"GIVENNAME": "C", "familyName": None}}
        ),
        name,
    )
    assert kept["name"] == {"givenName": "C", "familyName": "J"}


def test_a_filtered_value_is_validated_with_the_whole_result() -> None:
    ops = operations(
        {
            "op": "replace",
            "path": 'emails[type eq "work"]',
            "value": {"value": "c@x.org", "shoe": 1},
        }
    )
    with pytest.raises(ScimError) as raised:
        planned(ops)
    error = raised.value
    assert (error.status, error.scim_type, error.detail) == (
        400,
        "invalidValue",
        "unknown sub-attribute 'shoe' of emails",
    )
    lenient = planned(ops, compatibility=Compatibility.LENIENT)
    assert lenient["emails"] == [{"value": "c@x.org"}]


def test_value_counts_are_checked_on_the_result_not_per_operation() -> None:
    def emails(start: int) -> list[dict[str, str]]:
        return [{"value": f"u{i}@x.org"} for i in range(start, start + 200)]

    ops = operations(
        {"op": "add", "path": "emails", "value": emails(0)},
        {"op": "add", "path": "emails", "value": emails(200)},
    )
    check_patch(USER, ops)  # each operation alone is within max_values
    with pytest.raises(ScimError) as raised:
        planned(ops)
    assert (raised.value.scim_type, raised.value.detail) == (
        "invalidValue",
        "emails holds 401 values; at most 256 are accepted (max_values)",
    )
