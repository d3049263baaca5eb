"""Hypothesis strategies of SCIM bodies for the fuzz tests: valid shapes with hostile values
(wrong types, odd numbers, deep nesting, unicode, NULs, long strings, many values, unknown
keys, URN keys), and the helpers that build them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from unit.test_fuzz_parsers import any_filter_text, any_path_text, known_filters, paths

from scimtenancy_server.domain.schema import (
    ENTERPRISE_USER,
    GROUP_CORE,
    GROUP_SCHEMA,
    USER_CORE,
    USER_SCHEMA,
    Attribute,
    Mutability,
    Schema,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
FUZZ = "urn:example:params:scim:schemas:extension:fuzz:1.0:User"
_ATTRIBUTE = {"multiValued": False, "required": False, "mutability": "readWrite"}
FUZZ_SCHEMA: dict[str, Any] = {
    "id": FUZZ,
    "name": "Fuzz",
    "description": "one attribute of every type",
    "attributes": [
        {**_ATTRIBUTE, "name": "count", "type": "integer"},
        {**_ATTRIBUTE, "name": "score", "type": "decimal"},
        {**_ATTRIBUTE, "name": "flag", "type": "boolean"},
        {**_ATTRIBUTE, "name": "since", "type": "dateTime"},
        {**_ATTRIBUTE, "name": "tags", "type": "string", "multiValued": True},
        {**_ATTRIBUTE, "name": "pin", "type": "string", "mutability": "writeOnly"},
        {**_ATTRIBUTE, "name": "hint", "type": "string", "returned": "never"},
        {
            **_ATTRIBUTE,
            "name": "badges",
            "type": "complex",
            "multiValued": True,
            "subAttributes": [
                {**_ATTRIBUTE, "name": "level", "type": "integer"},
                {**_ATTRIBUTE, "name": "label", "type": "string"},
            ],
        },
    ],
}
FUZZ_EXTENSION = Schema.from_json(FUZZ_SCHEMA)
# What would betray internals; none of it can come from a client's (short) values.
INTERNALS = ("Traceback (most recent call last)", "Stream removed", "StatusCode.", "grpc_")
PLACEHOLDERS = ["@0", "@1"]  # the ids of the two Users of the `users` fixture
NEW_ID = "@new"  # a fresh unique value, so that generated names rarely collide
SEARCH_ENDPOINTS = ["/Users/.search", "/Groups/.search", "/.search"]
MAX_URL_QUERY = 60_000  # httpx refuses longer URLs before sending them


def fuzzed(examples: int) -> settings:
    """One tenant per test function (a function-scoped fixture), shared by its examples."""
    return settings(
        max_examples=examples,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- bodies as bytes: JSON that no Python value encodes


@dataclass(frozen=True, slots=True)
class Raw:
    """A JSON fragment sent as written: `1e400`, `-0`, or an escape such as `"\\ud800"`."""

    text: str


def encode(value: object) -> str:
    """JSON text; `Raw` fragments go in as they are, and lone surrogates in strings become
    `\\udXXX` escapes (json.dumps escapes every non-ASCII character)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


def content(value: object) -> bytes:
    return encode(value).encode("utf-8")


# -- hostile values

RAW_NUMBERS = [
    "1e400",
    "-1e400",
    "1E+999",
    "1e308",
    "-1.7976931348623157e308",
    "5e-324",
    "1e-400",
    "-0",
    "2e0",
    "9007199254740993.0",
    "123456789012345678901234567890",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "NaN",
    "Infinity",
]
RAW_STRINGS = [
    '"\\ud800"',
    '"\\udfff"',
    '"a\\ud800b"',
    '"\\ud83d\\ude00"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\u202e"',
]
ODD_STRINGS = ["", " ", "\x00", "True", "false", "bulkId:a", "2026-01-01T00:00:00Z", "ǅ", "ﬁ"]

raw_values = st.sampled_from(RAW_NUMBERS + RAW_STRINGS).map(Raw)
long_strings = st.integers(8150, 8250).map(lambda n: "x" * n)
texts = st.text(max_size=30) | st.sampled_from(ODD_STRINGS) | long_strings
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    raw_values,
)
keys = st.text(max_size=10) | st.sampled_from(["value", "type", "urn:x:y", FUZZ, "$ref", "id"])
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=10,
)


def nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


hostile = st.one_of(
    json_values,
    json_values,  # twice: deep nesting is refused early, so it is drawn less often
    st.integers(20, 60).map(nested),
    st.integers(250, 260).map(lambda n: [{"value": f"v{i}@example.com"} for i in range(n)]),
)

