from __future__ import annotations

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import (
    And,
    AttrPath,
    Compare,
    Not,
    Or,
    Present,
    ValuePath,
    parse_filter,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_precedence_is_not_then_and_then_or() -> None:
    parsed = parse_filter("a eq 1 or b eq 2 and not (c pr)")
    assert parsed == Or(
        Compare(AttrPath(None, "a"), "eq", 1),
        And(Compare(AttrPath(None, "b"), "eq", 2), Not(Present(AttrPath(None, "c")))),
    )


def test_value_paths_urns_and_literals() -> None:
    assert parse_filter('emails[type eq "work" and primary eq true]') == ValuePath(
        AttrPath(None, "emails"),
        And(
            Compare(AttrPath(None, "type"), "eq", "work"),
            Compare(AttrPath(None, "primary"), "eq", True),
        ),
    )
    assert parse_filter(f'{ENTERPRISE}:manager.value eq "m"') == Compare(
        AttrPath(ENTERPRISE, "manager", "value"), "eq", "m"
    )
    assert parse_filter("x EQ null").value is None  # type: ignore[union-attr]
    assert parse_filter("x gt 1.5e2").value == 150.0  # type: ignore[union-attr]


def test_strings_follow_json_escapes() -> None:
    assert parse_filter(r'userName eq "a \"quoted\" \u00e9"').value == 'a "quoted" é'  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userName",
        "userName eq",
        'userName xx "a"',
        "(a eq 1",
        "a eq 1)",
        'a eq "b',
        "a eq 1 b",
        'emails[type eq "x"',
        "not a eq 1",
        "a eq bareword",
        "urn:x: eq 1",
        "a. eq 1",
        "x" * 5000,
    ],
)
def test_malformed_filters_are_invalid_filter_errors(text: str) -> None:
    with pytest.raises(ScimError) as raised:
        parse_filter(text)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidFilter")
