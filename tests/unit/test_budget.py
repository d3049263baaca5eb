"""The server's budget from its caller's deadline, and how it reports what a request did."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import grpc
import pytest
from grpc.aio import AioRpcError, Metadata

from scimtenancy_common.wire import OUTCOME_UNKNOWN, STARTED_KEY, changes_data
from scimtenancy_server.deadlines import (
    NOT_STARTED,
    Budget,
    as_outcome,
    begin_writing,
    budget_for,
    require_time,
    working_to,
)
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.rpc.errors import grpc_code
from scimtenancy_server.rpc.guards import _run_to_end, _take_turn, finish_changes
from scimtenancy_transcoder.errors import from_rpc_error


def test_the_budget_keeps_a_tenth_of_the_callers_time_from_50_ms_to_a_second() -> None:
    for waits, kept in ((10.0, 1.0), (60.0, 1.0), (2.0, 0.2), (0.5, 0.05), (0.2, 0.05)):
        remaining = budget_for(waits).remaining()
        assert remaining is not None
        assert waits - kept - 0.05 < remaining <= waits - kept
    assert budget_for(None).remaining() is None
    assert budget_for(-1.0).exhausted()
    assert budget_for(0.04).exhausted()  # too short to do anything and still answer in time


def test_a_change_is_not_started_once_the_budget_is_spent() -> None:
    with working_to(Budget(time.monotonic() - 0.001)), pytest.raises(ScimError) as refused:
        require_time()
    assert refused.value.status == 503
    assert refused.value.detail == NOT_STARTED
    assert grpc_code(refused.value) == grpc.StatusCode.UNAVAILABLE
    with working_to(Budget(None)):
        require_time()  # no deadline: always time


def test_a_fault_after_writing_began_has_an_unknown_outcome() -> None:
    fault = ScimError.unavailable("the database is unavailable; retry later")
    with working_to(Budget()):
        assert as_outcome(fault) is fault  # still reading: nothing was changed
        begin_writing()
        # Whichever step met the fault, an earlier one may have landed.
        unknown = as_outcome(fault)
        assert as_outcome(ScimError.uniqueness("taken")).status == 409
    assert unknown.status == 503
    assert unknown.detail == OUTCOME_UNKNOWN
    assert grpc_code(unknown) == grpc.StatusCode.UNKNOWN  # never retried blindly


def _rpc_error(code: grpc.StatusCode, details: str, started: bool) -> AioRpcError:
    headers = Metadata((STARTED_KEY, "1")) if started else Metadata()
    return AioRpcError(code, headers, Metadata(), details)


@pytest.mark.parametrize(
    ("code", "started", "changes", "expected"),
    [
        (grpc.StatusCode.DEADLINE_EXCEEDED, False, True, OUTCOME_UNKNOWN),
        (grpc.StatusCode.UNAVAILABLE, True, True, OUTCOME_UNKNOWN),  # a replica died at work
        (grpc.StatusCode.CANCELLED, True, True, OUTCOME_UNKNOWN),
        (grpc.StatusCode.UNAVAILABLE, False, True, "retry later"),  # no server took it up
        (grpc.StatusCode.CANCELLED, False, True, "retry later"),  # a draining server's queue
        (grpc.StatusCode.DEADLINE_EXCEEDED, True, False, "retry later"),  # a read
    ],
)
def test_the_transcoder_says_when_a_change_failed_in_transit(
    code: grpc.StatusCode, started: bool, changes: bool, expected: str
) -> None:
    error = from_rpc_error(_rpc_error(code, "Socket closed", started), changes=changes)
    assert error.status == 503
    assert expected in error.detail


async def test_waiting_for_a_turn_ends_with_the_budget() -> None:
    @asynccontextmanager
    async def never_free() -> AsyncIterator[None]:
        await asyncio.Event().wait()
        yield

    async with AsyncExitStack() as stack:
        with pytest.raises(ScimError) as refused:
            await _take_turn(stack, never_free(), Budget(time.monotonic() + 0.01))
    assert refused.value.status == 503
    assert refused.value.detail == NOT_STARTED


async def test_a_change_runs_to_its_end_when_its_caller_stops_waiting() -> None:
    turn_held, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    @asynccontextmanager
    async def turn() -> AsyncIterator[None]:
        turn_held.set()
        yield
        turn_held.clear()

    async def change() -> str:
        await release.wait()
        finished.set()
        return "done"

    stack = AsyncExitStack()
    await stack.enter_async_context(turn())
    caller = asyncio.ensure_future(_run_to_end(stack, change()))
    await asyncio.sleep(0)
    caller.cancel()  # the deadline passes, or the client goes away
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert turn_held.is_set()
    assert not finished.is_set()
    release.set()
    await finish_changes(5)
    assert finished.is_set()
    assert not turn_held.is_set()


def test_every_rpc_that_may_change_data_runs_to_its_end() -> None:
    from scimtenancy.admin.v1 import admin_pb2
    from scimtenancy.discovery.v1 import discovery_pb2
    from scimtenancy.resources.v1 import resources_pb2

    names = {
        method.name
        for module in (admin_pb2, discovery_pb2, resources_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    reads = {name for name in names if not changes_data(name)}
    assert names - reads == {
        "CreateTenant",
        "IssueApiKey",
        "RevokeApiKey",
        "RotateApiKey",
        "SuspendTenant",
        "ActivateTenant",
        "RegisterSchemaExtension",
        "UpdateTenant",
        "MoveTenant",
        "DeleteTenant",
        "CreateResource",
        "ReplaceResource",
        "PatchResource",
        "DeleteResource",
        "Bulk",
        "CheckHealth",
    }
