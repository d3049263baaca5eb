"""Several tenancy-server replicas behind one transcoder whose GRPC_TARGET lists them all.

Real server processes on FerretDB: calls are spread over every replica (each process's own
/metrics says so); a replica drained with SIGTERM under load fails no request; a replica killed
with SIGKILL under load fails only the calls it had in flight (503, outcome unknown), and
afterwards every acknowledged create exists, no userName twice, the limit is exact. With no
replica SERVING the answer is a SCIM 503. (What gRPC does with a call, per replica, is shown
with fake replicas in tests/unit/test_replica_channel.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from e2e.idp_tenant import IdpTenant
from e2e.stack import ADMIN_TOKEN, http_transcoder
from e2e.test_bad_input import assert_scim_error
from e2e.two_servers import ServerProcess, server_processes
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from helpers import free_port, unique_id, user_body
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy_common.settings import Settings
from scimtenancy_server.rpc.health import (
    NOT_SERVING,
    add_health_and_reflection,
)
from scimtenancy_transcoder.rpc_client import RESOURCE_SERVICE

REPLICAS = 3  # one to drain, one to kill, one that stays
WORKERS = 4  # concurrent clients
STEP_TIMEOUT = 60.0  # bounds every wait, so that a hang fails the test instead of the suite
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OK = {"create": 201, "patch": 200, "get": 200}
ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


Tenant = IdpTenant


@dataclass
class Replicas:
    servers: list[ServerProcess]
    metrics_ports: list[int]
    origin: str
    http: httpx.AsyncClient
    admin: admin_pb2_grpc.TenantAdminServiceStub

    async def tenant(self, max_users: int | None = None) -> Tenant:
        tenant_id = unique_id()
        limits = admin_pb2.Limits(max_users=max_users) if max_users is not None else None
        request = admin_pb2.CreateTenantRequest(
            tenant_id=tenant_id,
            limits=limits,
            isolation_level=admin_pb2.ISOLATION_LEVEL_STANDARD,
        )
        await self.admin.CreateTenant(request, metadata=ADMIN)
        issue = admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id)
        key = await self.admin.IssueApiKey(issue, metadata=ADMIN)
        base = f"{self.origin}/tenants/{tenant_id}/scim/v2"
        return Tenant(tenant_id, key.api_key, base, self.http)

    async def served(self, replica: int, tenant_id: str) -> float:
        """The tenant's calls on Users this replica's own /metrics has counted."""
        url = f"http://127.0.0.1:{self.metrics_ports[replica]}/metrics"
        page = (await self.http.get(url)).text
        mine = (f'tenant_id="{tenant_id}"', 'scim_resource_type="User"')
        lines = [line for line in page.splitlines() if line.startswith("scim_operations_total{")]
        counted = [line for line in lines if all(label in line for label in mine)]
        return sum(float(line.rsplit(" ", 1)[1]) for line in counted)


@pytest.fixture(scope="module")
async def replicas() -> AsyncIterator[Replicas]:
    ports = [free_port() for _ in range(REPLICAS)]
    env = [{"SCIMTENANCY_METRICS_PORT": str(port)} for port in ports]
    async with server_processes(REPLICAS, env) as servers:
        target = ",".join(server.target for server in servers)  # as an operator lists them
        async with (
            http_transcoder(Settings(url_strategy="path", grpc_target=target), target) as origin,
            httpx.AsyncClient(timeout=STEP_TIMEOUT) as http,
            grpc.aio.insecure_channel(servers[1].target) as admin_channel,  # never stopped
        ):
            admin = admin_pb2_grpc.TenantAdminServiceStub(admin_channel)
            yield Replicas(servers, ports, origin, http, admin)


@dataclass(frozen=True)
class Answer:
    started: int  # requests of the load started before this one
    kind: str
    user_name: str
    status: int
    detail: str


@dataclass
class Load:
    """`WORKERS` clients that each create a User (a unique userName), rename it with PATCH and
    read it back, until `iterations` creates have been sent."""

    tenant: Tenant
    iterations: int
    answers: list[Answer] = field(default_factory=list)
    started: int = 0
    _issued: int = 0
    _progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def run(self) -> None:
        await asyncio.gather(*(self._client() for _ in range(WORKERS)))

    async def answered(self, count: int) -> None:
        """Returns once `count` answers came (or every request was sent)."""
        async with asyncio.timeout(STEP_TIMEOUT), self._progress:
            await self._progress.wait_for(
                lambda: len(self.answers) >= count or self._issued >= self.iterations
            )

    def failed(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.status != OK[answer.kind]]

    async def _client(self) -> None:
        while self._issued < self.iterations:
            self._issued += 1
            name = unique_id("u")
            created = await self._send("create", name, "POST", "/Users", user_body(name))
            if created.status_code != OK["create"]:
                continue
            path = f"/Users/{created.json()['id']}"
            await self._send("patch", name, "PATCH", path, _rename(name))
            await self._send("get", name, "GET", path)

    async def _send(
        self, kind: str, name: str, method: str, path: str, body: Any = None
    ) -> httpx.Response:
        started, self.started = self.started, self.started + 1
        response = await self.tenant.request(method, path, body)
        failed = response.status_code >= 400
        detail = str(response.json().get("detail", "")) if failed else ""
        self.answers.append(Answer(started, kind, name, response.status_code, detail))
        async with self._progress:
            self._progress.notify_all()
        return response


def _rename(name: str) -> dict[str, Any]:
    operation = {"op": "replace", "path": "displayName", "value": f"renamed {name}"}
    return {"schemas": [PATCH_OP], "Operations": [operation]}


@pytest.mark.mongodb
async def test_calls_are_spread_over_every_replica(replicas: Replicas) -> None:
    tenant = await replicas.tenant()
    calls = 10 * REPLICAS
    for _ in range(calls):
        assert (await tenant.request("GET", "/Users?count=0")).status_code == 200
    served = [await replicas.served(i, tenant.tenant_id) for i in range(REPLICAS)]
    assert sum(served) == calls  # each call served once, by one replica
    assert all(count >= 1 for count in served), served


@pytest.mark.mongodb
async def test_a_replica_drained_under_load_fails_no_request(replicas: Replicas) -> None:
    tenant = await replicas.tenant()
    load = Load(tenant, iterations=80)
    drained = replicas.servers[2]

    async def drain_mid_load() -> tuple[float, int, int]:
        await load.answered(30)
        served = await replicas.served(2, tenant.tenant_id)
        status = await asyncio.to_thread(drained.stop)  # SIGTERM, then its exit
        return served, status, load.started

    _, (served, status, ended_at) = await asyncio.gather(load.run(), drain_mid_load())
    assert served >= 1  # it was in the rotation when it began to drain
    assert status == 0
    assert load.started - ended_at >= 30  # the load went on without it
    assert load.failed() == []


@pytest.mark.mongodb
async def test_a_replica_killed_under_load_misreports_nothing(replicas: Replicas) -> None:
    max_users = 115
    tenant = await replicas.tenant(max_users)
    load = Load(tenant, iterations=110)
    killed = replicas.servers[0]

    async def kill_mid_load() -> tuple[float, int]:
        await load.answered(90)
        served = await replicas.served(0, tenant.tenant_id)
        await asyncio.to_thread(killed.kill)
        return served, load.started

    _, (served, killed_at) = await asyncio.gather(load.run(), kill_mid_load())
    assert served >= 1
    assert load.started - killed_at >= 100  # the load went on, on the other replicas
    failed = load.failed()
    for answer in failed:  # only calls in flight on the dead replica, and they say so
        assert answer.status == 503, answer
        assert answer.started < killed_at, answer
        assert ("retry" if answer.kind == "get" else "outcome is unknown") in answer.detail

    names = await tenant.user_names()
    assert len(names) == len(set(names))  # no userName twice
    acknowledged = {a.user_name for a in load.answers if a.kind == "create" and a.status == 201}
    unknown = {a.user_name for a in failed if a.kind == "create"}
    assert acknowledged <= set(names)  # every acknowledged create is there
    assert set(names) <= acknowledged | unknown
    for name in unknown:
        assert len(await tenant.find(name)) <= 1
    for answer in (a for a in failed if a.kind == "patch"):
        (user,) = await tenant.find(answer.user_name)
        assert user.get("displayName") in (None, f"renamed {answer.user_name}")
    await _exact_limit(tenant, max_users, len(names), len(unknown - set(names)))


async def _exact_limit(tenant: Tenant, max_users: int, existing: int, leak_bound: int) -> None:
    """Creates Users until the limit refuses one: the tenant ends at most at its limit, and
    below it only by the slots that unknown-outcome creates may have left taken."""
    assert existing <= max_users
    for _ in range(max_users - existing + 1):
        created = await tenant.request("POST", "/Users", user_body(unique_id("fill")))
        if created.status_code != 201:
            assert_scim_error(created, 403)
            assert f"max_users={max_users}" in created.json()["detail"]
            break
    else:
        raise AssertionError("the limit let one User too many in")
    total = len(await tenant.user_names())
    assert max_users - leak_bound <= total <= max_users


# -- what the channel needs from the server, and gives the client


async def test_a_tracing_server_is_watched_and_says_when_it_drains() -> None:
    """OpenTelemetry's server interceptor (on when the server traces) iterates a streaming
    handler's answers: the health Watch the channel relies on must still answer."""

    async def storage_up() -> bool:
        return True

    server = grpc.aio.server(interceptors=[aio_server_interceptor()])  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    servicer = await add_health_and_reflection(server, storage_up)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = health_pb2.HealthCheckRequest(service=RESOURCE_SERVICE)
            stream = health_pb2_grpc.HealthStub(channel).Watch(watch, timeout=STEP_TIMEOUT)
            first = await stream.read()
            await servicer.drain()
            then = await stream.read()
            stream.cancel()
    finally:
        await server.stop(None)
    statuses = [first.status, then.status]
    assert statuses == [health_pb2.HealthCheckResponse.SERVING, NOT_SERVING]


async def test_with_no_replica_serving_the_answer_is_a_scim_503() -> None:
    """A server that says NOT_SERVING gets no call (it would answer UNIMPLEMENTED, a 501):
    the channel fails it at once, and the client is told to retry, in a SCIM Error."""
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    servicer = health.aio.HealthServicer()
    await servicer.set(RESOURCE_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    await server.start()
    target = f"127.0.0.1:{port}"
    try:
        async with (
            http_transcoder(Settings(url_strategy="path"), target) as origin,
            httpx.AsyncClient(timeout=STEP_TIMEOUT) as http,
        ):
            headers = {"Authorization": "Bearer k"}
            answer = await http.get(f"{origin}/tenants/t/scim/v2/Users/x", headers=headers)
            ready = await http.get(f"{origin}/readyz")
    finally:
        await server.stop(None)
    assert_scim_error(answer, 503)
    assert "retry" in answer.json()["detail"]
    assert ready.status_code == 503
