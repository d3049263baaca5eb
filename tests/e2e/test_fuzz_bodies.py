"""Property-based fuzzing of whole request bodies through the live service (issue 10):
generated User, Group, PATCH, /Bulk and SearchRequest bodies, valid in shape and hostile in
value (wrong types, out-of-range numbers, deep nesting, lone surrogates as JSON escapes, NULs,
long strings, many values, unknown and URN keys), sent over real sockets.

Every answer is a result or a SCIM error (no 5xx, no traceback, `status` equal to the HTTP
status, a short detail), and anything the service accepted can always be read back: by id, in
the tenant's list and through a filter on its id. Embedded storage only, to stay within the CI
budget; one tenant per test function."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from e2e.fuzz_strategies import (
    FUZZ_SCHEMA,
    INTERNALS,
    LIST_RESPONSE,
    MAX_URL_QUERY,
    NEW_ID,
    PLACEHOLDERS,
    SEARCH_ENDPOINTS,
    SEARCH_REQUEST,
    bulk_bodies,
    content,
    fuzzed,
    group_bodies,
    patch_bodies,
    query_parameters,
    search_bodies,
    user_bodies,
)
from e2e.stack import ScimClient, Stack
from e2e.test_tenant_extensions import register
from helpers import user_body
from hypothesis import assume, event, given
from hypothesis import strategies as st

from scimtenancy_common.wire import ERROR_SCHEMA
from scimtenancy_server.domain.errors import MAX_DETAIL_LENGTH
from scimtenancy_server.domain.schema import (
    GROUP_SCHEMA,
)
from scimtenancy_server.domain.tenant import IsolationLevel


def assert_clean(response: httpx.Response) -> None:
    """A result, or a SCIM error whose `status` is the HTTP status; never a 5xx."""
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return  # a resource echoes what the client sent, which may spell anything
    for internal in INTERNALS:
        assert internal not in response.text, response.text
    assert response.headers["content-type"] == "application/scim+json", response.text
    assert_error_body(response.json(), str(response.status_code))


def assert_error_body(error: dict[str, Any], status: str) -> None:
    """A SCIM Error (RFC 7644 §3.12) of `status` with a short detail."""
    assert error["schemas"] == [ERROR_SCHEMA], error
    assert error["status"] == status, error
    assert error["detail"], error
    assert len(error["detail"]) <= MAX_DETAIL_LENGTH, error


async def assert_readable(
    scim: ScimClient, endpoint: str, resource_id: str, answer: dict[str, Any] | None = None
) -> None:
    """The accepted resource can be read by id, listed and found by a filter on its id."""
    got = await scim.get(f"/{endpoint}/{resource_id}")
    assert got.status_code == 200, got.text
    assert got.json()["id"] == resource_id
    if answer is not None:
        assert answer == got.json()  # what the service answered is what it kept
    listed = await scim.get(f"/{endpoint}", params={"count": 1000})
    assert listed.status_code == 200, listed.text
    assert resource_id in {r["id"] for r in listed.json()["Resources"]}
    found = await scim.get(f"/{endpoint}", params={"filter": f'id eq "{resource_id}"'})
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["Resources"]] == [resource_id]


async def send(scim: ScimClient, method: str, path: str, body: object) -> httpx.Response:
    response = await scim.request(method, path, content=content(body))
    assert_clean(response)
    event(f"{method} {response.status_code}")
    return response


# -- fixtures


@pytest.fixture
async def scim(memory_stack: Stack) -> ScimClient:
    """A fresh tenant with the fuzz extension (numbers, booleans, date-times, secrets)."""
    client = await memory_stack.tenant(IsolationLevel.STANDARD)
    await register(memory_stack, client.tenant_id, FUZZ_SCHEMA)
    return client


async def new_resource(scim: ScimClient, endpoint: str) -> str:
    body = (
        user_body(f"fuzz-{uuid.uuid4().hex}", emails=[{"value": "a@example.com", "type": "work"}])
        if endpoint == "Users"
        else {"schemas": [GROUP_SCHEMA], "displayName": f"fuzz-{uuid.uuid4().hex}"}
    )
    created = await scim.post(f"/{endpoint}", body)
    assert created.status_code == 201, created.text
    resource_id: str = created.json()["id"]
    return resource_id


@pytest.fixture
async def users(scim: ScimClient) -> list[str]:
    """Two Users of the tenant, for bodies that name existing resources."""
    return [await new_resource(scim, "Users") for _ in range(2)]


def bind(value: Any, ids: list[str]) -> Any:
    """Generated bodies with `@0`, `@1` replaced by the ids of existing resources and `@new`
    by a fresh value."""
    if isinstance(value, str):
        for placeholder, resource_id in zip(PLACEHOLDERS, ids, strict=True):
            value = value.replace(placeholder, resource_id)
        return value.replace(NEW_ID, uuid.uuid4().hex[:12])
    if isinstance(value, dict):
        return {k: bind(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [bind(v, ids) for v in value]
    return value


# -- the properties


@fuzzed(80)
@given(body=user_bodies, replacement=user_bodies)
async def test_user_bodies_are_answered_cleanly_and_kept_readable(
    scim: ScimClient, users: list[str], body: dict[str, Any], replacement: dict[str, Any]
) -> None:
    await create_then_replace(scim, "Users", bind(body, users), bind(replacement, users))


async def create_then_replace(
    scim: ScimClient, endpoint: str, body: Any, replacement: Any
) -> tuple[dict[str, Any], ...]:
    """POST, then PUT: each answer clean, and what was accepted read back as answered (a
    refused PUT wrote nothing). Returns the created and the kept resource (none if refused)."""
    created = await send(scim, "POST", f"/{endpoint}", body)
    if created.status_code != 201:
        return ()
    resource: dict[str, Any] = created.json()
    await assert_readable(scim, endpoint, resource["id"], resource)
    replaced = await send(scim, "PUT", f"/{endpoint}/{resource['id']}", replacement)
    kept = replaced.json() if replaced.status_code == 200 else resource
    await assert_readable(scim, endpoint, resource["id"], kept)
    return resource, kept


def assert_members_are_a_set(group: dict[str, Any]) -> None:
    """A group holds a resource once, however often a request names it (as PATCH `add`
    already ensures); otherwise the User's `groups` lists the group once per repetition."""
    values = [m["value"] for m in group.get("members", [])]
    assert len(values) == len(set(values)), values


