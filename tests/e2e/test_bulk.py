"""/Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, limits, tenant scoping."""

from __future__ import annotations

from typing import Any

from e2e.stack import Stack
from e2e.test_bad_input import assert_scim_error
from helpers import user_body

from scimtenancy_server.domain.schema import GROUP_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def bulk(*operations: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"schemas": [BULK], "Operations": list(operations), **options}


def post(path: str, bulk_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "path": path, "bulkId": bulk_id, "data": data}


def group(name: str, *members: str) -> dict[str, Any]:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": m} for m in members],
    }


async def test_forward_references_resolve(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STRICT)
    response = await scim.post(
        "/Bulk",
        bulk(
            post("/Groups", "team", group("Team", "bulkId:ann", "bulkId:bob")),
            post("/Users", "ann", user_body("ann")),
            post("/Users", "bob", user_body("bob")),
            {
                "method": "PATCH",
                "path": "/Users/bulkId:ann",
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "add", "path": "title", "value": "Lead"}],
                },
            },
        ),
    )
    assert response.status_code == 200, response.text
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "201", "200"]
    team = (await scim.get(results[0]["location"].removeprefix(scim.base_url))).json()
    ann_id = results[1]["location"].rsplit("/", 1)[1]
    assert sorted(m["value"] for m in team["members"]) == sorted(
        r["location"].rsplit("/", 1)[1] for r in results[1:3]
    )
    assert (await scim.get(f"/Users/{ann_id}")).json()["title"] == "Lead"
    assert results[3]["version"] != results[1]["version"]


async def test_cycles_and_unknown_references_fail_alone(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    response = await scim.post(
        "/Bulk",
        bulk(
            post("/Groups", "a", group("A", "bulkId:b")),
            post("/Groups", "b", group("B", "bulkId:a")),
            post("/Groups", "c", group("C", "bulkId:nobody")),
            post("/Users", "fine", user_body("fine")),
        ),
    )
    results = {r["bulkId"]: r for r in response.json()["Operations"]}
    assert [results[k]["status"] for k in ("a", "b", "c", "fine")] == ["409", "409", "400", "201"]
    assert results["c"]["response"]["scimType"] == "invalidValue"
    assert (await scim.get("/Groups")).json()["totalResults"] == 0


async def test_fail_on_errors_stops_the_run(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    response = await scim.post(
        "/Bulk",
        bulk(
            post("/Users", "1", user_body("dup")),
            post("/Users", "2", user_body("DUP")),
            post("/Users", "3", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
            post("/Users", "4", user_body("never")),
            failOnErrors=2,
        ),
    )
    statuses = [r["status"] for r in response.json()["Operations"]]
    assert statuses == ["201", "409", "400"]
    assert (await scim.get("/Users")).json()["totalResults"] == 1


async def test_limits_and_malformed_requests(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    too_many = bulk(*(post("/Users", str(i), user_body(f"u{i}")) for i in range(1001)))
    assert_scim_error(await scim.post("/Bulk", too_many), 413, "tooLarge")
    assert_scim_error(await scim.post("/Bulk", {"Operations": []}), 400, "invalidSyntax")
    no_bulk_id = bulk({"method": "POST", "path": "/Users", "data": user_body("x")})
    assert_scim_error(await scim.post("/Bulk", no_bulk_id), 400, "invalidSyntax")
    assert (await scim.get("/Users")).json()["totalResults"] == 0
    config = (await scim.get("/ServiceProviderConfig")).json()["bulk"]
    assert config == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1_048_576}


async def test_bulk_stays_in_the_tenant(stack: Stack) -> None:
    owner = await stack.tenant(IsolationLevel.STANDARD)
    intruder = await stack.tenant(IsolationLevel.STANDARD)
    victim = (await owner.post("/Users", user_body("victim"))).json()["id"]
    response = await intruder.post(
        "/Bulk",
        bulk(
            {"method": "DELETE", "path": f"/Users/{victim}"},
            {"method": "PUT", "path": f"/Users/{victim}", "data": user_body("stolen")},
            post("/Groups", "g", group("G", victim)),
        ),
    )
    assert [r["status"] for r in response.json()["Operations"]] == ["404", "404", "400"]
    assert (await owner.get(f"/Users/{victim}")).json()["userName"] == "victim"
