"""Per-tenant response options through the HTTP transcoder on real sockets: each option changes
the tenant's ServiceProviderConfig and what it is served, alike; another tenant sees neither."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
import pytest
from compliance.test_checkers import assert_only_known_deviations, run_checker
from e2e.stack import ADMIN_TOKEN, ScimClient, Stack
from e2e.test_bad_input import assert_scim_error
from e2e.test_bulk import PATCH_OP, bulk, post
from helpers import unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2 as admin
from scimtenancy.admin.v1 import admin_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_server.domain.schema import GROUP_SCHEMA

ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
DOCS = "https://docs.example.com/acme/scim"
SCHEME = admin.AuthenticationScheme(
    type="oauth2",
    name="Acme SSO",
    description="An access token from Acme's OAuth 2.0 issuer",
    spec_uri="https://www.rfc-editor.org/rfc/rfc6749",
    documentation_uri="https://docs.example.com/acme/tokens",
    primary=True,
)


@pytest.fixture
async def channel(stack: Stack) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(stack.grpc_target) as opened:
        yield opened


def admin_stub(channel: grpc.aio.Channel) -> admin_pb2_grpc.TenantAdminServiceStub:
    return admin_pb2_grpc.TenantAdminServiceStub(channel)


async def tenant_with(
    stack: Stack,
    channel: grpc.aio.Channel,
    display_name: str = "Plain Tenant",
    **request: Any,
) -> ScimClient:
    """A tenant made through the admin API, as an operator would, and a client of it."""
    tenant_id = unique_id()
    stub = admin_stub(channel)
    await stub.CreateTenant(
        admin.CreateTenantRequest(tenant_id=tenant_id, display_name=display_name, **request),
        metadata=ADMIN,
    )
    issued = await stub.IssueApiKey(admin.IssueApiKeyRequest(tenant_id=tenant_id), metadata=ADMIN)
    return ScimClient(stack, "path", tenant_id, issued.api_key)


async def update(channel: grpc.aio.Channel, scim: ScimClient, **request: Any) -> admin.Tenant:
    reply = await admin_stub(channel).UpdateTenant(
        admin.UpdateTenantRequest(tenant_id=scim.tenant_id, **request), metadata=ADMIN
    )
    tenant: admin.Tenant = reply.tenant
    return tenant


async def spc(scim: ScimClient) -> dict[str, Any]:
    response = await scim.get("/ServiceProviderConfig")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def users(scim: ScimClient, *names: str) -> list[dict[str, Any]]:
    made = []
    for name in names:
        response = await scim.post("/Users", user_body(name))
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["userName"] for r in response.json()["Resources"]]


def bearer(scim: ScimClient) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {scim.api_key}"),)


async def test_discovery_says_what_the_tenant_is_offered(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    options = admin.ResponseOptions(
        documentation_uri=DOCS,
        authentication_schemes=[SCHEME],
        bulk=False,
        sort=False,
        etag=False,
        filter_max_results=5,
    )
    acme = await tenant_with(stack, channel, "Acme Corp", response_options=options)
    config = await spc(acme)
    assert config["documentationUri"] == DOCS
    assert config["authenticationSchemes"] == [
        {
            "type": "oauth2",
            "name": "Acme SSO",
            "description": "An access token from Acme's OAuth 2.0 issuer",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6749",
            "documentationUri": "https://docs.example.com/acme/tokens",
            "primary": True,
        }
    ]
    assert config["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    assert config["sort"] == {"supported": False}
    assert config["etag"] == {"supported": False}
    assert config["filter"] == {"supported": True, "maxResults": 5}
    assert config["pagination"]["maxPageSize"] == 5
    assert config["pagination"]["defaultPageSize"] == 5
    types = (await acme.get("/ResourceTypes")).json()["Resources"]
    assert {t["id"]: t["description"] for t in types} == {
        "User": "User Account of Acme Corp",
        "Group": "Group of Acme Corp",
    }
    one = (await acme.get("/ResourceTypes/User")).json()
    assert (one["name"], one["description"]) == ("User", "User Account of Acme Corp")


async def test_another_tenant_sees_and_gets_none_of_it(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    everything_off = admin.ResponseOptions(
        documentation_uri=DOCS,
        authentication_schemes=[SCHEME],
        bulk=False,
        sort=False,
        etag=False,
        filter_max_results=1,
        patch_answer=admin.PATCH_ANSWER_NO_CONTENT,
    )
    slow = admin.RateLimit(requests_per_second=0.01, burst=1)
    await tenant_with(stack, channel, "Acme", response_options=everything_off, rate_limit=slow)
    plain = await tenant_with(stack, channel, "Plain")
    config = await spc(plain)
    assert "documentationUri" not in config
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]
    assert config["bulk"]["supported"] is True
    assert config["bulk"]["maxOperations"] > 0
    assert (config["sort"], config["etag"]) == ({"supported": True}, {"supported": True})
    assert config["filter"]["maxResults"] == config["pagination"]["maxPageSize"] == 1000
    types = (await plain.get("/ResourceTypes")).json()["Resources"]
    assert {t["description"] for t in types} == {"User Account of Plain", "Group of Plain"}

    made = await users(plain, "bo", "al")  # the rate limit would refuse the second request
    assert (await plain.get("/Users", params={"count": 5})).json()["itemsPerPage"] == 2
    ordered = await plain.get("/Users", params={"sortBy": "userName"})
    assert names(ordered) == ["al", "bo"]
    read = await plain.get(f"/Users/{made[0]['id']}")
    assert read.headers["etag"] == read.json()["meta"]["version"]
    stale = await plain.put(
        f"/Users/{made[0]['id']}", user_body("bo"), headers={"If-Match": 'W/"999"'}
    )
    assert_scim_error(stale, 412)
    patched = await plain.patch(
        f"/Users/{made[0]['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
    )
    assert patched.status_code == 200
    assert patched.json()["title"] == "x"
    ran = await plain.post("/Bulk", bulk(post("/Users", "cy", user_body("cy"))))
    assert ran.status_code == 200, ran.text
    assert ran.json()["Operations"][0]["status"] == "201"


async def test_bulk_off_answers_501_and_does_nothing(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    scim = await tenant_with(stack, channel, response_options=admin.ResponseOptions(bulk=False))
    request = bulk(post("/Users", "ann", user_body("ann")))
    refused = await scim.post("/Bulk", request)
    assert_scim_error(refused, 501)
    assert "/Bulk" in refused.json()["detail"]
    keyed = {"Idempotency-Key": f'"{unique_id()}"'}
    for _ in range(2):  # a key changes nothing: no answer was kept for it
        assert_scim_error(await scim.post("/Bulk", request, headers=keyed), 501)
    stub = resources_pb2_grpc.ResourceServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as over_grpc:
        await stub.Bulk(
            resources_pb2.BulkRequest(json=orjson.dumps(request)), metadata=bearer(scim)
        )
    assert over_grpc.value.code() == grpc.StatusCode.UNIMPLEMENTED
    listed = await scim.get("/Users")
    assert listed.json()["totalResults"] == 0


async def test_sort_off_ignores_sort_by(stack: Stack, channel: grpc.aio.Channel) -> None:
    scim = await tenant_with(stack, channel, response_options=admin.ResponseOptions(sort=False))
    await users(scim, "bo", "cy", "al")
    default = names(await scim.get("/Users"))
    asked = {"sortBy": "userName", "sortOrder": "descending"}
    ascending = {"sortBy": "userName", "sortOrder": "ascending"}
    # Sorted, these two would differ whatever the default order.
    assert names(await scim.get("/Users", params=asked)) == default
    assert names(await scim.get("/Users", params=ascending)) == default
    # Not refused either: an unsupported parameter is ignored (RFC 7644 §3.4.2).
    assert names(await scim.get("/Users", params={"sortBy": "noSuchAttribute"})) == default
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], **asked}
    assert names(await scim.post("/Users/.search", search)) == default
    cursor = await scim.get("/Users", params={**asked, "cursor": "", "count": 2})
    following = await scim.get(
        "/Users", params={**asked, "cursor": cursor.json()["nextCursor"], "count": 2}
    )
    assert names(cursor) + names(following) == default


async def test_filter_max_results_caps_every_page(stack: Stack, channel: grpc.aio.Channel) -> None:
    capped = admin.ResponseOptions(filter_max_results=2)
    scim = await tenant_with(stack, channel, response_options=capped)
    await users(scim, "al", "bo", "cy")
    for params in ({}, {"count": 3}, {"count": 1000}, {"count": 10**9}):
        page = (await scim.get("/Users", params=params)).json()
        assert (page["totalResults"], page["itemsPerPage"]) == (3, 2), params
    assert (await scim.get("/Users", params={"count": 1})).json()["itemsPerPage"] == 1
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 50}
    assert len((await scim.post("/.search", search)).json()["Resources"]) == 2
    first = (await scim.get("/Users", params={"cursor": "", "count": 50})).json()
    assert first["itemsPerPage"] == 2
    rest = await scim.get("/Users", params={"cursor": first["nextCursor"], "count": 50})
    assert rest.json()["itemsPerPage"] == 1


async def test_patch_no_content_answers_204_everywhere(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    options = admin.ResponseOptions(patch_answer=admin.PATCH_ANSWER_NO_CONTENT)
    scim = await tenant_with(stack, channel, response_options=options)
    (ann,) = await users(scim, "ann")
    change = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "title", "value": "Boss"}],
    }
    answered = await scim.patch(f"/Users/{ann['id']}", change)
    assert answered.status_code == 204
    assert answered.content == b""
    assert answered.headers["etag"] == '"2"'
    assert (await scim.get(f"/Users/{ann['id']}")).json()["title"] == "Boss"
    # The client's own preference still decides for its request (RFC 7240).
    asked = await scim.patch(
        f"/Users/{ann['id']}", change, headers={"Prefer": "return=representation"}
    )
    assert asked.status_code == 200
    assert asked.json()["title"] == "Boss"
    stub = resources_pb2_grpc.ResourceServiceStub(channel)
    reply = await stub.PatchResource(
        resources_pb2.PatchResourceRequest(
            resource_type="Users", id=ann["id"], json=orjson.dumps(change)
        ),
        metadata=bearer(scim),
    )
    assert reply.minimal
    assert reply.resource.json == b""
    ran = await scim.post(
        "/Bulk", bulk({"method": "PATCH", "path": f"/Users/{ann['id']}", "data": change})
    )
    (result,) = ran.json()["Operations"]
    assert result["status"] == "204"
    assert "response" not in result


async def test_patch_representation_answers_group_member_changes_with_the_group(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    options = admin.ResponseOptions(patch_answer=admin.PATCH_ANSWER_REPRESENTATION)
    scim = await tenant_with(stack, channel, response_options=options)
    (ann,) = await users(scim, "ann")
    team = await scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Team"})
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": ann["id"]}]}],
    }
    answered = await scim.patch(f"/Groups/{team.json()['id']}", add)
    assert answered.status_code == 200  # the server's own default answers 204 here
    assert [m["value"] for m in answered.json()["members"]] == [ann["id"]]


@pytest.mark.parametrize("tool", ["scim2-tester", "scim-sanity"])
async def test_the_checkers_pass_a_tenant_offered_less(
    stack: Stack, channel: grpc.aio.Channel, tool: str
) -> None:
    """The public checkers read the ServiceProviderConfig and test what it offers: a tenant
    without /Bulk, sorting and versions, with small pages, still meets them (with the service's
    known deviations only)."""
    options = admin.ResponseOptions(bulk=False, sort=False, etag=False, filter_max_results=3)
    scim = await tenant_with(stack, channel, "Checked", response_options=options)
    assert_only_known_deviations(await run_checker(tool, scim.base_url, scim.api_key), tool)
