"""A list page larger than gRPC's default 4 MB message limit still reaches the client."""

from __future__ import annotations

from e2e.stack import Stack
from helpers import user_body

from scimtenancy_server.domain.tenant import IsolationLevel

USERS = 300
# Two strings of 8,000 characters (within MAX_STRING_LENGTH) per user: 300 x 16 kB, about
# 4.8 MB of JSON in one reply.
NAME_LENGTH = 8_000


async def test_a_page_over_four_megabytes_is_served(memory_stack: Stack) -> None:
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    for number in range(USERS):
        body = user_body(
            f"large-{number}", displayName="x" * NAME_LENGTH, nickName="n" * NAME_LENGTH
        )
        assert (await scim.post("/Users", body)).status_code == 201
    page = await scim.get("/Users", params={"count": USERS})
    assert page.status_code == 200, page.text[:300]
    listed = page.json()
    assert listed["totalResults"] == USERS
    assert len(listed["Resources"]) == USERS
    assert all(len(user["displayName"]) == NAME_LENGTH for user in listed["Resources"])
    assert all(len(user["nickName"]) == NAME_LENGTH for user in listed["Resources"])
