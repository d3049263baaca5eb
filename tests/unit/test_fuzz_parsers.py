"""Property-based fuzzing of the filter parser and the PATCH parsers (issue 10): on any text,
arbitrary or shaped like the grammar, they return or refuse with a short 400 SCIM error, never
another exception (RecursionError, IndexError, ValueError, OverflowError...). What they accept
can be evaluated, applied and rendered without any exception either."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from scimtenancy_server.domain.errors import MAX_DETAIL_LENGTH, ScimError
from scimtenancy_server.domain.filter import COMPARISON_OPERATORS, parse_filter
from scimtenancy_server.domain.filter_compile import check_filter, compile_filter
from scimtenancy_server.domain.filter_eval import matches
from scimtenancy_server.domain.limits import InputLimits
from scimtenancy_server.domain.patch import (
    PATCH_OP_SCHEMA,
    apply_patch,
    parse_patch,
    resolve_target,
)
from scimtenancy_server.domain.render import render
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    ResourceType,
)
from scimtenancy_server.domain.validation import canonical_attributes

PARSER_REFUSALS = frozenset(
    {"invalidFilter", "invalidPath", "invalidSyntax", "invalidValue", "noTarget", "mutability"}
)
TIGHT = InputLimits(
    max_string_length=64,
    max_values=4,
    max_resource_bytes=4096,
    max_filter_length=200,
    max_filter_terms=5,
    max_filter_depth=3,
    max_path_length=40,
    max_patch_operations=5,
)
LIMITS = st.sampled_from([InputLimits(), TIGHT])
TOO_LARGE = (413, "tooLarge")  # a PATCH that grows a resource past max_resource_bytes
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T = TypeVar("T")

# -- refusals


def outcome(call: Callable[[], T], *extra: tuple[int, str]) -> T | ScimError:
    """What `call` returns, or the ScimError it raised, which must be a short 400 of a
    parser's kinds (or one of `extra`); any other exception fails the test as it is."""
    try:
        return call()
    except ScimError as error:
        refusal = error
    assert refusal.detail, refusal
    assert len(refusal.detail) <= MAX_DETAIL_LENGTH, refusal
    kinds = {(400, kind) for kind in PARSER_REFUSALS} | set(extra)
    assert (refusal.status, refusal.scim_type) in kinds, refusal
    return refusal


# -- filter text

WORDS = [
    "userName",
    "USERNAME",
    "displayName",
    "title",
    "active",
    "id",
    "externalId",
    "password",
    "name.givenName",
    "name",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "members",
    "members.value",
    "groups.display",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "meta.version",
    "x509Certificates.value",
    "addresses.postalCode",
    f"{USER_SCHEMA}:userName",
    f"{USER_SCHEMA}:name.familyName",
    f"{ENTERPRISE_USER_SCHEMA}:department",
    f"{ENTERPRISE_USER_SCHEMA}:manager.value",
    f"{ENTERPRISE_USER_SCHEMA}:manager",
    ENTERPRISE_USER_SCHEMA,
    f"{GROUP_SCHEMA}:displayName",
    "urn:",
    "urn:x",
    "urn:x:",
    "a.",
    "a.b.c",
    "$ref",
    "$",
    "a-b",
    "and",
    "or",
    "not",
    "pr",
    "eq",
    "true",
]
NUMBERS = [
    "1e400",
    "-1e400",
    "1E+999",
    "1e308",
    "1.7976931348623157e308",
    "1e-400",
    "-0",
    "0.0e0",
    "00012",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "9" * 30,
    "1" + "0" * 4000,
    "0." + "0" * 3000 + "1",
    "1." + "5" * 3000 + "e5",
    "1.",
    ".5",
    "1e",
    "-",
    "--1",
    "1.5.5",
    "0x10",
    "NaN",
    "Infinity",
]
STRINGS = [
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\ud83d\\ude00"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\u12"',
    '"\\x41"',
    '"\\',
    '"',
    '"""',
    '"\\""',
    '"a\\"',
    '"2026-01-01T00:00:00Z"',
    '"2026-01-01T00:00:00+99:00"',
    '"9999-12-31T23:59:59+00:00"',
    '"0001-01-01T00:00:00-23:59"',
    '"bulkId:x"',
]
OPERATORS = [*sorted(COMPARISON_OPERATORS), "pr", "EQ", "Pr", "xx", "=", ""]
GRAMMAR_ALPHABET = '()[]"\\ .:-$_eE019aAnNoOtTrRpP\t\n\x00é\ud800'

