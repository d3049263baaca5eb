"""The filter parser: the grammar of RFC 7644 §3.4.2.2, and the input limits it enforces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import (
    COMPARISON_OPERATORS,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    parse_attr_path,
    parse_filter,
)
from scimtenancy_server.domain.filter_compile import check_filter
from scimtenancy_server.domain.filter_eval import matches
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import USER, USER_SCHEMA

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


def depth(expression: Filter) -> int:
    if isinstance(expression, And | Or):
        return 1 + max(depth(expression.left), depth(expression.right))
    if isinstance(expression, Not | ValuePath):
        inner = expression.inner if isinstance(expression, Not) else expression.filter
        return 1 + depth(inner)
    return 1


def refused(text: str, limits: InputLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(ScimError) as raised:
        parse_filter(text, limits)
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidFilter")
    assert len(raised.value.detail) <= 300
    return raised.value.detail


def terms(count: int, op: str = "or") -> str:
    return f" {op} ".join(f'userName eq "u{i}"' for i in range(count))


def test_a_filter_longer_than_the_limit_is_refused_naming_it() -> None:
    limits = InputLimits(max_filter_length=40)
    text = 'userName eq "' + "x" * 26 + '"'
    assert len(text) == 40
    parse_filter(text, limits)
    assert "max_filter_length=40" in refused(text + " ", limits)


def test_attribute_expressions_are_counted_up_to_the_limit() -> None:
    parse_filter(terms(100))
    assert "max_filter_terms=100" in refused(terms(101))
    limits = InputLimits(max_filter_terms=3)
    parse_filter('emails[type eq "work" and value pr] or title pr', limits)
    assert "max_filter_terms=3" in refused(
        'emails[type eq "w" and value pr] or a pr or b pr', limits
    )


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("(", ")"), ("not (", ")"), ("emails[", "]")],
)
def test_nesting_is_limited(opening: str, closing: str) -> None:
    def nested(levels: int) -> str:
        return opening * levels + "value pr" + closing * levels

    parse_filter(nested(16))
    assert "max_filter_depth=16" in refused(nested(17))


@pytest.mark.parametrize(
    "text",
    [
        "not (" * 2000 + "a pr" + ")" * 2000,
        "(" * 3000,
        "a[" * 3000,
        "(not (a[" * 1000,
        "(" * 50_000 + "a pr" + ")" * 50_000,
    ],
)
def test_hostile_nesting_is_an_invalid_filter_never_a_recursion_error(text: str) -> None:
    roomy = InputLimits(max_filter_length=200_000)
    assert "max_filter_depth" in refused(text, roomy)
    refused(text)  # past the default length already


def test_long_chains_are_balanced_trees() -> None:
    assert depth(parse_filter(terms(100))) <= 8
    assert depth(parse_filter(terms(100, "and"))) <= 8
    roomy = InputLimits(max_filter_length=1_000_000, max_filter_terms=20_000)
    chain = parse_filter(terms(20_000), roomy)
    assert depth(chain) <= 16
    # Every walk over the tree, the reference evaluator's included, stays shallow.
    check_filter(USER, chain)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    person = StoredResource("User", "1", 1, when, when, {"userName": "U19999"})
    assert matches(USER, person, chain)
    assert parse_filter("a eq 1 or b eq 2 or c eq 3") == Or(
        Compare(AttrPath(None, "a"), "eq", 1),
        Or(Compare(AttrPath(None, "b"), "eq", 2), Compare(AttrPath(None, "c"), "eq", 3)),
    )


def test_attribute_paths_are_limited() -> None:
    name = "a" * 256
    assert parse_filter(f"{name} pr") == Present(AttrPath(None, name))
    assert "max_path_length=256" in refused(f"{name}b pr")
    assert parse_attr_path(name) == AttrPath(None, name)
    with pytest.raises(ScimError) as raised:
        parse_attr_path(f"urn:x:{name}")
    assert "max_path_length=256" in raised.value.detail
    assert parse_attr_path("a.b", InputLimits(max_path_length=3)) == AttrPath(None, "a", "b")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("000000000000000000000000042", 42),
        ("1e308", 1e308),
        ("-1.5e-400", -0.0),
        ("0.1", 0.1),
    ],
)
def test_numbers_within_int64_and_finite_doubles_are_accepted(literal: str, value: float) -> None:
    parsed = parse_filter(f"x eq {literal}")
    assert isinstance(parsed, Compare)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


@pytest.mark.parametrize(
    "literal",
    [
        "9223372036854775808",
        "-9223372036854775809",
        "1" * 4000,
        "1e400",
        "-1e999",
        "1.0e309",
        "9" * 400 + ".5",
    ],
)
def test_numbers_out_of_range_are_invalid_filters(literal: str) -> None:
    assert "out of range" in refused(f"x eq {literal}")


def test_a_huge_number_is_refused_in_linear_time() -> None:
    # int() of a 100,000-digit string is refused by Python itself past 4,300 digits.
    assert "out of range" in refused("x eq " + "7" * 100_000, InputLimits(max_filter_length=10**6))


def test_strings_must_be_valid_unicode() -> None:
    assert "not valid Unicode" in refused(r'userName eq "\ud800"')
    assert parse_filter(r'userName eq "\ud83d\ude00"') == Compare(
        AttrPath(None, "userName"), "eq", "\U0001f600"
    )


def test_details_quote_client_text_briefly() -> None:
    detail = refused('userName eq "a" "' + "x" * 3000 + '"')
    assert len(detail) < 100


# Entra ID's dotted value path (issue 13): `attr[filter].sub op value` is not RFC 7644 grammar
# but is what Entra sends to check a mapped email's uniqueness.


@pytest.mark.parametrize(
    "comparison", [*(f'{op} "x@y"' for op in sorted(COMPARISON_OPERATORS)), "pr"]
)
def test_a_dotted_value_path_is_the_rfc_value_filter_with_and(comparison: str) -> None:
    dotted = parse_filter(f'emails[type eq "work"].value {comparison}')
    assert dotted == parse_filter(f'emails[type eq "work" and value {comparison}]')


def test_a_dotted_value_path_keeps_its_brackets_grouped_and_binds_tighter_than_and() -> None:
    dotted = f'{USER_SCHEMA}:emails[type eq "work" or primary eq true].VALUE eq "x" and title pr'
    assert parse_filter(dotted) == And(
        ValuePath(
            AttrPath(USER_SCHEMA, "emails"),
            And(
                Or(
                    Compare(AttrPath(None, "type"), "eq", "work"),
                    Compare(AttrPath(None, "primary"), "eq", True),
                ),
                Compare(AttrPath(None, "VALUE"), "eq", "x"),
            ),
        ),
        Present(AttrPath(None, "title")),
    )


def test_a_dotted_value_path_matches_one_value_on_both_conditions() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    emails = [{"type": "work", "value": "w@x.org"}, {"type": "home", "value": "h@x.org"}]
    person = StoredResource("User", "1", 1, when, when, {"userName": "u", "emails": emails})
    work = parse_filter('emails[type eq "work"].value eq "W@X.org"')
    home_address_as_work = parse_filter('emails[type eq "work"].value eq "h@x.org"')
    check_filter(USER, work)
    assert matches(USER, person, work)
    assert not matches(USER, person, home_address_as_work)


def test_a_dotted_sub_attribute_the_attribute_lacks_is_refused_like_the_rfc_form() -> None:
    def detail(text: str) -> str:
        with pytest.raises(ScimError) as raised:
            check_filter(USER, parse_filter(text))
        assert (raised.value.status, raised.value.scim_type) == (400, "invalidFilter")
        return raised.value.detail

    dotted = detail('emails[type eq "work"].nickName eq "x"')
    assert dotted == detail('emails[type eq "work" and nickName eq "x"]')
    assert "emails.nickName" in dotted


def test_a_dotted_value_path_stays_within_the_limits() -> None:
    limits = InputLimits(max_filter_terms=2, max_path_length=8, max_filter_depth=1)
    parse_filter('emails[type eq "w"].value eq "x"', limits)
    assert "max_filter_terms=2" in refused('emails[type eq "w"].value eq "x" or a pr', limits)
    assert "max_path_length=8" in refused('emails[type eq "w"].valueeeee eq "x"', limits)
    assert "max_filter_depth=1" in refused('emails[a[type eq "w"].value pr].value pr', limits)


@pytest.mark.parametrize(
    "text",
    [
        'emails[type eq "work"] .value eq "x"',
        'emails[type eq "work"].value',
        'emails[type eq "work"].value.display eq "x"',
        'emails[type eq "work"].value[type eq "x"]',
        'emails[type eq "work"]. eq "x"',
        'emails[type eq "work"].value xx "x"',
        '.value eq "x"',
        'userName eq "x".value',
        '(emails[type eq "work"]).value eq "x"',
    ],
)
def test_malformed_dotted_value_paths_are_invalid_filter_errors(text: str) -> None:
    refused(text)
