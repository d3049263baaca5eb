"""The identity of a userName over HTTP (issue 10, class 10): canonically or compatibly
equivalent spellings are one name for uniqueness, `userName eq` and `/Me`, on embedded
storage and on FerretDB (domain/text_folding.py)."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from e2e.stack import ScimClient, Stack, running_stack, server_settings
from e2e.test_bad_input import assert_scim_error
from helpers import require_mongodb, user_body

from scimtenancy_common.settings import JwtIssuer
from scimtenancy_server.domain.tenant import IsolationLevel

ISSUER = "https://idp.example"
SECRET = "a-shared-secret-long-enough-for-hs256!"
NFC_CAFE = unicodedata.normalize("NFC", "café")
NFD_CAFE = unicodedata.normalize("NFD", "café")
FULL_WIDTH = "\uff41\uff44\uff4d\uff49\uff4e"  # "admin" in full-width letters


@pytest.fixture(scope="module", params=["memory", "mongodb"])
async def identity_stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    uri = require_mongodb() if request.param == "mongodb" else ""
    settings = server_settings(request.param, uri)
    settings.jwt_issuers = [
        JwtIssuer(issuer=ISSUER, algorithms=["HS256"], secret=SECRET, tenant_claim="tid")
    ]
    async with running_stack(settings) as stack:
        yield stack


def token_client(scim: ScimClient, subject: str) -> ScimClient:
    now = int(time.time())
    claims = {"iss": ISSUER, "iat": now, "exp": now + 300, "tid": scim.tenant_id, "sub": subject}
    return ScimClient(scim.stack, scim.strategy, scim.tenant_id, jwt.encode(claims, SECRET))


async def user_names(scim: ScimClient, text: str | None = None) -> list[str]:
    response = await scim.get("/Users", params={"filter": text} if text else None)
    assert response.status_code == 200, response.text
    return [r["userName"] for r in response.json()["Resources"]]


@pytest.mark.parametrize(
    ("first", "second"),
    [(NFC_CAFE, NFD_CAFE), (NFD_CAFE, "CAFÉ"), ("Admin", FULL_WIDTH), ("straße", "STRASSE")],
)
async def test_equivalent_spellings_are_one_user_name(
    identity_stack: Stack, first: str, second: str
) -> None:
    scim = await identity_stack.tenant(IsolationLevel.STANDARD)
    assert (await scim.post("/Users", user_body(first))).status_code == 201
    refused = await scim.post("/Users", user_body(second))
    assert_scim_error(refused, 409, "uniqueness")
    assert await user_names(scim) == [first]  # nothing written, the name kept as sent
    assert await user_names(scim, f'userName eq "{second}"') == [first]

    other = (await scim.post("/Users", user_body("other"))).json()
    renamed = await scim.put(f"/Users/{other['id']}", user_body(second))
    assert_scim_error(renamed, 409, "uniqueness")


async def test_me_is_the_user_whose_name_folds_to_the_subject(identity_stack: Stack) -> None:
    admin = await identity_stack.tenant(IsolationLevel.STRICT)
    created: dict[str, Any] = {}
    for name, extra in [
        ("Straße@Example.com", {}),
        (NFD_CAFE, {}),
        ("e1", {}),
        ("ann", {"externalId": "E1"}),
    ]:
        response = await admin.post("/Users", user_body(name, **extra))
        assert response.status_code == 201, response.text
        created[name] = response.json()["id"]

    async def me(subject: str) -> str | int:
        response = await token_client(admin, subject).get("/Me")
        return response.json()["id"] if response.status_code == 200 else response.status_code

    assert await me("STRASSE@EXAMPLE.COM") == created["Straße@Example.com"]
    assert await me("strasse@example.com") == created["Straße@Example.com"]
    assert await me(NFC_CAFE.upper()) == created[NFD_CAFE]
    # externalId is caseExact and comes first; userName only when no externalId is equal.
    assert await me("E1") == created["ann"]
    assert await me("e1") == created["e1"]
    assert await me("stras") == 404


async def test_a_folded_name_is_one_name_only_within_its_tenant(identity_stack: Stack) -> None:
    first = await identity_stack.tenant(IsolationLevel.STANDARD)
    second = await identity_stack.tenant(IsolationLevel.STRICT)
    assert (await first.post("/Users", user_body("straße"))).status_code == 201
    # Another tenant's equivalent name is free, and neither sees the other's user.
    assert (await second.post("/Users", user_body("STRASSE"))).status_code == 201
    assert await user_names(first, 'userName eq "strasse"') == ["straße"]
    assert await user_names(second, 'userName eq "straße"') == ["STRASSE"]
