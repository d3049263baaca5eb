"""Property: for generated filters and data, every adapter returns exactly what the reference
evaluator selects. Filters the service would refuse (check_filter) never reach an adapter, so
they are checked only for being refused."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.conftest import RepositoryUnderTest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.filter_compile import check_filter
from scimtenancy_server.domain.filter_eval import matches
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ENTERPRISE_USER_SCHEMA, USER, USER_SCHEMA
from scimtenancy_server.domain.text_folding import fold_identity

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = [
    "bjensen",
    "BJensen",
    "jen",
    "a.b*c",
    ".*",
    "(",
    "[x]",
    "\\",
    "work",
    "Home",
    "example.com",
    "Ex",
    "",
    "z",
    "é",
    # One name to the lookup attributes' fold (domain/text_folding.py), told apart by the
    # lower-casing of the others, and by MongoDB's $regex with option i alike.
    "straße",
    "STRASSE",
    unicodedata.normalize("NFC", "Café"),
    unicodedata.normalize("NFD", "café"),
    "\uff21dmin",  # full-width A
    "admin",
]
STRING_PATHS = [
    "userName",
    "title",
    "displayName",
    "name.givenName",
    "emails.value",
    "emails.type",
    "externalId",
    f"{ENTERPRISE_USER_SCHEMA}:department",
]
STRING_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "le"]

words = st.sampled_from(WORDS)
strings = words | st.text(alphabet="abAB.*éßsS", max_size=3)


def quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


comparisons = st.one_of(
    st.builds(
        lambda p, o, v: f"{p} {o} {quoted(v)}",
        st.sampled_from(STRING_PATHS),
        st.sampled_from(STRING_OPS),
        strings,
    ),
    st.builds(lambda p: f"{p} pr", st.sampled_from([*STRING_PATHS, "active", "emails"])),
    st.builds(lambda b: f"active eq {str(b).lower()}", st.booleans()),
    st.builds(lambda t, v: f"emails[type eq {quoted(t)} or value co {quoted(v)}]", words, words),
)
filters = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=4,
)

emails = st.lists(
    st.fixed_dictionaries({"value": strings, "type": st.sampled_from(["work", "Home", "x"])}),
    max_size=2,
)
people = st.lists(
    st.fixed_dictionaries(
        {"userName": strings},
        optional={
            "title": strings,
            "displayName": strings,
            "active": st.booleans(),
            "externalId": strings,
            "emails": emails,
            "name": st.fixed_dictionaries({"givenName": strings}),
            ENTERPRISE_USER_SCHEMA: st.fixed_dictionaries({"department": strings}),
        },
    ),
    max_size=5,
    unique_by=lambda p: fold_identity(str(p["userName"])),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=people, text=filters)
async def test_adapters_agree_with_the_evaluator(
    store: RepositoryUnderTest, data: list[dict[str, Any]], text: str
) -> None:
    tenant = await store.tenant()
    resources = []
    for index, attributes in enumerate(data):
        when = T0 + timedelta(minutes=index)
        resource = StoredResource(
            "User", f"u{index}", 1, when, when, {"schemas": [USER_SCHEMA], **attributes}
        )
        resources.append(resource)
        await store.repository.insert(tenant, resource, USER)
    where = parse_filter(text)
    refused: ScimError | None = None
    try:
        check_filter(USER, where)
    except ScimError as error:
        refused = error
    if refused is not None:
        assert (refused.status, refused.scim_type) == (400, "invalidFilter")
        return
    want = sorted(r.id for r in resources if matches(USER, r, where))
    page = await store.repository.list(tenant, USER, where, 0, 100)
    assert [r.id for r in page.resources] == want, text
    assert page.total == len(want)