@fuzzed(60)
@given(body=group_bodies, replacement=group_bodies)
async def test_group_bodies_are_answered_cleanly_and_kept_readable(
    scim: ScimClient, users: list[str], body: dict[str, Any], replacement: dict[str, Any]
) -> None:
    answers = await create_then_replace(scim, "Groups", bind(body, users), bind(replacement, users))
    for group in answers:
        assert_members_are_a_set(group)


@fuzzed(80)
@given(
    target=st.sampled_from(["Users", "Groups"]).flatmap(
        lambda endpoint: st.tuples(st.just(endpoint), patch_bodies(endpoint))
    )
)
async def test_patch_bodies_are_answered_cleanly_and_kept_readable(
    scim: ScimClient, users: list[str], target: tuple[str, dict[str, Any]]
) -> None:
    endpoint, body = target
    resource_id = await new_resource(scim, endpoint)
    before = (await scim.get(f"/{endpoint}/{resource_id}")).json()
    patched = await send(scim, "PATCH", f"/{endpoint}/{resource_id}", bind(body, users))
    kept = patched.json() if patched.status_code == 200 else before  # refused: nothing written
    if patched.status_code == 204:  # a membership PATCH answers without the group
        kept = (await scim.get(f"/{endpoint}/{resource_id}")).json()
        assert patched.headers["etag"] == kept["meta"]["version"]
        assert kept["meta"]["version"] != before["meta"]["version"]
    await assert_readable(scim, endpoint, resource_id, kept)
    assert_members_are_a_set(kept)


def bulk_results(response: httpx.Response) -> list[dict[str, Any]]:
    """The BulkResponse's operations, each a success or a SCIM error of the same status."""
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], body
    results: list[dict[str, Any]] = body["Operations"]
    for result in results:
        assert int(result["status"]) < 500, result
        if int(result["status"]) >= 400:
            assert_error_body(result["response"], result["status"])
        event(f"Bulk {result['method']} {result['status']}")
    return results


@fuzzed(60)
@given(body=bulk_bodies)
async def test_bulk_bodies_are_answered_cleanly_and_kept_readable(
    scim: ScimClient, users: list[str], body: dict[str, Any]
) -> None:
    response = await send(scim, "POST", "/Bulk", bind(body, users))
    if response.status_code != 200:
        return
    results = bulk_results(response)
    if any(r["method"] == "DELETE" and r["status"] == "204" for r in results):
        return  # what the request wrote it may have deleted again
    for result in results:
        if result["status"] in ("200", "201"):
            endpoint, resource_id = result["location"].split("/")[-2:]
            await assert_readable(scim, endpoint, resource_id)


def assert_list_response(response: httpx.Response) -> None:
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE], body
    assert isinstance(body["totalResults"], int), body
    assert body["totalResults"] >= 0, body
    assert all(isinstance(r["id"], str) for r in body["Resources"]), body


@fuzzed(80)
@given(
    endpoint=st.sampled_from(SEARCH_ENDPOINTS),
    body=search_bodies,
)
async def test_search_bodies_are_answered_cleanly(
    scim: ScimClient, users: list[str], endpoint: str, body: dict[str, Any]
) -> None:
    response = await send(scim, "POST", endpoint, body)
    if response.status_code == 200:
        assert_list_response(response)


@fuzzed(20)
@given(endpoint=st.sampled_from(SEARCH_ENDPOINTS), cursor=st.text(min_size=1, max_size=40))
async def test_forged_cursors_are_refused_by_every_search(
    scim: ScimClient, endpoint: str, cursor: str
) -> None:
    """README: a forged cursor is 400 `invalidCursor` (RFC 9865 §2.3), the root search's too."""
    response = await send(scim, "POST", endpoint, {"schemas": [SEARCH_REQUEST], "cursor": cursor})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidCursor", response.text


@fuzzed(80)
@given(endpoint=st.sampled_from(["/Users", "/Groups"]), params=query_parameters)
async def test_list_parameters_are_answered_cleanly(
    scim: ScimClient, users: list[str], endpoint: str, params: dict[str, str]
) -> None:
    # Lone surrogates go as the bytes UTF-8 would give them, which are not UTF-8.
    query = urlencode(params, encoding="utf-8", errors="surrogatepass")
    assume(len(query) < MAX_URL_QUERY)
    response = await scim.get(f"{endpoint}?{query}")
    assert_clean(response)
    event(f"GET {response.status_code}")
    if response.status_code == 200:
        assert_list_response(response)
