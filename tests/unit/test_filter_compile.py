"""compile_filter answers exactly what the reference evaluator `matches` answers, and refuses
exactly the filters check_filter refuses."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.filter_compile import check_filter, compile_filter
from scimtenancy_server.domain.filter_eval import matches
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ENTERPRISE_USER_SCHEMA, USER, USER_SCHEMA

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = [
    "bjensen",
    "BJensen",
    "straße",
    "STRASSE",
    "café",
    unicodedata.normalize("NFD", "café"),
    "\uff41\uff44\uff4d\uff49\uff4e",  # full-width "admin"
    "admin",
    "\u0130",  # İ: lower() and casefold() differ
    "a.b*c",
    "",
    "z",
]
STRING_PATHS = [
    "userName",
    "USERNAME",
    "displayName",
    "title",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.type",
    "externalId",
    "id",
    "meta.resourceType",
    f"{ENTERPRISE_USER_SCHEMA}:department",
]
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]

words = st.sampled_from(WORDS)


def quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


dates = st.integers(-5, 5).map(lambda m: quoted((T0 + timedelta(minutes=m)).isoformat()))
values = st.one_of(
    words.map(quoted), st.integers(-2, 2).map(str), st.sampled_from(["true", "false", "null"])
)
comparisons = st.one_of(
    st.builds(
        lambda p, o, v: f"{p} {o} {v}", st.sampled_from(STRING_PATHS), st.sampled_from(OPS), values
    ),
    st.builds(lambda o, v: f"meta.created {o} {v}", st.sampled_from(OPS), dates),
    st.builds(lambda p: f"{p} pr", st.sampled_from([*STRING_PATHS, "active", "meta.created"])),
    st.builds(lambda b: f"active eq {b}", st.sampled_from(["true", "false", "1"])),
    # or-runs of equalities on one path: compiled as one set lookup
    st.builds(
        lambda p, vs: " or ".join(f"{p} eq {quoted(v)}" for v in vs),
        st.sampled_from(STRING_PATHS),
        st.lists(words, min_size=2, max_size=4),
    ),
    st.builds(
        lambda a, b, o: f"emails[type eq {quoted(a)} or value {o} {quoted(b)}]",
        words,
        words,
        st.sampled_from(OPS),
    ),
    st.builds(
        lambda vs: "emails[" + " or ".join(f"value eq {quoted(v)}" for v in vs) + "]",
        st.lists(words, min_size=2, max_size=3),
    ),
)
filters = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=6,
)
emails = st.lists(
    st.fixed_dictionaries(
        {"value": words | st.integers(0, 1)}, optional={"type": words | st.just("work")}
    ),
    max_size=3,
)
attributes = st.fixed_dictionaries(
    {"userName": words},
    optional={
        "displayName": words,
        "title": words | st.integers(-2, 2),
        "externalId": words,
        "active": st.booleans() | st.just(1),
        "emails": emails,
        "name": st.fixed_dictionaries({}, optional={"givenName": words}),
        ENTERPRISE_USER_SCHEMA: st.fixed_dictionaries({}, optional={"department": words}),
    },
)
resources = st.builds(
    lambda i, minutes, attrs: StoredResource(
        "User",
        f"u{i}",
        1,
        T0 + timedelta(minutes=minutes),
        T0 + timedelta(minutes=minutes),
        {"schemas": [USER_SCHEMA], **attrs},
    ),
    st.sampled_from(["1", "2", "bjensen"]),
    st.integers(-3, 3),
    attributes,
)


def refusal(call: Any) -> tuple[int, str | None] | None:
    try:
        call()
    except ScimError as error:
        return error.status, error.scim_type
    return None


@settings(max_examples=400)
@given(text=filters, people=st.lists(resources, max_size=6))
def test_compiled_filters_agree_with_the_reference_evaluator(
    text: str, people: list[StoredResource]
) -> None:
    where = parse_filter(text)
    refused = refusal(lambda: check_filter(USER, where))
    assert refusal(lambda: compile_filter(USER, where)) == refused
    if refused is not None:
        assert refused == (400, "invalidFilter")
        return
    keep = compile_filter(USER, where)
    for person in people:
        assert keep(person) == matches(USER, person, where), (text, person.attributes)


def test_one_compiled_filter_serves_many_resources_in_turn() -> None:
    keep = compile_filter(USER, parse_filter('userName eq "a" or userName eq "b" or title pr'))
    people = [
        StoredResource("User", str(i), 1, T0, T0, {"userName": name, **extra})
        for i, (name, extra) in enumerate(
            [("A", {}), ("c", {}), ("b", {}), ("d", {"title": "x"}), ("a", {})]
        )
    ]
    assert [keep(p) for p in people] == [True, False, True, True, True]
    assert [keep(p) for p in reversed(people)] == [True, True, True, False, True]


@pytest.mark.parametrize(
    "text",
    [
        'meta.created co "2026-01-01T00:00:00Z"',
        'meta.lastModified sw "2026-01-01T00:00:00Z"',
        'emails[value eq "x" or emails[type eq "y"]]',
        'userName eq "a" or nickName gt "b"',
        'unknown eq "a" or unknown eq "b"',
    ],
)
def test_filters_evaluation_would_refuse_are_refused_at_compile_time(text: str) -> None:
    with pytest.raises(ScimError) as raised:
        compile_filter(USER, parse_filter(text))
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidFilter")
