"""Each comparison operator's test and refusals (RFC 7644 §3.4.2.2), as filters meet them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.filter_eval import matches
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import USER

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PERSON = StoredResource(
    "User",
    "1",
    1,
    T0,
    T0,
    {"userName": "Bjensen", "title": "Boss", "active": True, "emails": [{"value": "B@X.org"}]},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', True),  # caseExact false
        ('title co "OS"', True),
        ('title sw "bo"', True),
        ('title ew "SS"', True),
        ('userName gt "a"', True),  # lookup attributes order folded
        ('userName le "bjensen"', True),
        ('emails.value lt "b"', False),
        ("active eq true", True),
        ('active eq "true"', False),  # a string never equals a boolean
        ('meta.created ge "2026-01-01T00:00:00Z"', True),
        ('meta.created gt "2026-01-01T00:00:00+00:00"', False),
        ('meta.resourceType co "se"', True),
        ("title pr", True),
        ('title ne "Boss"', False),
    ],
)
def test_each_operator_compares_as_the_rfc_says(text: str, expected: bool) -> None:
    assert matches(USER, PERSON, parse_filter(text)) is expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("title co 1", "operator 'co' needs a string value"),
        ('meta.created sw "2026-01-01T00:00:00Z"', "operator 'sw' cannot compare date-times"),
        ("active gt true", "operator 'gt' cannot compare booleans"),
        (
            'title ge "a"',
            "operator 'ge' is supported on case-insensitive strings only for "
            "userName, displayName and emails.value",
        ),
    ],
)
def test_comparisons_an_operator_cannot_make_are_refused(text: str, detail: str) -> None:
    with pytest.raises(ScimError) as raised:
        matches(USER, PERSON, parse_filter(text))
    assert (raised.value.status, raised.value.scim_type, raised.value.detail) == (
        400,
        "invalidFilter",
        detail,
    )