paths = st.one_of(
    st.sampled_from(WORDS),
    st.from_regex(r"[A-Za-z$][\w:.$-]{0,24}", fullmatch=True),
    st.integers(30, 300).map(lambda n: "a" * n),
    st.integers(1, 120).map(lambda n: "urn:" + "x:" * n + "y"),
)
json_strings = st.text(max_size=20).map(lambda s: json.dumps(s, ensure_ascii=False))
escaped_strings = st.text(max_size=20).map(json.dumps)
values = st.one_of(
    json_strings,
    escaped_strings,
    st.sampled_from(STRINGS),
    st.sampled_from(NUMBERS),
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "TRUE", "Null", "nil"]),
    st.integers(1, 5000).map(lambda n: '"' + "x" * n + '"'),
)
comparisons = st.one_of(
    st.builds(lambda p, o, v: f"{p} {o} {v}", paths, st.sampled_from(OPERATORS), values),
    st.builds(lambda p: f"{p} pr", paths),
)
grammar_filters = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda a: f"not{a}", inner),
        st.builds(lambda p, a: f"{p}[{a}]", paths, inner),
        st.builds(lambda p, a, s: f"{p}[{a}].{s}", paths, inner, paths),
    ),
    max_leaves=8,
)
OPENERS = {"(": ")", "not (": ")", "not(": ")", "emails[": "]", "members[": "]", "[": "]"}


@st.composite
def nested_filters(draw: st.DrawFn) -> str:
    """Deep nesting, balanced or not: `((((`, `not (not (`, `emails[emails[`."""
    opener = draw(st.sampled_from(sorted(OPENERS)))
    depth = draw(st.integers(0, 3000))
    core = draw(comparisons)
    closing = OPENERS[opener] * draw(st.sampled_from([depth, depth - 1, depth + 1, 0]))
    return opener * depth + core + closing


@st.composite
def long_chains(draw: st.DrawFn) -> str:
    """Long `and` / `or` runs, and many terms: past max_filter_terms and near the length."""
    joiner = draw(st.sampled_from([" or ", " and ", " OR ", " and not ", " "]))
    term = draw(comparisons)
    return joiner.join([term] * draw(st.integers(1, 400)))


@st.composite
def mutated(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> str:
    """A grammar-shaped text cut short, or with characters inserted or deleted."""
    text = draw(texts)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["cut", "insert", "delete"]))
        if edit == "cut":
            text = text[:where]
        elif edit == "insert":
            text = text[:where] + draw(st.sampled_from(GRAMMAR_ALPHABET)) + text[where:]
        else:
            text = text[:where] + text[where + 1 :]
    return text


# Filters a client might well send: known paths, operators and plain values.
KNOWN_PATHS = WORDS[: WORDS.index("urn:")]
plain_values = st.one_of(
    json_strings,
    st.sampled_from(['"b@example.com"', '"work"', '"Bjensen"', '"2026-01-01T00:00:00Z"']),
    st.integers(-5, 5).map(str),
    st.sampled_from(["true", "false", "null", "1.5", "1e400", "9" * 20]),
)
known_comparisons = st.one_of(
    st.builds(
        lambda p, o, v: f"{p} {o} {v}",
        st.sampled_from(KNOWN_PATHS),
        st.sampled_from(sorted(COMPARISON_OPERATORS)),
        plain_values,
    ),
    st.builds(lambda p: f"{p} pr", st.sampled_from(KNOWN_PATHS)),
    st.builds(
        lambda p, a: f"{p}[{a}]",
        st.sampled_from(["emails", "members", "x509Certificates", "addresses", "name"]),
        st.builds(
            lambda p, o, v: f"{p} {o} {v}".removesuffix(" pr"),
            st.sampled_from(["value", "type", "primary", "display", "emails", "postalCode"]),
            st.sampled_from(["eq", "ne", "co", "gt", "pr"]),
            plain_values | st.just("pr"),
        ),
    ),
)
known_filters = st.recursive(
    known_comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"({a}) or not ({b})", inner, inner),
    ),
    max_leaves=5,
)

