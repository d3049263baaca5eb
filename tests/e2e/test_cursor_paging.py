"""Cursor paging (RFC 9865) over GET and POST /.search."""

from __future__ import annotations

from e2e.stack import Stack
from e2e.test_bad_input import assert_scim_error
from helpers import user_body

from scimtenancy_server.domain.tenant import IsolationLevel

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


async def test_cursor_pages_cover_every_resource_once(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    ids = sorted([(await scim.post("/Users", user_body(f"c{i}"))).json()["id"] for i in range(7)])
    seen: list[str] = []
    cursor = ""
    pages = []
    while True:
        page = (await scim.get("/Users", params={"cursor": cursor, "count": 3})).json()
        pages.append(page)
        assert "startIndex" not in page
        assert page["totalResults"] == 7
        seen += [r["id"] for r in page["Resources"]]
        if "nextCursor" not in page:
            break
        cursor = page["nextCursor"]
    assert seen == ids
    assert [len(p["Resources"]) for p in pages] == [3, 3, 1]
    assert "previousCursor" not in pages[0]
    back = (
        await scim.get("/Users", params={"cursor": pages[2]["previousCursor"], "count": 3})
    ).json()
    assert [r["id"] for r in back["Resources"]] == ids[3:6]

    searched = (
        await scim.post("/Users/.search", {"schemas": [SEARCH], "cursor": "", "count": 5})
    ).json()
    assert [r["id"] for r in searched["Resources"]] == ids[:5]
    assert searched["nextCursor"]


async def test_bad_cursors(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    for name in ("a", "b"):
        await scim.post("/Users", user_body(name))
    first = (await scim.get("/Users", params={"cursor": "", "count": 1})).json()
    assert_scim_error(
        await scim.get("/Users", params={"cursor": "garbage!", "count": 1}), 400, "invalidCursor"
    )
    other_query = {"cursor": first["nextCursor"], "filter": "userName pr", "count": 1}
    assert_scim_error(await scim.get("/Users", params=other_query), 400, "invalidCursor")
    both = {"cursor": "", "startIndex": 1}
    assert_scim_error(await scim.get("/Users", params=both), 400, "invalidValue")
