"""Idempotent retries through the real sockets (draft-ietf-httpapi-idempotency-key-header): a
POST or /Bulk retried with its Idempotency-Key replays the first answer and makes nothing
twice, over HTTP and over gRPC, and no tenant ever sees another's answer."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import orjson
import pytest
from e2e.stack import ScimClient, Stack
from e2e.test_bad_input import assert_scim_error
from e2e.test_bulk import bulk, group, post
from google.rpc import status_pb2
from helpers import unique_id, user_body

from scimtenancy.errors.v1 import errors_pb2
from scimtenancy.resources.v1 import resources_pb2 as pb
from scimtenancy.resources.v1 import resources_pb2_grpc
from scimtenancy_common.wire import STATUS_DETAILS_KEY
from scimtenancy_server.domain.clock import utc_now
from scimtenancy_server.domain.idempotency import IdempotencyRecord, create_scope, key_hash
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": f'"{key}"'}


async def groups_named(scim: ScimClient, name: str) -> int:
    found = await scim.get("/Groups", params={"filter": f'displayName eq "{name}"'})
    assert found.status_code == 200, found.text
    total: int = found.json()["totalResults"]
    return total


def same_answer(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    for header in ("ETag", "Location"):
        assert again.headers.get(header) == first.headers.get(header)


async def test_a_retried_group_create_makes_one_group(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    name, key = unique_id("team"), unique_id("key")
    first = await scim.post("/Groups", group(name), headers=keyed(key))
    again = await scim.post("/Groups", group(name), headers=keyed(key))
    assert first.status_code == 201, first.text
    same_answer(first, again)
    assert first.headers["Location"].endswith(f"/Groups/{first.json()['id']}")
    assert await groups_named(scim, name) == 1
    # Without a key, nothing protects a group from being made twice.
    await scim.post("/Groups", group(name))
    assert await groups_named(scim, name) == 2


async def test_a_retried_user_create_is_its_first_answer_not_a_conflict(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STRICT)
    key = "bare-key-" + unique_id()  # sent bare, as many clients do
    first = await scim.post("/Users", user_body("ann"), headers={"Idempotency-Key": key})
    again = await scim.post("/Users", user_body("ann"), headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    same_answer(first, again)


async def test_the_same_key_for_another_request_is_422(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    name, key = unique_id("team"), unique_id("key")
    assert (await scim.post("/Groups", group(name), headers=keyed(key))).status_code == 201
    other = await scim.post("/Groups", group(name + "-other"), headers=keyed(key))
    assert_scim_error(other, 422, None)
    assert other.json()["detail"] == "this Idempotency-Key was used for a different request"
    elsewhere = await scim.post("/Users", user_body("bob"), headers=keyed(key))
    assert elsewhere.status_code == 201, elsewhere.text  # keys are per operation
    assert await groups_named(scim, name + "-other") == 0


@pytest.mark.parametrize("value", ['"a", "b"', "two words", "k" * 256, '"unterminated'])
async def test_malformed_keys_are_refused_and_create_nothing(stack: Stack, value: str) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    name = unique_id("team")
    refused = await scim.post("/Groups", group(name), headers={"Idempotency-Key": value})
    assert_scim_error(refused, 400, "invalidValue")
    assert "Idempotency-Key" in refused.json()["detail"]
    in_bulk = await scim.post(
        "/Bulk", bulk(post("/Groups", "g", group(name))), headers={"Idempotency-Key": value}
    )
    assert_scim_error(in_bulk, 400, "invalidValue")
    assert await groups_named(scim, name) == 0


async def test_a_retry_while_the_first_runs_is_409(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    repository = stack.app.repository
    insert = repository.insert
    entered, go = asyncio.Event(), asyncio.Event()

    async def paused(tenant: Tenant, resource: StoredResource, rt: ResourceType) -> None:
        if tenant.tenant_id == scim.tenant_id:
            entered.set()
            await go.wait()
        await insert(tenant, resource, rt)

    monkeypatch.setattr(repository, "insert", paused)
    name, key = unique_id("team"), unique_id("key")
    first = asyncio.create_task(scim.post("/Groups", group(name), headers=keyed(key)))
    await entered.wait()
    try:
        second = await scim.post("/Groups", group(name), headers=keyed(key))
    finally:
        go.set()
    assert_scim_error(second, 409, None)
    assert "in progress" in second.json()["detail"]
    created = await first
    assert created.status_code == 201, created.text
    same_answer(created, await scim.post("/Groups", group(name), headers=keyed(key)))
    assert await groups_named(scim, name) == 1


async def test_a_retried_bulk_replays_and_creates_nothing_more(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STRICT)
    name, key = unique_id("team"), unique_id("key")
    request = bulk(
        post("/Users", "ann", user_body("ann")),
        post("/Groups", "team", group(name, "bulkId:ann")),
        post("/Users", "dup", user_body("ann")),  # a refusal is replayed as it was
    )
    first = await scim.post("/Bulk", request, headers=keyed(key))
    again = await scim.post("/Bulk", request, headers=keyed(key))
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["Operations"]] == ["201", "201", "409"]
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await groups_named(scim, name) == 1
    assert (await scim.get("/Users")).json()["totalResults"] == 1
    other = await scim.post("/Bulk", bulk(post("/Groups", "g", group(name))), headers=keyed(key))
    assert_scim_error(other, 422, None)


def scim_status(error: grpc.aio.AioRpcError) -> int:
    trailers = dict(error.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailers[STATUS_DETAILS_KEY])
    detail = errors_pb2.ScimError()
    status.details[0].Unpack(detail)
    return detail.status


async def test_direct_grpc_callers_get_the_same_guarantees(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    metadata = (("authorization", f"Bearer {scim.api_key}"),)
    name, key = unique_id("team"), unique_id("key")
    create = pb.CreateResourceRequest(
        resource_type="Groups", json=orjson.dumps(group(name)), idempotency_key=key
    )
    batch = pb.BulkRequest(
        json=orjson.dumps(bulk(post("/Groups", "g", group(name + "-bulk")))), idempotency_key=key
    )
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = resources_pb2_grpc.ResourceServiceStub(channel)
        first = await stub.CreateResource(create, metadata=metadata)
        again = await stub.CreateResource(create, metadata=metadata)
        assert again == first
        create.json = orjson.dumps(group(name + "-other"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.CreateResource(create, metadata=metadata)
        bulk_first = await stub.Bulk(batch, metadata=metadata)
        assert await stub.Bulk(batch, metadata=metadata) == bulk_first
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert scim_status(raised.value) == 422
    assert await groups_named(scim, name) == 1
    assert await groups_named(scim, name + "-bulk") == 1
    assert await groups_named(scim, name + "-other") == 0


async def test_tenants_never_share_keys(stack: Stack) -> None:
    a, b = await stack.tenant(IsolationLevel.STANDARD), await stack.tenant(IsolationLevel.STRICT)
    name, key = unique_id("team"), unique_id("key")
    of_a = await a.post("/Groups", group(name), headers=keyed(key))
    of_b = await b.post("/Groups", group(name), headers=keyed(key))
    assert of_a.status_code == of_b.status_code == 201
    assert of_a.json()["id"] != of_b.json()["id"]
    assert of_b.json()["meta"]["location"].startswith(b.base_url)
    other_body = await b.post("/Groups", group(name + "-b"), headers=keyed(key + "-2"))
    assert other_body.status_code == 201
    a_second = await a.post("/Groups", group(name + "-a"), headers=keyed(key + "-2"))
    assert a_second.status_code == 201  # not 422: b's use of the key is not a's
    assert await groups_named(a, name) == await groups_named(b, name) == 1
    assert (await b.get(f"/Groups/{of_a.json()['id']}")).status_code == 404


async def test_deleting_a_tenant_forgets_its_keys(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    key = unique_id("key")
    assert (await scim.post("/Groups", group("Team"), headers=keyed(key))).status_code == 201
    now = utc_now()
    probe = IdempotencyRecord(
        scim.tenant_id, create_scope("Group"), key_hash(key), "probe", "probe", now, now
    )
    store = stack.app.idempotency.store
    assert await store.reserve(probe) is not None  # the key is held
    await stack.app.administration.delete_tenant(scim.tenant_id)
    assert await store.reserve(probe) is None  # and now forgotten
    await store.purge(scim.tenant_id)