# -- values shaped by the schema the service enforces

DATE_TIMES = ["2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "9999-12-31T23:59:59+14:00", "x"]
VALID_DATE_TIMES = ["2026-01-01T00:00:00Z", "1970-01-01T00:00:00+01:00", "2026-06-30T12:00:00.5Z"]
INT64 = st.integers(-(2**63), 2**63 - 1)
VALID_BY_TYPE: dict[str, st.SearchStrategy[object]] = {
    "string": st.text(max_size=20),
    "reference": st.text(max_size=20),
    "binary": st.sampled_from(["TUlJ", "", "QUJD"]),
    "boolean": st.booleans() | st.sampled_from(["True", "false"]),  # Entra ID sends strings
    "integer": INT64,
    "decimal": st.floats(allow_nan=False, allow_infinity=False) | INT64,
    "dateTime": st.sampled_from(VALID_DATE_TIMES),
}
SHAPED_BY_TYPE: dict[str, st.SearchStrategy[object]] = {
    "string": texts,
    "reference": texts,
    "binary": texts,
    "boolean": st.booleans() | st.sampled_from(["True", "false", "yes"]),
    "integer": st.integers(-(2**64), 2**64) | raw_values,
    "decimal": st.floats(allow_nan=False, allow_infinity=False) | raw_values,
    "dateTime": st.sampled_from(DATE_TIMES) | texts,
}
# Group members: existing Users (`@0`, `@1`, bound per test), or anything else.
valid_members = st.lists(
    st.fixed_dictionaries(
        {"value": st.sampled_from(PLACEHOLDERS)}, optional={"type": st.just("User")}
    ),
    max_size=3,
)
members = st.lists(
    st.fixed_dictionaries(
        {"value": st.sampled_from([*PLACEHOLDERS, "bulkId:a", "missing", ""]) | texts | hostile},
        optional={"type": st.sampled_from(["User", "Group", "x"]) | texts, "display": texts},
    )
    | hostile,
    max_size=4,
)


def value_of(attribute: Attribute, valid: bool) -> st.SearchStrategy[object]:
    """A value of the attribute's shape: `valid` ones the schema accepts, the others with
    hostile scalars (or anything at all) anywhere inside."""
    if attribute.name == "members":
        return valid_members if valid else members
    if attribute.complex:
        subs = {sub.name: value_of(sub, valid) for sub in attribute.sub_attributes}
        single: st.SearchStrategy[object] = st.fixed_dictionaries({}, optional=subs)
    else:
        single = (VALID_BY_TYPE if valid else SHAPED_BY_TYPE).get(attribute.type, texts)
    if attribute.multi_valued:
        single = st.lists(single, max_size=3) | single
    return single if valid else single | hostile


def attributes_of(schema: Schema, valid: bool) -> dict[str, st.SearchStrategy[object]]:
    return {a.name: value_of(a, valid) for a in schema.attributes}


unique_names = st.text(max_size=8).map(lambda t: f"{t}x{NEW_ID}")
schemas_lists = st.lists(
    st.sampled_from([USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER.id, FUZZ, "urn:x:y"]) | texts,
    min_size=1,
    max_size=3,
)
unknown_keys = {
    "id": json_values,
    "meta": json_values,
    "shoeSize": json_values,
    "urn:example:unknown:1.0:User": json_values,
    "USERNAME": json_values,
}


def representations(
    core: Schema, extensions: tuple[Schema, ...], valid: bool
) -> st.SearchStrategy[dict[str, Any]]:
    required = "userName" if core is USER_CORE else "displayName"
    optional = {k: v for k, v in attributes_of(core, valid).items() if k != required}
    for extension in extensions:
        optional[extension.id] = st.fixed_dictionaries({}, optional=attributes_of(extension, valid))
    schemas = st.just([core.id, *(e.id for e in extensions)])
    if not valid:
        optional |= unknown_keys
        schemas |= schemas_lists
    name = unique_names if valid else unique_names | value_of(Attribute(required), valid)
    return st.fixed_dictionaries({"schemas": schemas, required: name}, optional=optional)


def poisoned(body: dict[str, Any], key: str, value: object) -> dict[str, Any]:
    """A valid body with one hostile part: a value, or a value inside an extension."""
    if isinstance(body.get(key), dict) and key.startswith("urn:"):
        return {**body, key: {**body[key], "count": value}}
    return {**body, key: value}


def resource_bodies(core: Schema, extensions: tuple[Schema, ...]) -> st.SearchStrategy[Any]:
    """Valid representations (which the service must accept and keep readable), ones with a
    single hostile part, and ones hostile anywhere."""
    valid = representations(core, extensions, valid=True)
    names = [a.name for a in core.attributes] + [e.id for e in extensions] + list(unknown_keys)
    one_bad = st.builds(poisoned, valid, st.sampled_from(names), hostile)
    return st.one_of(valid, one_bad, representations(core, extensions, valid=False))


USER_EXTENSIONS = (ENTERPRISE_USER, FUZZ_EXTENSION)
user_bodies = resource_bodies(USER_CORE, USER_EXTENSIONS)
group_bodies = resource_bodies(GROUP_CORE, ())

# -- PatchOp bodies: valid operations on every writable path, or hostile ones


def writable_paths(schema: Schema, prefix: str = "") -> dict[str, Attribute]:
    """Every path a PATCH may name in a schema, with the attribute it lands on."""
    found: dict[str, Attribute] = {}
    for attribute in schema.attributes:
        if attribute.mutability is Mutability.READ_ONLY:
            continue
        found[prefix + attribute.name] = attribute
        if attribute.complex and not attribute.multi_valued:
            for sub in attribute.sub_attributes:
                found[f"{prefix}{attribute.name}.{sub.name}"] = sub
    return found


def valid_operations(targets: dict[str, Attribute]) -> st.SearchStrategy[dict[str, Any]]:
    setting = st.sampled_from(sorted(targets)).flatmap(
        lambda path: st.fixed_dictionaries(
            {
                "op": st.sampled_from(["add", "replace", "Replace"]),
                "path": st.just(path),
                "value": value_of(targets[path], valid=True),
            }
        )
    )
    removing = st.fixed_dictionaries(
        {"op": st.sampled_from(["remove", "Remove"]), "path": st.sampled_from(sorted(targets))}
    )
    return setting | removing


EMAILS = USER_CORE.attribute("emails") or Attribute("emails")
PATCH_TARGETS = {
    "Users": {
        **writable_paths(USER_CORE),
        **writable_paths(ENTERPRISE_USER, f"{ENTERPRISE_USER.id}:"),
        **writable_paths(FUZZ_EXTENSION, f"{FUZZ}:"),
        'emails[type eq "work"].value': Attribute("value"),
        f"{FUZZ}:badges[level eq 1].label": Attribute("label"),
    },
    "Groups": {**writable_paths(GROUP_CORE), 'members[value eq "@0"]': Attribute("members")},
}
hostile_operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "Add", "move", ""]) | scalars},
    optional={
        "path": st.sampled_from(sorted(PATCH_TARGETS["Users"])) | any_path_text | scalars,
        "value": hostile | members | value_of(EMAILS, valid=False),
    },
)


