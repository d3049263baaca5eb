"""/Bulk (RFC 7644 §3.7) in memory, through the service the RPC calls: failOnErrors, each
operation's own error, the tenant's limits and isolation inside a bulk request, the request's
own bounds and time, and one audit event per operation."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from service_rig import (
    BASE_URL,
    GROUP,
    USER,
    audit_events,
    bulk,
    error_of,
    memory_application,
    post_user,
    tenant,
    user,
)

from scimtenancy_server.bootstrap import Application
from scimtenancy_server.deadlines import Budget, working_to
from scimtenancy_server.domain.audit import Outcome
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import DEFAULT_RESPONSES, TenantContext
from scimtenancy_server.services.audit import AuditLog
from scimtenancy_server.services.bulk import BulkService


@pytest.fixture
async def app() -> AsyncIterator[Application]:
    async with memory_application(bulk_max_operations=5, bulk_max_payload=4096) as application:
        yield application


def post_group(bulk_id: str, member: str) -> dict[str, Any]:
    data = {"schemas": [GROUP], "displayName": bulk_id, "members": [{"value": member}]}
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}


def statuses(answer: dict[str, Any]) -> list[str]:
    return [operation["status"] for operation in answer["Operations"]]


async def user_names(app: Application, ctx: TenantContext) -> list[str]:
    listed = await app.resources.list_resources(ctx, "Users", ListRequest())
    return sorted(r.attributes["userName"] for r in listed.page.resources)


async def test_fail_on_errors_stops_after_that_many_errors(app: Application) -> None:
    acme = await tenant(app, "acme")
    body = bulk(
        post_user("alice"),
        {"method": "DELETE", "path": "/Users/no-such-user"},
        {"method": "DELETE", "path": "/Users/nor-this-one"},
        post_user("bob"),
        failOnErrors=2,
    )
    answer = await app.bulk.run(acme, body, BASE_URL)
    assert statuses(answer) == ["201", "404", "404"]
    assert await user_names(app, acme) == ["alice"]


async def test_each_operation_answers_its_own_error_and_the_rest_are_done(
    app: Application,
) -> None:
    acme = await tenant(app, "acme")
    body = bulk(post_user("alice"), post_user("mallory", active="not a boolean"), post_user("bob"))
    answer = await app.bulk.run(acme, body, BASE_URL)
    assert statuses(answer) == ["201", "400", "201"]
    refused = answer["Operations"][1]["response"]
    assert (refused["status"], refused["scimType"]) == ("400", "invalidValue")
    assert answer["Operations"][0]["location"].startswith(f"{BASE_URL}/Users/")
    assert await user_names(app, acme) == ["alice", "bob"]


async def test_the_tenants_limit_holds_inside_a_bulk_request(app: Application) -> None:
    acme = await tenant(app, "acme", User=1)
    answer = await app.bulk.run(acme, bulk(post_user("alice"), post_user("bob")), BASE_URL)
    assert statuses(answer) == ["201", "403"]
    assert await user_names(app, acme) == ["alice"]


async def test_a_bulk_request_cannot_change_another_tenants_resources(
    app: Application,
) -> None:
    acme, globex = await tenant(app, "acme"), await tenant(app, "globex")
    victim = await app.resources.create(acme, "Users", user("bjensen"))
    rename = {"schemas": [USER], "userName": "mallory"}
    body = bulk(
        {"method": "PUT", "path": f"/Users/{victim.id}", "data": rename},
        {"method": "DELETE", "path": f"/Users/{victim.id}"},
    )
    answer = await app.bulk.run(globex, body, BASE_URL)
    assert statuses(answer) == ["404", "404"]
    kept = await app.resources.get(acme, "Users", victim.id)
    assert (kept.attributes["userName"], kept.version) == ("bjensen", victim.version)


async def test_requests_past_the_bounds_are_refused_whole(app: Application) -> None:
    acme = await tenant(app, "acme")
    many = bulk(*(post_user(f"user{i}") for i in range(6)))
    assert (await error_of(app.bulk.run(acme, many, BASE_URL))).status == 413
    large = bulk(post_user("x" * 5000))
    assert (await error_of(app.bulk.run(acme, large, BASE_URL))).status == 413
    assert await user_names(app, acme) == []


async def test_a_tenant_not_offered_bulk_gets_501(app: Application) -> None:
    created = await app.administration.create_tenant(
        "acme", "", None, responses=replace(DEFAULT_RESPONSES, bulk=False)
    )
    acme = TenantContext(created, actor="key-acme")
    refused = await error_of(app.bulk.run(acme, bulk(post_user("alice")), BASE_URL))
    assert refused.status == 501
    assert await user_names(app, acme) == []


async def test_operations_not_started_in_time_answer_503_each(app: Application) -> None:
    acme = await tenant(app, "acme")
    with working_to(Budget(time.monotonic() - 1)):
        answer = await app.bulk.run(acme, bulk(post_user("alice"), post_user("bob")), BASE_URL)
    assert statuses(answer) == ["503", "503"]
    assert await user_names(app, acme) == []


async def test_each_operation_is_one_audit_event_marked_bulk(app: Application) -> None:
    acme = await tenant(app, "acme")
    body = bulk(
        post_user("alice"),
        {"method": "DELETE", "path": "/Users/bulkId:alice"},
        {"method": "DELETE", "path": "/Users/bulkId:unknown"},
    )
    answer = await app.bulk.run(acme, body, BASE_URL)
    assert statuses(answer) == ["201", "204", "400"]
    created_id = answer["Operations"][0]["location"].rsplit("/", 1)[1]
    events = [e for e in await audit_events(app, "acme") if e.resource_type == "User"]
    assert [(e.operation, e.resource_id, e.outcome) for e in events] == [
        ("create", created_id, Outcome.SUCCESS),
        ("delete", created_id, Outcome.SUCCESS),
        ("delete", "bulkId:unknown", Outcome.FAILURE),
    ]
    assert all(e.bulk and e.actor == "key-acme" for e in events)


async def test_circular_bulk_ids_are_refused_and_audited(app: Application) -> None:
    acme = await tenant(app, "acme")
    first, second = post_group("a", member="bulkId:b"), post_group("b", member="bulkId:a")
    answer = await app.bulk.run(acme, bulk(first, second, post_user("alice")), BASE_URL)
    assert statuses(answer) == ["409", "409", "201"]
    events = [e for e in await audit_events(app, "acme") if e.resource_type == "Group"]
    assert [(e.operation, e.outcome, e.error_status, e.bulk) for e in events] == [
        ("create", Outcome.FAILURE, 409, True),
        ("create", Outcome.FAILURE, 409, True),
    ]
    assert (await app.resources.list_resources(acme, "Groups", ListRequest())).page.total == 0


async def test_an_operation_joins_the_event_its_bulk_log_hands_it(app: Application) -> None:
    """The resource operation is audited through the bulk operation's event alone: with the
    bulk service's log off, nothing is recorded, not even by the resource service's log."""
    acme = await tenant(app, "acme")
    unaudited = BulkService(app.resources, AuditLog.off())
    answer = await unaudited.run(acme, bulk(post_user("alice")), BASE_URL)
    assert statuses(answer) == ["201"]
    assert await user_names(app, acme) == ["alice"]
    assert [e for e in await audit_events(app, "acme") if e.resource_type == "User"] == []
