"""Every scimType of RFC 7644 §3.12, provoked through HTTP, with the right status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from e2e.stack import STRATEGIES, ScimClient, Stack, running_stack, server_settings
from e2e.test_bad_input import assert_scim_error
from helpers import user_body

from scimtenancy_server.domain.tenant import IsolationLevel

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.fixture
async def user(stack: Stack) -> tuple[ScimClient, str]:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    created = await scim.post("/Users", user_body("errors", emails=[{"value": "e@x.org"}]))
    return scim, f"/Users/{created.json()['id']}"


async def test_invalid_filter(user: tuple[ScimClient, str]) -> None:
    scim, _ = user
    response = await scim.get("/Users", params={"filter": 'userName eq "x" and'})
    assert_scim_error(response, 400, "invalidFilter")


async def test_uniqueness(user: tuple[ScimClient, str]) -> None:
    scim, _ = user
    assert_scim_error(await scim.post("/Users", user_body("ERRORS")), 409, "uniqueness")


async def test_mutability(user: tuple[ScimClient, str]) -> None:
    scim, path = user
    response = await scim.patch(path, patch({"op": "add", "path": "groups", "value": []}))
    assert_scim_error(response, 400, "mutability")


async def test_invalid_syntax(user: tuple[ScimClient, str]) -> None:
    scim, path = user
    response = await scim.request("PUT", path, content=b'{"schemas": ["urn:')
    assert_scim_error(response, 400, "invalidSyntax")


async def test_invalid_path(user: tuple[ScimClient, str]) -> None:
    scim, path = user
    response = await scim.patch(path, patch({"op": "replace", "path": "nope", "value": 1}))
    assert_scim_error(response, 400, "invalidPath")


async def test_no_target(user: tuple[ScimClient, str]) -> None:
    scim, path = user
    assert_scim_error(await scim.patch(path, patch({"op": "remove"})), 400, "noTarget")


async def test_invalid_value(user: tuple[ScimClient, str]) -> None:
    scim, _ = user
    response = await scim.post("/Users", user_body("v", active="maybe"))
    assert_scim_error(response, 400, "invalidValue")


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_invalid_version(stack: Stack, strategy: str) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD, strategy)
    v1_path = urlsplit(scim.base_url).path.replace("/scim/v2", "/scim/v1")
    url = f"{stack.origins[strategy]}{v1_path}/Users"
    headers = {"Authorization": f"Bearer {scim.api_key}"}
    if strategy == "subdomain":
        headers["Host"] = scim.base_url.split("/")[2]
    assert_scim_error(await stack.http.get(url, headers=headers), 400, "invalidVers")


async def test_sensitive_values_stay_out_of_urls(user: tuple[ScimClient, str]) -> None:
    scim, _ = user
    response = await scim.get("/Users", params={"filter": 'password eq "hunter2"'})
    assert_scim_error(response, 403, "sensitive")
    searched = await scim.post(
        "/Users/.search", {"schemas": [SEARCH], "filter": 'password eq "hunter2"'}
    )
    assert_scim_error(searched, 400, "invalidFilter")  # never-returned values are not filterable


@pytest.fixture
async def small_scan_stack() -> AsyncIterator[Stack]:
    settings = server_settings("memory")
    settings.max_filter_scan = 2
    async with running_stack(settings) as stack:
        yield stack


async def test_too_many(small_scan_stack: Stack) -> None:
    scim = await small_scan_stack.tenant(IsolationLevel.STANDARD)
    for name in ("a", "b", "c"):
        await scim.post("/Users", user_body(name, emails=[{"value": f"{name}@x.org"}]))
    response = await scim.get("/Users", params={"filter": 'emails[value ew "x.org"]'})
    assert_scim_error(response, 400, "tooMany")
    narrowed = await scim.get(
        "/Users", params={"filter": 'userName eq "a" and emails[value ew "x.org"]'}
    )
    assert narrowed.json()["totalResults"] == 1