def messages(
    urn: str,
    valid: dict[str, st.SearchStrategy[Any]],
    wild: dict[str, st.SearchStrategy[Any]],
    optional: bool = False,
) -> st.SearchStrategy[dict[str, Any]]:
    """API messages (RFC 7644 §3.4.3, §3.5.2, §3.7): mostly with their schema and valid
    fields, so that they get past the envelope, the others with anything anywhere."""
    schemas = st.just([urn])

    def message(fields: dict[str, Any], urns: Any) -> st.SearchStrategy[dict[str, Any]]:
        if optional:
            return st.fixed_dictionaries({"schemas": urns}, optional=fields)
        return st.fixed_dictionaries({"schemas": urns, **fields})

    good = message(valid, schemas)
    return st.one_of(good, good, message(wild, schemas | schemas_lists))


def patch_bodies(endpoint: str) -> st.SearchStrategy[dict[str, Any]]:
    valid = valid_operations(PATCH_TARGETS[endpoint])
    mixed = st.lists(valid | hostile_operations | hostile, min_size=1, max_size=4)
    return messages(
        PATCH_OP,
        {"Operations": st.lists(valid, min_size=1, max_size=3)},
        {"Operations": mixed | hostile},
    )


# -- /Bulk bodies: bulkId references forward, backward, to themselves and in cycles

