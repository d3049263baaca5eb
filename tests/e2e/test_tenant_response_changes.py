"""Per-tenant versions and rate limits through real sockets, and changes of a tenant's options:
they apply from the next request on the server that made them, and elsewhere once the tenant
cache expires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import grpc
import pytest
from e2e.stack import Stack, running_stack, server_settings
from e2e.test_bad_input import assert_scim_error
from e2e.test_bulk import PATCH_OP, bulk, post
from e2e.test_tenant_responses import bearer, channel, spc, tenant_with, update, users
from helpers import unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2 as admin
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_server.domain.tenant import ResponseOptions

__all__ = ["channel"]  # the fixture, shared
NO_ETAG = admin.ResponseOptions(etag=False)
TITLE = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}


def unversioned(body: dict[str, Any]) -> bool:
    return "version" not in body["meta"]


async def test_etag_off_shows_no_versions_and_ignores_preconditions(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    scim = await tenant_with(stack, channel, response_options=NO_ETAG)
    created = await scim.post("/Users", user_body("ann"))
    assert created.status_code == 201
    assert "etag" not in created.headers
    assert created.headers["location"].endswith(created.json()["id"])
    assert unversioned(created.json())
    path = f"/Users/{created.json()['id']}"
    read = await scim.get(path, headers={"If-None-Match": "*"})
    assert read.status_code == 200  # never 304: there is no version to match
    assert "etag" not in read.headers
    assert unversioned(read.json())
    stale = {"If-Match": '"999"'}
    replaced = await scim.put(path, user_body("ann", title="a"), headers=stale)
    assert replaced.status_code == 200, replaced.text
    assert unversioned(replaced.json())
    patched = await scim.patch(path, TITLE, headers=stale)
    assert patched.status_code == 200, patched.text
    assert unversioned(patched.json())
    listed = (await scim.get("/Users")).json()["Resources"]
    assert all(unversioned(r) for r in listed)
    stub = resources_pb2_grpc.ResourceServiceStub(channel)
    reply = await stub.GetResource(
        resources_pb2.GetResourceRequest(resource_type="Users", id=created.json()["id"]),
        metadata=bearer(scim),
    )
    assert reply.resource.version == ""
    ran = await scim.post(
        "/Bulk",
        bulk(
            {"method": "PATCH", "path": path, "version": '"999"', "data": TITLE},
            post("/Users", "bob", user_body("bob")),
        ),
    )
    results = ran.json()["Operations"]
    assert [r["status"] for r in results] == ["200", "201"]
    assert not any("version" in r for r in results)
    assert (await scim.delete(path, headers=stale)).status_code == 204


async def test_replays_from_before_versions_went_show_none(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    scim = await tenant_with(stack, channel)
    create_key, bulk_key = ({"Idempotency-Key": f'"{unique_id()}"'} for _ in range(2))
    created = await scim.post("/Users", user_body("ann"), headers=create_key)
    request = bulk(post("/Users", "bob", user_body("bob")))
    ran = await scim.post("/Bulk", request, headers=bulk_key)
    assert "version" in created.json()["meta"]
    assert "version" in ran.json()["Operations"][0]
    await update(channel, scim, response_options=NO_ETAG)
    replayed = await scim.post("/Users", user_body("ann"), headers=create_key)
    assert replayed.status_code == 201
    assert replayed.json()["id"] == created.json()["id"]
    assert "etag" not in replayed.headers
    assert unversioned(replayed.json())
    bulk_replay = (await scim.post("/Bulk", request, headers=bulk_key)).json()
    assert bulk_replay["Operations"][0]["location"] == ran.json()["Operations"][0]["location"]
    assert "version" not in bulk_replay["Operations"][0]


async def test_a_tenant_rate_limit_applies_and_can_be_taken_back(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    slow = admin.RateLimit(requests_per_second=0.01, burst=2)
    scim = await tenant_with(stack, channel, rate_limit=slow)
    other = await tenant_with(stack, channel)
    assert [(await scim.get("/Users")).status_code for _ in range(2)] == [200, 200]
    refused = await scim.get("/Users")
    assert_scim_error(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert [(await other.get("/Users")).status_code for _ in range(5)] == [200] * 5
    tenant = await update(channel, scim, rate_limit=admin.RateLimit(requests_per_second=0))
    assert not tenant.HasField("rate_limit")
    assert [(await scim.get("/Users")).status_code for _ in range(5)] == [200] * 5
    await update(channel, scim, rate_limit=admin.RateLimit(requests_per_second=0.01, burst=1))
    assert (await scim.get("/Users")).status_code == 200
    assert_scim_error(await scim.get("/Users"), 429)


async def test_an_update_applies_from_the_next_request(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    scim = await tenant_with(stack, channel, "Before")
    request = bulk(post("/Users", "ann", user_body("ann")))
    assert (await scim.post("/Bulk", request)).status_code == 200
    changed = await update(channel, scim, response_options=admin.ResponseOptions(bulk=False))
    assert changed.response_options.bulk is False
    assert (await spc(scim))["bulk"]["supported"] is False
    assert_scim_error(await scim.post("/Bulk", request), 501)
    await update(channel, scim, display_name="After")  # other changes keep the options
    assert (await spc(scim))["bulk"]["supported"] is False
    user_type = (await scim.get("/ResourceTypes/User")).json()
    assert user_type["description"] == "User Account of After"
    reset = await update(channel, scim, response_options=admin.ResponseOptions())
    assert reset.response_options.bulk is True
    assert (await spc(scim))["bulk"]["supported"] is True
    assert (
        await scim.post("/Bulk", bulk(post("/Users", "bo", user_body("bo"))))
    ).status_code == 200


@pytest.fixture
async def short_cache_stack() -> AsyncIterator[Stack]:
    settings = server_settings("memory")
    settings.tenant_cache_ttl = 0.2
    async with running_stack(settings) as stack:
        yield stack


async def test_a_change_made_elsewhere_applies_once_the_cache_expires(
    short_cache_stack: Stack,
) -> None:
    """As on a replica that did not make the change: the record changes under the cache."""
    async with grpc.aio.insecure_channel(short_cache_stack.grpc_target) as opened:
        scim = await tenant_with(short_cache_stack, opened)
    await users(scim, "ann")  # the tenant is in the cache
    store = short_cache_stack.app.tenant_store
    tenant = await store.get(scim.tenant_id)
    assert tenant is not None
    await store.save(replace(tenant, responses=ResponseOptions(bulk=False, etag=False)))
    async with asyncio.timeout(10):  # the cache lives 0.2 s
        while True:
            config = await spc(scim)
            if not config["bulk"]["supported"]:
                break
            await asyncio.sleep(0.05)
    assert (config["bulk"]["supported"], config["etag"]["supported"]) == (False, False)
    assert_scim_error(await scim.post("/Bulk", bulk(post("/Users", "b", user_body("b")))), 501)
    assert unversioned((await scim.get("/Users")).json()["Resources"][0])
