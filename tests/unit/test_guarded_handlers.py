"""The guards wrapped around every servicer method at registration: work within the budget
(a timer only once the work waits), a place taken at once or in turn, every method guarded."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality, Histogram, Sum
from prometheus_client import generate_latest
from telemetry_capture import telemetry_capture

from scimtenancy.discovery.v1 import discovery_pb2 as pb
from scimtenancy.discovery.v1 import discovery_pb2_grpc
from scimtenancy_server.deadlines import Budget
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.rpc.context import RequestContext
from scimtenancy_server.rpc.guards import Guard, _in_time
from scimtenancy_server.rpc.operation_metrics import (
    OperationLabels,
    OperationMetrics,
    request_field,
)
from scimtenancy_server.services.fair_share import UNBOUNDED, TenantFairShare

LATE = "the request did not finish in time; retry"


def _spent() -> Budget:
    return Budget(time.monotonic() - 1)


async def test_work_that_never_waits_is_done_whatever_its_budget() -> None:
    async def at_once() -> str:
        return "done"

    assert await _in_time(_spent(), at_once) == "done"


async def test_work_that_waits_past_its_budget_is_refused() -> None:
    finished = asyncio.Event()

    async def slow() -> str:
        await asyncio.sleep(0)
        await asyncio.Event().wait()
        finished.set()
        return "done"

    with pytest.raises(ScimError) as refused:
        await _in_time(Budget(time.monotonic() + 0.01), slow)
    assert refused.value.status == 503
    assert refused.value.detail == LATE
    assert not finished.is_set()


async def test_work_that_waits_gets_what_it_waited_for() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def waiting() -> int:
        await asyncio.sleep(0)  # a bare yield, then a real wait
        return await future + 1

    task = asyncio.ensure_future(_in_time(Budget(time.monotonic() + 30), waiting))
    await asyncio.sleep(0)
    future.set_result(41)
    assert await task == 42


async def test_errors_after_a_wait_and_without_a_budget_pass_as_they_are() -> None:
    async def missing() -> None:
        await asyncio.sleep(0)
        raise ScimError.not_found("no such resource")

    with pytest.raises(ScimError) as failed:
        await _in_time(Budget(), missing)
    assert failed.value.status == 404


async def test_a_timeout_error_of_the_work_itself_is_a_refusal_too() -> None:
    async def own_timeout() -> None:
        raise TimeoutError

    with pytest.raises(ScimError) as refused:
        await _in_time(Budget(), own_timeout)
    assert refused.value.detail == LATE


async def test_cancelling_the_caller_cancels_the_waiting_work() -> None:
    started, cleaned = asyncio.Event(), asyncio.Event()

    async def waits() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    task = asyncio.ensure_future(_in_time(Budget(time.monotonic() + 30), waits))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set()


def test_a_place_is_taken_at_once_only_while_one_is_free_and_nobody_waits() -> None:
    share = TenantFairShare(1)
    first = share.try_take("t")
    assert first is not None
    assert share.try_take("t") is None
    assert share.try_take("other") is not None  # another tenant has places of its own
    first.release()
    first.release()  # once only
    assert (share.working("t"), share.waiting("t")) == (0, 0)
    assert TenantFairShare(0).try_take("t") is UNBOUNDED


async def test_a_waiter_keeps_its_turn_over_a_later_request() -> None:
    share = TenantFairShare(1)
    holder = share.try_take("t")
    assert holder is not None
    waiter = asyncio.ensure_future(share.take("t"))
    await asyncio.sleep(0)
    holder.release()  # handed to the waiter, not left for whoever comes next
    assert share.try_take("t") is None
    (await waiter).release()
    assert (share.working("t"), share.waiting("t")) == (0, 0)


class _Server:
    def __init__(self) -> None:
        self.generic: list[grpc.GenericRpcHandler] = []
        self.registered: dict[str, Mapping[str, grpc.RpcMethodHandler]] = {}

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        self.registered[service] = handlers


class _Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


class _Refusing(Guard):
    async def resolve(self, metadata: Mapping[str, str]) -> RequestContext | None:
        raise ScimError.unauthenticated("no")


class _Aborted(Exception):
    pass


class _Context:
    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", "Bearer x"),)

    def time_remaining(self) -> float:
        return 10.0

    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Any) -> None:
        raise _Aborted(code)


class _Discovery(discovery_pb2_grpc.DiscoveryServiceServicer):
    def __init__(self) -> None:
        self.served = 0

    async def ListSchemas(self, request: Any, context: Any) -> pb.ListSchemasResponse:
        self.served += 1
        return pb.ListSchemasResponse()


def _metrics() -> OperationMetrics:
    return OperationMetrics(OperationLabels(True, lambda key: None))


async def test_every_method_of_a_registered_servicer_is_guarded() -> None:
    server, servicer = _Server(), _Discovery()
    _Refusing(_metrics()).register(
        server,
        discovery_pb2_grpc.add_DiscoveryServiceServicer_to_server,
        servicer,
    )
    service = "scimtenancy.discovery.v1.DiscoveryService"
    names = {m.name for m in pb.DESCRIPTOR.services_by_name["DiscoveryService"].methods}
    assert set(server.registered[service]) == names
    looked_up = server.generic[0].service(_Details(f"/{service}/ListSchemas"))
    assert looked_up is server.registered[service]["ListSchemas"]
    with pytest.raises(_Aborted) as aborted:
        await looked_up.unary_unary(pb.ListSchemasRequest(), _Context())
    assert aborted.value.args == (grpc.StatusCode.UNAUTHENTICATED,)
    assert servicer.served == 0


class _Admitting(Guard):
    async def resolve(self, metadata: Mapping[str, str]) -> RequestContext | None:
        return None


async def test_a_method_that_is_a_plain_function_is_guarded_and_awaited_too() -> None:
    class Plain(discovery_pb2_grpc.DiscoveryServiceServicer):
        def ListSchemas(self, request: Any, context: Any) -> Any:
            return asyncio.sleep(0, result=pb.ListSchemasResponse(json=b"{}"))

    server = _Server()
    _Admitting(_metrics()).register(
        server,
        discovery_pb2_grpc.add_DiscoveryServiceServicer_to_server,
        Plain(),
    )
    handler = server.registered["scimtenancy.discovery.v1.DiscoveryService"]["ListSchemas"]
    reply = await handler.unary_unary(pb.ListSchemasRequest(), _Context())
    assert reply.json == b"{}"


def test_request_fields_are_read_only_where_the_message_has_them() -> None:
    assert request_field(pb.GetSchemaRequest(id="x"), "id") == "x"
    assert request_field(pb.GetSchemaRequest(), "tenant_id") == ""

    class Plain:
        tenant_id = "acme"

    assert request_field(Plain(), "tenant_id") == "acme"
    assert request_field(object(), "tenant_id") == ""


def test_calls_with_the_same_labels_share_one_series_across_servers() -> None:
    first = OperationLabels(True, lambda key: None)
    second = OperationLabels(True, lambda key: None)
    error = ScimError.not_found("x")
    series = first.series("t-shared", "get", "User", error)
    assert first.series("t-shared", "get", "User", ScimError.not_found("y")) is series
    assert second.series("t-shared", "get", "User", error) is series
    assert dict(series.attributes) == {
        "scim.operation": "get",
        "scim.resource_type": "User",
        "scim.outcome": "client_error",
        "scim.error_type": "404",
        "tenant.id": "t-shared",
    }
    unlabelled = OperationLabels(False, lambda key: None).series("t-shared", "get", "User", error)
    assert unlabelled is not series
    assert "tenant.id" not in unlabelled.attributes


def test_operations_are_exported_as_a_cumulative_counter_beside_their_durations() -> None:
    capture = telemetry_capture()
    metrics = _metrics()
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    series = metrics.labels.series(tenant, "get", "User", None)
    for _ in range(3):
        metrics.record(series, 0.002)

    data = capture.metrics.get_metrics_data()
    assert data is not None
    found = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    count = found["scim.operations"]
    assert isinstance(count.data, Sum)
    assert count.data.is_monotonic
    assert count.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
    assert (count.unit, count.description) == ("{operation}", "SCIM operations served")
    mine = [p for p in count.data.data_points if (p.attributes or {}).get("tenant.id") == tenant]
    assert [p.value for p in mine] == [3]
    durations = found["scim.operation.duration"].data
    assert isinstance(durations, Histogram)
    timed = [p for p in durations.data_points if (p.attributes or {}).get("tenant.id") == tenant]
    assert [p.count for p in timed] == [3]
    exposition = generate_latest(capture.telemetry.registry).decode()
    assert "# TYPE scim_operations_total counter" in exposition
    lines = [line for line in exposition.splitlines() if f'tenant_id="{tenant}"' in line]
    assert any(
        line.startswith("scim_operations_total{") and line.endswith(" 3.0") for line in lines
    )