any_filter_text = st.one_of(
    known_filters,
    known_filters,  # twice: more of the filters get as far as evaluation
    mutated(known_filters),
    st.text(max_size=200),
    st.text(alphabet=GRAMMAR_ALPHABET, max_size=200),
    grammar_filters,
    mutated(grammar_filters),
    nested_filters(),
    long_chains(),
)

# -- resources a filter is evaluated against

SAMPLE_USER = StoredResource(
    "User",
    "u-1",
    3,
    T0,
    T0,
    {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "Bjensen",
        "displayName": "Straße",
        "active": True,
        "title": "",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "b@example.com", "type": "work", "primary": True},
            {"value": "\uff22\uff2a@example.com"},  # full-width letters,
        ],
        "x509Certificates": [{"value": "TUlJ"}],
        ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": {"value": "u-2"}},
    },
)
SAMPLE_GROUP = StoredResource(
    "Group",
    "g-1",
    1,
    T0,
    T0,
    {"schemas": [GROUP_SCHEMA], "displayName": "Admins", "members": [{"value": "u-1"}]},
)
SAMPLES = ((USER, SAMPLE_USER), (GROUP, SAMPLE_GROUP))


def assert_filter_is_safe(text: str, limits: InputLimits) -> None:
    """Parsing refuses cleanly or succeeds; what parses is checked per resource type, and
    what is checked evaluates without raising anything at all."""
    parsed = outcome(lambda: parse_filter(text, limits))
    if isinstance(parsed, ScimError):
        return
    for rt, resource in SAMPLES:
        if not isinstance(outcome(partial(check_filter, rt, parsed)), ScimError):
            # check_filter promises to raise wherever evaluation could.
            assert isinstance(compile_filter(rt, parsed)(resource), bool)
            assert isinstance(matches(rt, resource, parsed), bool)


@settings(max_examples=400)
@given(text=any_filter_text, limits=LIMITS)
def test_filters_parse_or_are_refused_cleanly(text: str, limits: InputLimits) -> None:
    assert_filter_is_safe(text, limits)


@settings(max_examples=60)
@given(opener=st.sampled_from(["(", "not (", "not(", "emails["]), depth=st.integers(0, 20_000))
def test_any_nesting_depth_is_refused_without_recursion(opener: str, depth: int) -> None:
    text = opener * depth + "userName pr" + OPENERS[opener] * depth
    parsed = outcome(lambda: parse_filter(text, InputLimits(max_filter_length=200_000)))
    refused = isinstance(parsed, ScimError) and parsed.scim_type == "invalidFilter"
    assert refused == (depth > InputLimits().max_filter_depth), parsed


# -- PATCH paths

PATCH_WORDS = [
    *WORDS,
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    'emails[type eq "home" and primary eq true].display',
    'emails[not (type eq "x")]',
    'emails[type eq "a]"].value',
    "emails[value pr][type pr]",
    'members[value eq "u-1"]',
    'members[value eq "u-1"].display',
    'addresses[type eq "work"].streetAddress',
    "name[givenName pr]",
    "emails[]",
    "emails[",
    "emails]",
    "[",
    "]",
    ".",
    "",
    f"{ENTERPRISE_USER_SCHEMA}:",
    f"{USER_SCHEMA}:",
    f"{ENTERPRISE_USER_SCHEMA}:manager.value.x",
]


@st.composite
def patch_paths(draw: st.DrawFn) -> str:
    """`[urn:]attr[filter].sub` built from parts, any of them hostile."""
    prefix = draw(st.sampled_from(["", f"{USER_SCHEMA}:", f"{ENTERPRISE_USER_SCHEMA}:", "urn:x:"]))
    attribute = draw(paths)
    value_filter = draw(st.none() | grammar_filters | nested_filters())
    sub = draw(st.none() | paths)
    text = prefix + attribute
    if value_filter is not None:
        text += f"[{value_filter}]"
    if sub is not None:
        text += f".{sub}"
    return text


any_path_text = st.one_of(
    st.sampled_from(PATCH_WORDS),
    st.text(max_size=100),
    st.text(alphabet=GRAMMAR_ALPHABET + "emailsvu", max_size=100),
    patch_paths(),
    mutated(patch_paths()),
    mutated(st.sampled_from(PATCH_WORDS)),
)
types = st.sampled_from([USER, GROUP])


