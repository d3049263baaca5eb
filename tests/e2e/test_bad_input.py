"""Bad input gets the right SCIM error, and nothing is written."""

from __future__ import annotations

import pytest
from e2e.stack import Stack
from helpers import user_body

from scimtenancy_common.wire import ERROR_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel


def assert_scim_error(response: object, status: int, scim_type: str | None = None) -> None:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    assert "Traceback" not in response.text
    assert body.get("scimType") == scim_type


@pytest.mark.parametrize(
    ("content", "scim_type", "detail_part"),
    [
        (b'{"schemas": [', "invalidSyntax", "not valid JSON"),
        (b"[1, 2]", "invalidSyntax", "must be a JSON object"),
        (b'"just a string"', "invalidSyntax", "must be a JSON object"),
        (b'{"userName": "x"}', "invalidSyntax", "schemas"),
        (
            b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}',
            "invalidValue",
            "userName",
        ),
        (
            b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x",'
            b' "shoeSize": 9}',
            "invalidValue",
            "shoeSize",
        ),
        (b"", "invalidSyntax", "not valid JSON"),
        (
            b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": " "}',
            "invalidValue",
            "userName",
        ),
    ],
)
async def test_malformed_resources_are_refused(
    stack: Stack, content: bytes, scim_type: str, detail_part: str
) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    response = await scim.request("POST", "/Users", content=content)
    assert_scim_error(response, 400, scim_type)
    assert detail_part in response.json()["detail"]
    assert (await scim.get("/Users")).json()["totalResults"] == 0


async def test_unknown_resource_type(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    assert_scim_error(await scim.post("/Widgets", user_body("x")), 404)
    assert_scim_error(await scim.get("/Widgets"), 404)
    assert_scim_error(await scim.get("/Users/a/b"), 404)


async def test_wrong_content_type(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    response = await scim.request(
        "POST", "/Users", content=b"userName=x", headers={"Content-Type": "text/plain"}
    )
    assert_scim_error(response, 415)
    assert (await scim.get("/Users")).json()["totalResults"] == 0


async def test_plain_json_content_type_is_accepted(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    response = await scim.post(
        "/Users", user_body("json"), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 201


async def test_body_over_the_size_limit(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    huge = user_body("big", title="x" * 2_000_000)
    assert_scim_error(await scim.post("/Users", huge), 413, "tooLarge")
    assert (await scim.get("/Users")).json()["totalResults"] == 0


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer nope", "Basic Zm9vOmJhcg=="])
async def test_missing_or_unknown_credentials(stack: Stack, authorization: str) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    scim.api_key = ""
    response = await scim.request(
        "POST", "/Users", body=user_body("x"), headers={"Authorization": authorization}
    )
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_invalid_filter_and_paging_parameters(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    assert_scim_error(
        await scim.get("/Users", params={"filter": "userName eq"}), 400, "invalidFilter"
    )
    assert_scim_error(
        await scim.get("/Users", params={"filter": 'nope eq "x"'}), 400, "invalidFilter"
    )
    assert_scim_error(await scim.get("/Users", params={"count": "ten"}), 400, "invalidValue")


async def test_bad_patches_change_nothing(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    created = (await scim.post("/Users", user_body("patchme", title="Keep"))).json()
    path = f"/Users/{created['id']}"
    patch_op = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    cases = [
        ({"Operations": [{"op": "add", "value": {"title": "x"}}]}, "invalidSyntax"),
        ({"schemas": [patch_op], "Operations": [{"op": "jump", "path": "title"}]}, "invalidSyntax"),
        ({"schemas": [patch_op], "Operations": [{"op": "remove"}]}, "noTarget"),
        (
            {"schemas": [patch_op], "Operations": [{"op": "replace", "path": "id", "value": "x"}]},
            "mutability",
        ),
        (
            {
                "schemas": [patch_op],
                "Operations": [
                    {"op": "replace", "path": "title", "value": "Changed"},
                    {"op": "replace", "path": "bogus", "value": 1},
                ],
            },
            "invalidPath",
        ),
        (
            {"schemas": [patch_op], "Operations": [{"op": "remove", "path": "userName"}]},
            "invalidValue",
        ),
    ]
    for body, scim_type in cases:
        assert_scim_error(await scim.patch(path, body), 400, scim_type)
    assert (await scim.get(path)).json() == created


async def test_wrong_method_and_unknown_route(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    response = await scim.delete("/Users")
    assert_scim_error(response, 405)
    outside = await stack.http.get(f"{stack.origins['path']}/nowhere")
    assert_scim_error(outside, 404)


async def test_subdomain_strategy_refuses_foreign_and_nested_hosts(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD, "subdomain")
    origin = stack.origins["subdomain"]
    for host in ("evil.example.com", f"a.{scim.tenant_id}.scim.test", "scim.test"):
        response = await stack.http.get(
            f"{origin}/scim/v2/Users",
            headers={"Host": host, "Authorization": f"Bearer {scim.api_key}"},
        )
        assert_scim_error(response, 404)
