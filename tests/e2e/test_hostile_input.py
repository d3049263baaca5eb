"""Hostile, oversized and malformed input over real sockets, one test per class of the promise
in the README ("Bounded work per request"): a SCIM error with the right status and `scimType`,
a short detail, and nothing written (every test reads back what it tried to change).

The stack runs with small limits, so that each worst case is cheap to send, and so that the
limits are shown to come from the settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import orjson
import pytest
from e2e.stack import ScimClient, Stack, running_stack, server_settings
from e2e.test_audit import admin_service, audit_events
from e2e.test_bad_input import assert_scim_error
from e2e.test_tenant_extensions import register
from helpers import require_mongodb, user_body

from scimtenancy.resources.v1 import resources_pb2 as pb
from scimtenancy.resources.v1 import resources_pb2_grpc
from scimtenancy_server.domain.errors import MAX_DETAIL_LENGTH
from scimtenancy_server.domain.schema import USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

LIMITS = {
    "max_string_length": 64,
    "max_values": 4,
    "max_resource_bytes": 2048,
    "max_json_depth": 8,
    "max_filter_terms": 5,
    "max_filter_depth": 3,
    "max_path_length": 64,
    "max_filter_scan": 5,
    "tenant_concurrency": 1,
}
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
COUNTS = "urn:example:params:scim:schemas:extension:counts:1.0:User"
ATTRIBUTE = {
    "type": "string",
    "multiValued": False,
    "required": False,
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}
COUNTS_SCHEMA = {
    "id": COUNTS,
    "name": "Counts",
    "description": "numbers and secrets",
    "attributes": [
        {**ATTRIBUTE, "name": "logins", "type": "integer"},
        {**ATTRIBUTE, "name": "score", "type": "decimal"},
        {**ATTRIBUTE, "name": "pin", "returned": "never", "mutability": "writeOnly"},
        {**ATTRIBUTE, "name": "hint", "returned": "never"},
        {**ATTRIBUTE, "name": "code", "mutability": "writeOnly"},
    ],
}


@pytest.fixture(scope="module", params=["memory", "mongodb"])
async def tight(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    uri = require_mongodb() if request.param == "mongodb" else ""
    settings = server_settings(request.param, uri).model_copy(update=LIMITS)
    async with running_stack(settings) as stack:
        yield stack


async def tenant(stack: Stack) -> ScimClient:
    return await stack.tenant(IsolationLevel.STANDARD)


def assert_refused(
    response: httpx.Response, status: int, scim_type: str | None, *words: str
) -> None:
    assert_scim_error(response, status, scim_type)
    detail = response.json()["detail"]
    assert len(detail) <= MAX_DETAIL_LENGTH, detail
    for word in words:
        assert word in detail, detail
    for internal in ("Stream removed", "metadata", "grpc", "Traceback"):
        assert internal not in detail


async def total(scim: ScimClient, endpoint: str = "/Users") -> int:
    response = await scim.get(endpoint)
    assert response.status_code == 200, response.text
    count: int = response.json()["totalResults"]
    return count


# -- class 2: size bounds, enforced by the server


@pytest.mark.parametrize(
    ("body", "status", "scim_type", "words"),
    [
        (user_body("x" * 65), 400, "invalidValue", ("userName", "64")),
        (
            user_body("e", emails=[{"value": f"{i}@x.example"} for i in range(5)]),
            400,
            "invalidValue",
            ("emails", "4"),
        ),
        (
            user_body(
                "big",
                title="t" * 60,
                nickName="n" * 60,
                **{
                    "name": {k: "v" * 60 for k in ("givenName", "familyName", "middleName")},
                    "addresses": [{k: "a" * 60 for k in ("streetAddress", "locality", "region")}]
                    * 4,
                    "phoneNumbers": [{"value": "1" * 60, "type": "work"}] * 4,
                    "ims": [{"value": "i" * 60, "type": "xmpp"}] * 4,
                    "emails": [{"value": "e" * 60, "type": "work"}] * 4,
                },
            ),
            413,
            "tooLarge",
            ("2048",),
        ),
    ],
    ids=["string-length", "value-count", "resource-size"],
)
async def test_size_bounds_refuse_and_write_nothing(
    tight: Stack, body: dict[str, Any], status: int, scim_type: str, words: tuple[str, ...]
) -> None:
    scim = await tenant(tight)
    assert_refused(await scim.post("/Users", body), status, scim_type, *words)
    kept = (await scim.post("/Users", user_body("kept"))).json()
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "value": {k: v for k, v in body.items() if k != "schemas"}}
        ],
    }
    assert_refused(await scim.patch(f"/Users/{kept['id']}", patch), status, scim_type)
    replace = await scim.put(f"/Users/{kept['id']}", body)
    assert_refused(replace, status, scim_type)
    assert (await scim.get(f"/Users/{kept['id']}")).json() == kept
    assert await total(scim) == 1


async def test_size_bounds_hold_for_direct_grpc_callers(tight: Stack) -> None:
    scim = await tenant(tight)
    huge = orjson.dumps(user_body("grpc", title="x" * 3_900_000))
    async with grpc.aio.insecure_channel(tight.grpc_target) as channel:
        stub = resources_pb2_grpc.ResourceServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateResource(
                pb.CreateResourceRequest(resource_type="Users", json=huge),
                metadata=(("authorization", f"Bearer {scim.api_key}"),),
            )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "max_string_length" in (refused.value.details() or "")
    assert await total(scim) == 0


async def test_group_members_are_not_counted_as_values(tight: Stack) -> None:
    scim = await tenant(tight)
    ids = [(await scim.post("/Users", user_body(f"m{i}"))).json()["id"] for i in range(6)]
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "everyone",
        "members": [{"value": i} for i in ids],
    }
    created = await scim.post("/Groups", group)
    assert created.status_code == 201, created.text
    assert len(created.json()["members"]) == 6


# -- class 3: numbers


@pytest.mark.parametrize(
    ("attribute", "raw"),
    [
        ("logins", b"1e308"),
        ("logins", b"18446744073709551615"),
        ("logins", b"-9223372036854775809"),
        ("logins", b"123456789012345678901234567890"),
        ("score", b"1e400"),
        ("logins", b"1e400"),
    ],
)
async def test_numbers_out_of_range_are_refused_everywhere(
    tight: Stack, attribute: str, raw: bytes
) -> None:
    scim = await tenant(tight)
    await register(tight, scim.tenant_id, COUNTS_SCHEMA)
    head = b'{"schemas":["%s","%s"],"userName":"n","%s":{"%s":' % (
        USER_SCHEMA.encode(),
        COUNTS.encode(),
        COUNTS.encode(),
        attribute.encode(),
    )
    response = await scim.request("POST", "/Users", content=head + raw + b"}}")
    scim_type = "invalidSyntax" if raw == b"1e400" else "invalidValue"
    assert_refused(response, 400, scim_type)
    kept = (await scim.post("/Users", user_body("kept"))).json()
    operation = b'{"op":"add","path":"%s:%s","value":%s}' % (
        COUNTS.encode(),
        attribute.encode(),
        raw,
    )
    patch = b'{"schemas":["%s"],"Operations":[%s]}' % (PATCH_OP.encode(), operation)
    response = await scim.request("PATCH", f"/Users/{kept['id']}", content=patch)
    assert_refused(response, 400, scim_type)
    filtered = await scim.get("/Users", params={"filter": f"userName eq {raw.decode()}"})
    if raw not in (b"1e308", b"123456789012345678901234567890"):  # finite doubles are fine
        assert_refused(filtered, 400, "invalidFilter")
    # The tenant's reads still work: nothing unreadable was stored.
    assert await total(scim) == 1
    assert (await scim.get(f"/Users/{kept['id']}")).json() == kept


async def test_big_finite_decimals_are_kept_and_read_back(tight: Stack) -> None:
    scim = await tenant(tight)
    await register(tight, scim.tenant_id, COUNTS_SCHEMA)
    body = (
        b'{"schemas":["%s","%s"],"userName":"d","%s":{"score":1e308,"logins":9223372036854775807}}'
        % (
            USER_SCHEMA.encode(),
            COUNTS.encode(),
            COUNTS.encode(),
        )
    )
    created = await scim.request("POST", "/Users", content=body)
    assert created.status_code == 201, created.text
    read = (await scim.get(f"/Users/{created.json()['id']}")).json()
    assert read[COUNTS] == {"score": 1e308, "logins": 2**63 - 1}


# -- class 4: nesting and complexity


async def test_deep_json_is_refused(tight: Stack) -> None:
    scim = await tenant(tight)
    deep: Any = "x"
    for _ in range(9):
        deep = [deep]
    assert_refused(
        await scim.post("/Users", user_body("deep", title=deep)), 400, "invalidSyntax", "8"
    )
    very_deep = b'{"schemas":[' + b"[" * 5000 + b"]" * 5000 + b"]}"
    response = await scim.request("POST", "/Users", content=very_deep)
    assert_refused(response, 400, "invalidSyntax")
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("b", title=deep)}
        ],
    }
    assert_refused(await scim.post("/Bulk", bulk), 400, "invalidSyntax")
    assert await total(scim) == 0


@pytest.mark.parametrize(
    ("filter_text", "words"),
    [
        (" or ".join(f'userName eq "u{i}"' for i in range(6)), ("5",)),
        ("(" * 4 + 'userName eq "a"' + ")" * 4, ("3",)),
        ("not (" * 4 + 'userName eq "a"' + ")" * 4, ("3",)),
        ("(" * 3000 + 'userName eq "a"' + ")" * 3000, ()),
        ("a" * 65 + ' eq "x"', ("64",)),
        ('userName eq "' + "x" * 5000 + '"', ("4096",)),
    ],
    ids=["terms", "parentheses", "not", "very-deep", "path-length", "filter-length"],
)
async def test_filter_complexity_is_bounded(
    tight: Stack, filter_text: str, words: tuple[str, ...]
) -> None:
    scim = await tenant(tight)
    response = await scim.get("/Users", params={"filter": filter_text})
    assert_refused(response, 400, "invalidFilter", *words)
    search = {"schemas": [SEARCH], "filter": filter_text}
    assert_refused(await scim.post("/.search", search), 400, "invalidFilter")


async def test_attribute_paths_are_bounded(tight: Stack) -> None:
    scim = await tenant(tight)
    kept = (await scim.post("/Users", user_body("paths", title="Keep"))).json()
    long_path = "name." + "x" * 80
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": long_path, "value": "v"}],
    }
    assert_refused(await scim.patch(f"/Users/{kept['id']}", patch), 400, "invalidPath", "64")
    sort = await scim.get("/Users", params={"sortBy": "s" * 80})
    assert_refused(sort, 400, "invalidValue")
    many = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "title"}] * 1001}
    assert_refused(await scim.patch(f"/Users/{kept['id']}", many), 400, "invalidValue", "1000")
    names = ",".join(f"a{i}" for i in range(101))
    assert_refused(
        await scim.get("/Users", params={"attributes": names}), 400, "invalidValue", "100"
    )
    assert (await scim.get(f"/Users/{kept['id']}")).json() == kept


# -- class 5: what errors echo


async def test_errors_echo_little_and_no_grpc_internals(tight: Stack) -> None:
    scim = await tenant(tight)
    unknown = user_body("echo", **{"z" * 3000: 1})
    assert_refused(await scim.post("/Users", unknown), 400, "invalidValue")
    assert_refused(await scim.get("/Users/" + "i" * 5000), 404, None)
    assert_refused(await scim.delete("/Users/" + "i" * 5000), 404, None)
    oversized_key = await scim.get("/Users", headers={"Authorization": "Bearer " + "k" * 20_000})
    assert_refused(oversized_key, 431, None)
    long_tenant = scim.as_tenant_in_url("t" * 3000)
    assert_refused(await long_tenant.get("/Users"), 403, None)
    assert await total(scim) == 0
    async with admin_service(tight) as admin:
        events = await audit_events(admin, scim.tenant_id)
    refused_delete = [e for e in events if e.operation == "delete"]
    assert len(refused_delete) == 1
    assert len(refused_delete[0].resource_id) <= 256  # a megabyte of path is not stored
    assert refused_delete[0].resource_id.startswith("iii")


# -- class 6: schema rules of tenant extensions


async def test_never_returned_extension_attributes_are_never_returned(tight: Stack) -> None:
    scim = await tenant(tight)
    await register(tight, scim.tenant_id, COUNTS_SCHEMA)
    body = user_body(
        "secretive",
        schemas=[USER_SCHEMA, COUNTS],
        **{COUNTS: {"pin": "1234", "hint": "h", "logins": 3}},
    )
    created = await scim.post("/Users", body)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    responses = [
        created.json(),
        (await scim.get(f"/Users/{user_id}")).json(),
        (await scim.get(f"/Users/{user_id}", params={"attributes": f"{COUNTS}:pin"})).json(),
        (await scim.get("/Users")).json()["Resources"][0],
    ]
    for rendered in responses:
        assert "1234" not in orjson.dumps(rendered).decode()
        assert "pin" not in rendered.get(COUNTS, {})
        assert "hint" not in rendered.get(COUNTS, {})
    assert responses[1][COUNTS] == {"logins": 3}


# -- class 8: cursors and the root search


async def test_tampered_and_foreign_cursors_are_invalid(tight: Stack) -> None:
    scim = await tenant(tight)
    other = await tenant(tight)
    for i in range(3):
        await scim.post("/Users", user_body(f"c{i}"))
        await other.post("/Users", user_body(f"c{i}"))
    first = (await scim.get("/Users", params={"cursor": "", "count": 1})).json()
    cursor = first["nextCursor"]
    foreign = await other.get("/Users", params={"cursor": cursor, "count": 1})
    assert_refused(foreign, 400, "invalidCursor")
    for forged in (
        "!!!",
        "Yzo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk6eA",
        cursor[:-2],
        "é" * 10,
        "A" * 5000,
    ):
        response = await scim.get("/Users", params={"cursor": forged, "count": 1})
        assert_refused(response, 400, "invalidCursor")
    assert (await scim.get("/Users", params={"cursor": cursor, "count": 1})).status_code == 200


async def test_root_search_honours_the_scan_limit(tight: Stack) -> None:
    scim = await tenant(tight)
    for i in range(6):
        await scim.post(
            "/Users", user_body(f"s{i}", emails=[{"value": f"s{i}@x.example", "type": "work"}])
        )
    search = {"schemas": [SEARCH], "filter": 'emails[type eq "work"]'}
    assert_refused(await scim.post("/Users/.search", search), 400, "tooMany")
    assert_refused(await scim.post("/.search", search), 400, "tooMany")


async def test_huge_start_index_is_an_empty_page(tight: Stack) -> None:
    scim = await tenant(tight)
    await scim.post("/Users", user_body("one"))
    search = {"schemas": [SEARCH], "startIndex": 2**64 - 1, "count": 2**64 - 1}
    response = await scim.post("/.search", search)
    assert response.status_code == 200, response.text
    assert response.json()["Resources"] == []
    listed = await scim.get("/Users", params={"startIndex": str(10**30)})
    assert listed.status_code == 200, listed.text
    assert listed.json()["totalResults"] == 1


# -- fair share: a tenant over its share waits its turn, and is served


async def test_requests_past_a_tenants_fair_share_are_served_in_turn(tight: Stack) -> None:
    scim = await tenant(tight)
    other = await tenant(tight)
    created = [(await scim.post("/Users", user_body(f"f{i}"))).json()["id"] for i in range(3)]
    searches = [
        scim.post("/Users/.search", {"schemas": [SEARCH], "filter": 'userName sw "f"'})
        for _ in range(12)
    ]
    gets = [scim.get(f"/Users/{created[i % 3]}") for i in range(12)]
    answers = await asyncio.gather(*searches, *gets, other.get("/Users"))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert all(a.json()["totalResults"] == 3 for a in answers[:12])
    assert answers[-1].json()["totalResults"] == 0  # the other tenant sees none of them


async def test_transcoder_errors_echo_little_too(tight: Stack) -> None:
    scim = await tenant(tight)
    odd_type = await scim.request(
        "POST", "/Users", content=b"{}", headers={"Content-Type": "x" * 8000}
    )
    assert_refused(odd_type, 415, None)
    version = await tight.http.get(f"{tight.origins['path']}/tenants/x/scim/{'v' * 5000}/Users")
    assert_refused(version, 400, "invalidVers")


async def test_direct_grpc_base_urls_are_bounded(tight: Stack) -> None:
    scim = await tenant(tight)
    async with grpc.aio.insecure_channel(tight.grpc_target) as channel:
        stub = resources_pb2_grpc.ResourceServiceStub(channel)
        for base_url in ("http://x/" + "p" * 30_000, "javascript:alert(1)"):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListResources(
                    pb.ListResourcesRequest(resource_type="Users"),
                    metadata=(
                        ("authorization", f"Bearer {scim.api_key}"),
                        ("x-scim-base-url", base_url),
                    ),
                )
            assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_a_member_named_many_times_is_one_membership(tight: Stack) -> None:
    scim = await tenant(tight)
    user = (await scim.post("/Users", user_body("once"))).json()["id"]
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "repeats",
        "members": [{"value": user}] * 50,
    }
    created = await scim.post("/Groups", group)
    assert created.status_code == 201, created.text
    assert [m["value"] for m in created.json()["members"]] == [user]
    replaced = await scim.put(f"/Groups/{created.json()['id']}", group)
    assert [m["value"] for m in replaced.json()["members"]] == [user]
    assert len((await scim.get(f"/Users/{user}")).json()["groups"]) == 1


async def test_the_root_search_pages_by_cursor_like_the_others(tight: Stack) -> None:
    scim = await tenant(tight)
    for i in range(3):
        await scim.post("/Users", user_body(f"r{i}"))
    first = await scim.post("/.search", {"schemas": [SEARCH], "cursor": "", "count": 2})
    assert first.status_code == 200, first.text
    cursor = first.json()["nextCursor"]
    second = await scim.post("/.search", {"schemas": [SEARCH], "cursor": cursor, "count": 2})
    assert len(first.json()["Resources"]) + len(second.json()["Resources"]) == 3
    for forged in ("!!!", cursor[:-3]):
        refused = await scim.post("/.search", {"schemas": [SEARCH], "cursor": forged})
        assert_refused(refused, 400, "invalidCursor")
    per_type = await scim.post("/Users/.search", {"schemas": [SEARCH], "cursor": cursor})
    assert_refused(per_type, 400, "invalidCursor")  # bound to the root's query, not /Users'


async def test_a_root_search_cursor_is_refused_by_another_tenant(tight: Stack) -> None:
    scim, other = await tenant(tight), await tenant(tight)
    for client in (scim, other):
        for i in range(2):
            await client.post("/Users", user_body(f"x{i}"))
    first = await scim.post("/.search", {"schemas": [SEARCH], "cursor": "", "count": 1})
    cursor = first.json()["nextCursor"]
    foreign = await other.post("/.search", {"schemas": [SEARCH], "cursor": cursor, "count": 1})
    assert_refused(foreign, 400, "invalidCursor")


async def test_write_only_values_cannot_be_probed_by_filters(tight: Stack) -> None:
    scim = await tenant(tight)
    await register(tight, scim.tenant_id, COUNTS_SCHEMA)
    body = user_body("coded", schemas=[USER_SCHEMA, COUNTS], **{COUNTS: {"code": "4711"}})
    created = await scim.post("/Users", body)
    assert created.status_code == 201, created.text
    assert "4711" not in created.text
    probe = f'{COUNTS}:code eq "4711"'
    assert_refused(await scim.get("/Users", params={"filter": probe}), 403, "sensitive")
    searched = await scim.post("/Users/.search", {"schemas": [SEARCH], "filter": probe})
    assert_refused(searched, 400, "invalidFilter")