@settings(max_examples=400)
@given(rt=types, path=any_path_text, limits=LIMITS)
def test_patch_paths_resolve_or_are_refused_cleanly(
    rt: ResourceType, path: str, limits: InputLimits
) -> None:
    outcome(lambda: resolve_target(rt, path, limits))


# -- PatchOp messages and their application

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["True", "false", "bulkId:x", "u-1", "2026-01-01T00:00:00Z", "x" * 100]),
)
KEYS = ["value", "type", "primary", "display", "givenName", "schemas", "$ref", "VALUE", "op"]
json_values = st.recursive(
    hostile_scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.sampled_from(KEYS + WORDS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)
KNOWN_PATCH_PATHS = [
    "userName",
    "displayName",
    "active",
    "title",
    "name",
    "name.givenName",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    'emails[type eq "home"].value',
    "emails[primary eq true].display",
    'emails[value co "example"]',
    "members",
    'members[value eq "u-1"]',
    "x509Certificates",
    "password",
    "externalId",
    ENTERPRISE_USER_SCHEMA,
    f"{ENTERPRISE_USER_SCHEMA}:department",
    f"{ENTERPRISE_USER_SCHEMA}:manager",
    f"{ENTERPRISE_USER_SCHEMA}:manager.value",
    f"{USER_SCHEMA}:name.familyName",
]
# Values shaped like those attributes hold, so that many operations apply.
plain_value: st.SearchStrategy[object] = st.one_of(
    st.text(max_size=12),
    st.booleans(),
    st.fixed_dictionaries(
        {"value": st.text(min_size=1, max_size=12)},
        optional={"type": st.sampled_from(["work", "home"]), "primary": st.booleans()},
    ),
    st.dictionaries(st.sampled_from(["givenName", "familyName", "department"]), st.text()),
)
plain_json = plain_value | st.lists(plain_value, max_size=3)
plain_operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "Add", "REPLACE"]), "value": plain_json},
    optional={"path": st.sampled_from(KNOWN_PATCH_PATHS)},
) | st.fixed_dictionaries(
    {"op": st.sampled_from(["remove", "Remove"]), "path": st.sampled_from(KNOWN_PATCH_PATHS)}
)
operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "Add", "REPLACE", "Remove", "move", ""])},
    optional={
        "path": st.sampled_from(KNOWN_PATCH_PATHS) | any_path_text | hostile_scalars,
        "value": plain_json | json_values,
        "Value": json_values,
    },
)
patch_documents = st.one_of(
    st.fixed_dictionaries(
        {
            "schemas": st.just([PATCH_OP_SCHEMA]),
            "Operations": st.lists(plain_operations, min_size=1, max_size=3),
        }
    ),
    st.fixed_dictionaries(
        {
            "schemas": st.just([PATCH_OP_SCHEMA]),
            "Operations": st.lists(plain_operations | operations | json_values, max_size=7),
        }
    ),
    st.dictionaries(st.sampled_from(["schemas", "Operations", "operations"]), json_values),
)


def assert_accepted_attributes_render(rt: ResourceType, attributes: dict[str, Any]) -> None:
    """What a PATCH produced is canonical (validating it again changes nothing), storable as
    JSON and renderable."""
    assert canonical_attributes(rt, attributes) == attributes
    orjson.dumps(attributes)
    sample = SAMPLE_USER if rt is USER else SAMPLE_GROUP
    stored = StoredResource(rt.name, sample.id, 2, T0, T0, attributes)
    rendered = orjson.loads(render(rt, stored, "https://scim.example/tenants/t/scim/v2"))
    assert rendered["id"] == sample.id


@settings(max_examples=400)
@given(rt=types, document=patch_documents, limits=LIMITS)
def test_patch_messages_apply_or_are_refused_cleanly(
    rt: ResourceType, document: dict[str, Any], limits: InputLimits
) -> None:
    sample = SAMPLE_USER if rt is USER else SAMPLE_GROUP
    parsed = outcome(lambda: parse_patch(document, limits))
    if isinstance(parsed, ScimError):
        return
    applied = outcome(partial(apply_patch, rt, sample.attributes, parsed, limits), TOO_LARGE)
    if not isinstance(applied, ScimError):
        assert_accepted_attributes_render(rt, applied)