BULK_IDS = ["a", "b", "c", "d"]
valid_bulk_operations = st.one_of(
    st.fixed_dictionaries(
        {
            "method": st.just("POST"),
            "path": st.just("/Users"),
            "data": representations(USER_CORE, USER_EXTENSIONS, valid=True),
        }
    ),
    st.fixed_dictionaries(
        {"method": st.just("POST"), "path": st.just("/Groups"), "data": group_bodies}
    ),
    st.fixed_dictionaries(
        {
            "method": st.sampled_from(["PATCH", "patch"]),
            "path": st.sampled_from(["/Users/bulkId:a", "/Users/@0", "/Users/bulkId:zz"]),
            "data": patch_bodies("Users"),
        }
    ),
    st.fixed_dictionaries(
        {"method": st.just("PUT"), "path": st.just("/Users/bulkId:b"), "data": user_bodies}
    ),
    st.fixed_dictionaries(
        {"method": st.just("DELETE"), "path": st.sampled_from(["/Users/bulkId:c", "/Groups/x"])}
    ),
)
bulk_operations = valid_bulk_operations | st.fixed_dictionaries(
    {"method": st.sampled_from(["POST", "DELETE", "GET"]) | scalars},
    optional={
        "path": st.builds(lambda e, t: f"/{e}/{t}", st.sampled_from(["Users", "x"]), texts)
        | scalars,
        "bulkId": st.sampled_from(BULK_IDS) | scalars,
        "version": st.sampled_from(['"1"', "*", 'W/"2"']) | scalars,
        "data": hostile,
    },
)


def with_bulk_ids(operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POSTs get bulkIds a, b, c... in order; a Group POST lists every other POST's bulkId as
    members (forward and backward references, cycles between groups) and, at odd places,
    its own (a self-reference)."""
    named = [
        {**op, "bulkId": BULK_IDS[i]} if op.get("method") == "POST" and "bulkId" not in op else op
        for i, op in enumerate(operations)
    ]
    ids = [op.get("bulkId") if op.get("method") == "POST" else None for op in named]
    for i, op in enumerate(named):
        if op.get("path") == "/Groups" and isinstance(op.get("data"), dict):
            refs = [b for j, b in enumerate(ids) if isinstance(b, str) and (j != i or i % 2)]
            op["data"] = {**op["data"], "members": [{"value": f"bulkId:{b}"} for b in refs]}
    return named


bulk_bodies = messages(
    BULK_REQUEST,
    {
        "Operations": st.lists(valid_bulk_operations, min_size=1, max_size=len(BULK_IDS)).map(
            with_bulk_ids
        )
    },
    {
        "Operations": st.lists(bulk_operations, min_size=1, max_size=len(BULK_IDS)).map(
            with_bulk_ids
        )
        | hostile,
        "failOnErrors": st.integers(-2, 3) | scalars,
    },
)

# -- SearchRequest bodies and list query parameters

NAMES = ["userName", "displayName", "emails.value", "meta.created", "name.familyName", "id"]
names = st.sampled_from(NAMES) | paths
attribute_lists = st.lists(names, max_size=4) | names
small = st.integers(-2, 5)
search_fields = {
    "filter": known_filters,
    "startIndex": small,
    "count": small,
    "sortBy": st.sampled_from(NAMES),
    "sortOrder": st.sampled_from(["ascending", "descending"]),
    "attributes": st.lists(st.sampled_from(NAMES), max_size=3),
}
search_bodies = messages(
    SEARCH_REQUEST,
    search_fields,
    {
        "filter": known_filters | any_filter_text | scalars,
        "startIndex": small | st.integers(-(2**64), 2**64) | scalars,
        "count": small | st.integers(-(2**64), 2**64) | scalars,
        "sortBy": names | scalars,
        "sortOrder": st.sampled_from(["ascending", "DESCENDING", "up"]) | scalars,
        "attributes": attribute_lists | scalars,
        "excludedAttributes": attribute_lists | scalars,
        "cursor": st.sampled_from(["", "!!!", "c1", "YzE6MDp4"]) | scalars,
    },
    optional=True,
)
numbers_as_text = st.integers(-(2**70), 2**70).map(str) | st.sampled_from(RAW_NUMBERS) | texts
query_parameters = st.fixed_dictionaries(
    {},
    optional={
        "filter": known_filters | any_filter_text,
        "startIndex": st.integers(-2, 5).map(str) | numbers_as_text,
        "count": st.integers(-2, 5).map(str) | numbers_as_text,
        "sortBy": names | texts,
        "sortOrder": st.sampled_from(["ascending", "descending"]) | texts,
        "attributes": st.lists(names, max_size=4).map(",".join) | texts,
        "excludedAttributes": st.lists(names, max_size=4).map(",".join) | texts,
        "cursor": st.sampled_from(["", "!!!", "YzE6MDp4"]) | texts,
    },
)

# -- the checks
