"""Requests that outlast their caller's deadline tell the truth about what they did.

The server works to a budget a little shorter than its caller's deadline: a /Bulk that cannot
finish answers a BulkResponse saying which operations were done and which were not started
(never a bare 503 after committing part of it), and a change whose caller stopped waiting is
finished whole, never left half made, while the answer says its outcome is unknown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from e2e.stack import Stack, running_stack, server_settings
from e2e.test_groups import group_body
from helpers import require_mongodb, user_body

from scimtenancy_common.wire import OUTCOME_UNKNOWN
from scimtenancy_server.deadlines import NOT_STARTED
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.rpc.guards import finish_changes

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
OPERATIONS = 1000
# FerretDB takes milliseconds per create: 1,000 of them cannot all fit in two seconds.
BULK_SECONDS = 2.0
MAX_ROUNDS = 40


@pytest.fixture
async def slow_stack() -> AsyncIterator[Stack]:
    """The service on FerretDB behind transcoders that give /Bulk two seconds."""
    settings = server_settings("mongodb", require_mongodb())
    async with running_stack(settings, bulk_rpc_timeout=BULK_SECONDS) as stack:
        yield stack


def _creates(names: list[str]) -> dict[str, Any]:
    operations = [
        {"method": "POST", "path": "/Groups", "bulkId": name, "data": group_body(name)}
        for name in names
    ]
    return {"schemas": [BULK], "Operations": operations}


async def test_a_bulk_past_its_deadline_says_which_operations_it_did(slow_stack: Stack) -> None:
    scim = await slow_stack.tenant(IsolationLevel.STANDARD)
    names = [f"bulk-{i:03d}" for i in range(OPERATIONS)]
    pending, created, rounds_cut_short = list(names), 0, 0
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        response = await scim.post("/Bulk", _creates(pending))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["schemas"] == [BULK_RESPONSE]
        results = {result["bulkId"]: result for result in body["Operations"]}
        assert sorted(results) == sorted(pending)  # one answer per operation
        done = [name for name, result in results.items() if result["status"] == "201"]
        late = [name for name, result in results.items() if result["status"] == "503"]
        assert sorted(done + late) == sorted(pending), body["Operations"][:3]
        for name in late:
            assert "before this operation started" in results[name]["response"]["detail"]
        rounds_cut_short += bool(late)
        created += len(done)
        pending = late
        listed = await scim.get("/Groups", params={"filter": 'displayName sw "bulk-"', "count": 0})
        assert listed.json()["totalResults"] == created  # exactly the operations answered 201
    assert not pending
    assert rounds_cut_short >= 1  # the deadline was met at least once, and told
    assert created == OPERATIONS


MEMBERS = 300


async def test_a_change_whose_caller_gave_up_is_whole_or_not_made() -> None:
    """A Group create with 300 members takes FerretDB far longer than the 5 ms its caller
    waits: each answer is 201, or 503 saying nothing was done (and nothing was), or 503
    saying the outcome is unknown; the group is then whole or absent, never half made."""
    settings = server_settings("mongodb", require_mongodb())
    async with running_stack(settings, rpc_timeout=0.005) as stack:
        scim = await stack.tenant(IsolationLevel.STRICT)
        ctx = await stack.app.resolver.resolve(f"Bearer {scim.api_key}")
        members = []
        for i in range(MEMBERS):  # straight through the service: no deadline here
            body = orjson.dumps(user_body(f"member-{i}"))
            members.append((await stack.app.resources.create(ctx, "Users", body)).id)

        answers = [await scim.post("/Groups", group_body(f"team-{n}", *members)) for n in range(5)]
        await finish_changes(60)  # the changes the server went on with after their callers left
        assert any(answer.status_code != 201 for answer in answers)  # the deadline was met
        for n, answer in enumerate(answers):
            query = ListRequest(filter=f'displayName eq "team-{n}"')
            found = (await stack.app.resources.list_resources(ctx, "Groups", query)).page.resources
            sizes = [len(group.attributes.get("members", [])) for group in found]
            if answer.status_code == 201:
                assert sizes == [MEMBERS]
                continue
            assert answer.status_code == 503, answer.text
            detail = answer.json()["detail"]
            assert detail in (OUTCOME_UNKNOWN, NOT_STARTED), detail
            if detail == NOT_STARTED:
                assert sizes == []
            assert sizes in ([], [MEMBERS]), (detail, sizes)  # never a group half made
