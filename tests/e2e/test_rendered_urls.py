"""Where rendered URLs point, through real sockets: a client's Host never makes the service hand
out links elsewhere. Without a public URL, an untrusted Host is refused before anything is
done; with one, every `Location`, `meta.location` and `$ref` starts with it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from e2e.stack import STRATEGIES, ScimClient, Stack, running_stack, server_settings
from e2e.test_bad_input import assert_scim_error
from e2e.test_groups import group_body
from helpers import user_body

from scimtenancy_server.domain.tenant import IsolationLevel

FORGED = {"Host": "evil.example.com"}
PUBLIC_URL = "https://scim.test:8443"  # its host is the stack's base domain (subdomain strategy)
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def assert_not_served(response: httpx.Response) -> None:
    assert_scim_error(response, 400)
    assert response.json()["detail"] == "host 'evil.example.com' is not served here"


@pytest.fixture(scope="module")
async def public_stack() -> AsyncIterator[Stack]:
    async with running_stack(server_settings("memory"), public_url=PUBLIC_URL) as stack:
        yield stack


@pytest.mark.parametrize("strategy", ["path", "header"])
async def test_a_forged_host_is_refused_and_writes_nothing(stack: Stack, strategy: str) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD, strategy)
    kept = (await scim.post("/Users", user_body("kept"))).json()
    bulk = {
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("bulked")}
        ],
    }
    assert_not_served(await scim.post("/Users", user_body("forged"), headers=FORGED))
    assert_not_served(await scim.post("/Bulk", bulk, headers=FORGED))
    assert_not_served(await scim.delete(f"/Users/{kept['id']}", headers=FORGED))
    assert_not_served(await scim.get("/Users", headers=FORGED))
    assert_not_served(await scim.get("/ServiceProviderConfig", headers=FORGED))

    listed = (await scim.get("/Users")).json()
    assert [u["userName"] for u in listed["Resources"]] == ["kept"]
    assert (await scim.get(f"/Users/{kept['id']}")).json() == kept


async def test_probes_and_the_description_answer_any_host(stack: Stack) -> None:
    for strategy in STRATEGIES:
        origin = stack.origins[strategy]
        for probe in ("/healthz", "/readyz"):
            assert (await stack.http.get(origin + probe, headers=FORGED)).status_code == 200
    for strategy in ("path", "header"):
        described = await stack.http.get(f"{stack.origins[strategy]}/openapi.json", headers=FORGED)
        assert described.status_code == 200
        assert "evil" not in described.text
    # The subdomain strategy's servers are absolute: only a trusted Host gives their port.
    forged = await stack.http.get(f"{stack.origins['subdomain']}/openapi.json", headers=FORGED)
    assert_not_served(forged)


def public_base(scim: ScimClient) -> str:
    if scim.strategy == "path":
        return f"{PUBLIC_URL}/tenants/{scim.tenant_id}/scim/v2"
    if scim.strategy == "subdomain":
        return f"https://{scim.tenant_id}.scim.test:8443/scim/v2"
    return f"{PUBLIC_URL}/scim/v2"


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_the_public_url_is_rendered_whatever_the_host(
    public_stack: Stack, strategy: str
) -> None:
    scim = await public_stack.tenant(IsolationLevel.STANDARD, strategy)
    # The subdomain strategy reads the tenant from the Host: that one must be the tenant's.
    headers = {} if strategy == "subdomain" else FORGED
    base = public_base(scim)

    created = await scim.post("/Users", user_body("ada"), headers=headers)
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"] == user["meta"]["location"] == f"{base}/Users/{user['id']}"
    grouped = await scim.post("/Groups", group_body("team", user["id"]), headers=headers)
    group = grouped.json()
    assert grouped.headers["location"] == f"{base}/Groups/{group['id']}"
    assert group["members"][0]["$ref"] == f"{base}/Users/{user['id']}"

    users = (await scim.get("/Users", headers=headers)).json()["Resources"]
    assert [u["meta"]["location"] for u in users] == [f"{base}/Users/{user['id']}"]
    groups = (await scim.get("/Groups", headers=headers)).json()["Resources"]
    assert [g["meta"]["location"] for g in groups] == [f"{base}/Groups/{group['id']}"]
    assert [m["$ref"] for m in groups[0]["members"]] == [f"{base}/Users/{user['id']}"]


async def test_the_description_names_the_public_url(public_stack: Stack) -> None:
    for strategy, url in [
        ("path", f"{PUBLIC_URL}/tenants/{{tenant}}/scim/v2"),
        ("subdomain", "https://{tenant}.scim.test:8443/scim/v2"),
        ("header", f"{PUBLIC_URL}/scim/v2"),
    ]:
        described = await public_stack.http.get(
            f"{public_stack.origins[strategy]}/openapi.json", headers=FORGED
        )
        assert described.json()["servers"][0]["url"] == url


@pytest.mark.parametrize("strategy", ["path", "header"])
async def test_another_tenants_key_is_still_refused_on_a_public_url(
    public_stack: Stack, strategy: str
) -> None:
    owner = await public_stack.tenant(IsolationLevel.STANDARD, strategy)
    intruder = await public_stack.tenant(IsolationLevel.STANDARD, strategy)
    created = (await owner.post("/Users", user_body("private"), headers=FORGED)).json()
    on_owners_url = intruder.as_tenant_in_url(owner.tenant_id)
    for response in (
        await on_owners_url.get(f"/Users/{created['id']}", headers=FORGED),
        await on_owners_url.post("/Users", user_body("planted"), headers=FORGED),
    ):
        assert_scim_error(response, 403)
    listed = (await owner.get("/Users", headers=FORGED)).json()
    assert [u["userName"] for u in listed["Resources"]] == ["private"]


async def test_no_redirect_points_at_the_request_host(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    for url in (f"{stack.origins['path']}/healthz/", f"{scim.base_url}/Users/"):
        response = await stack.http.get(
            url, headers={**FORGED, "Authorization": f"Bearer {scim.api_key}"}
        )
        assert "evil" not in response.headers.get("location", "")
