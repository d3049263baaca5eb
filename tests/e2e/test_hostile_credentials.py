"""Hostile request lines and tokens over real sockets (issue 10, classes 1 and 8): a 60 KB
path shaped to make credential scrubbing expensive is answered with a SCIM error and logged
cut to a bounded line; a signed JWT with an absurd number in a claim is a 401 naming the
claim, never a 500, and no refusal echoes the token."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from e2e.stack import Stack, running_stack, server_settings
from e2e.test_bad_input import assert_scim_error
from helpers import require_mongodb, unique_id

from scimtenancy_common.logs import MAX_LOGGED_VALUE, JsonFormatter, bounded
from scimtenancy_common.settings import JwtIssuer
from scimtenancy_server.domain.tenant import IsolationLevel

PATH_SIZE = 60_000
# Shapes that made the scrubber before issue 10 quadratic, and ones that swallow a whole line.
UNITS = ["eyJ-", "-eyJa", "eyJa.eyJ-", "token=", "Bearer ", "api_key=", "password: "]
ISSUER = "https://idp.example/"
SECRET = "a-shared-secret-of-at-least-thirty-two-bytes"


def _access_entry(records: list[logging.LogRecord], marker: str) -> dict[str, Any]:
    """The access line of the request whose path holds the marker, as it is written."""
    for record in records:
        if record.name == "scimtenancy_transcoder.access" and marker in record.getMessage():
            line = JsonFormatter().format(record)
            assert len(line) < 4 * MAX_LOGGED_VALUE
            entry: dict[str, Any] = json.loads(line)
            return entry
    raise AssertionError("no access line for the request")


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize(
    ("route", "status"), [("/tenants/acme/scim/v2/Users/", 401), ("/nowhere/", 404)]
)
async def test_a_hostile_path_is_answered_and_logged_cut(
    stack: Stack, caplog: pytest.LogCaptureFixture, unit: str, route: str, status: int
) -> None:
    caplog.set_level(logging.INFO, logger="scimtenancy_transcoder.access")
    marker = unique_id()
    count = PATH_SIZE // len(unit.replace(" ", "%20"))  # 60 KB on the wire
    path = f"{route}{marker}-{unit * count}"
    response = await stack.http.get(stack.origins["path"] + path)  # no credential at all
    assert_scim_error(response, status)
    assert len(response.text) < 500

    entry = _access_entry(caplog.records, marker)
    assert entry["http.status"] == status
    logged = entry["http.path"]
    assert logged == bounded(path)  # scrubbed, then cut when scrubbing left it long
    assert logged.startswith(f"{route}{marker}-")
    assert len(logged) < MAX_LOGGED_VALUE + 40
    assert entry["message"] == f"GET {logged} {status}"


@pytest.fixture(scope="module", params=["memory", "mongodb"])
async def jwt_stack(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Stack, str]]:
    storage: str = request.param
    uri = require_mongodb() if storage == "mongodb" else ""
    issuer = JwtIssuer(issuer=ISSUER, algorithms=["HS256"], secret=SECRET)
    settings = server_settings(storage, uri).model_copy(update={"jwt_issuers": [issuer]})
    async with running_stack(settings) as stack:
        tenant_id = unique_id()
        await stack.app.administration.create_tenant(tenant_id, "JWT", IsolationLevel.STANDARD)
        yield stack, tenant_id


def _token(tenant_id: str, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "tenant_id": tenant_id, "sub": "idp", "iat": now, "exp": now + 600}
    return jwt.encode({**payload, **claims}, SECRET, algorithm="HS256", headers=headers)


async def _users(stack: Stack, tenant_id: str, token: str) -> Any:
    url = f"{stack.origins['path']}/tenants/{tenant_id}/scim/v2/Users"
    return await stack.http.get(url, headers={"Authorization": f"Bearer {token}"})


async def test_a_signed_token_is_accepted(jwt_stack: tuple[Stack, str]) -> None:
    stack, tenant_id = jwt_stack
    response = await _users(stack, tenant_id, _token(tenant_id))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", 10**400),
        ("exp", float("inf")),
        ("nbf", -(10**400)),
        ("iat", "yesterday"),
        ("max_users", 10**400),
        ("max_users", -1),
        ("max_groups", 1e308),
    ],
    ids=lambda value: repr(value)[:24],
)
async def test_an_absurd_claim_is_refused_with_401(
    jwt_stack: tuple[Stack, str], claim: str, value: Any
) -> None:
    stack, tenant_id = jwt_stack
    token = _token(tenant_id, **{claim: value})
    response = await _users(stack, tenant_id, token)
    assert_scim_error(response, 401)
    assert f"claim '{claim}'" in response.json()["detail"]
    assert token.split(".")[1][:16] not in response.text


async def test_a_long_key_id_is_refused_without_echo(jwt_stack: tuple[Stack, str]) -> None:
    stack, tenant_id = jwt_stack
    kid = "k" * 10_000
    response = await _users(stack, tenant_id, _token(tenant_id, headers={"kid": kid}))
    assert_scim_error(response, 401)
    assert len(response.text) < 500
