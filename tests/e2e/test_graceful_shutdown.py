"""SIGTERM drains each process: it refuses new connections at once, answers every request it
had accepted (or, past the grace period, a SCIM 503), closes its clients and exits 0. The
processes are the real commands, on FerretDB, under a burst of concurrent requests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import h11
import httpx
import orjson
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from helpers import free_port, require_mongodb, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_common.wire import OUTCOME_UNKNOWN
from scimtenancy_server.storage.mongo import connect
from scimtenancy_transcoder.stopping import NOT_SERVED

BIN = Path(sys.executable).parent
ADMIN_TOKEN = "shutdown-admin-token"
STEP_TIMEOUT = 60.0  # bounds every wait, so that a hang fails the test instead of the suite
POLL_INTERVAL = 0.05
BURST = 50  # concurrent single creates
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Service:
    """A service command running as its own process; its log lines are kept as they come."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _logged: asyncio.Event = field(default_factory=asyncio.Event)
    _pump: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, command: str, env: dict[str, str]) -> Service:
        process = await asyncio.create_subprocess_exec(
            str(BIN / command), env=env, stderr=asyncio.subprocess.PIPE
        )
        service = cls(process)
        service._pump = asyncio.create_task(service._read())
        return service

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.lines.append(line.decode(errors="replace"))
            self._logged.set()
        self._logged.set()

    async def logged(self, text: str) -> str:
        """The first log line containing `text`, once it is written."""
        seen = 0
        async with asyncio.timeout(STEP_TIMEOUT):
            while True:
                for line in self.lines[seen:]:
                    if text in line:
                        return line
                seen = len(self.lines)
                assert self._pump is not None
                if self._pump.done():
                    raise AssertionError(f"{text!r} never logged:\n{''.join(self.lines)}")
                self._logged.clear()
                await self._logged.wait()

    def terminate(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)

    async def exit_status(self) -> int:
        try:
            async with asyncio.timeout(STEP_TIMEOUT):
                status = await self.process.wait()
        except TimeoutError:
            self.process.kill()
            raise
        assert self._pump is not None
        await self._pump
        return status


@dataclass
class Deployment:
    env: dict[str, str]
    grpc_port: int
    http_port: int
    server: Service
    transcoder: Service
    api_key: str = ""
    base_url: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def start_server(self) -> None:
        self.server = await Service.start("scimtenancy-server", self.env)
        await self.server.logged("listening on")


@contextlib.asynccontextmanager
async def clients(d: Deployment) -> AsyncIterator[tuple[grpc.aio.Channel, httpx.AsyncClient]]:
    """A gRPC channel to the server and an HTTP client, for one test's calls."""
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{d.grpc_port}") as channel,
        httpx.AsyncClient(timeout=STEP_TIMEOUT) as http,
    ):
        yield channel, http


async def _until_ready(http: httpx.AsyncClient, origin: str) -> None:
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            try:
                if (await http.get(f"{origin}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(POLL_INTERVAL)


@pytest.fixture
async def deployment() -> AsyncIterator[Deployment]:
    async with _deployed() as stack:
        yield stack


@pytest.fixture
async def graceless_deployment() -> AsyncIterator[Deployment]:
    """A transcoder whose in-flight requests get no grace period at all."""
    async with _deployed({"SCIMTENANCY_SHUTDOWN_GRACE": "0"}) as stack:
        yield stack


@contextlib.asynccontextmanager
async def _deployed(settings: dict[str, str] | None = None) -> AsyncIterator[Deployment]:
    database = f"scimtenancy_shutdown_{uuid.uuid4().hex[:8]}"
    grpc_port, http_port = free_port(), free_port()
    env = {
        "PATH": os.environ["PATH"],
        "SCIMTENANCY_STORAGE": "mongodb",
        "SCIMTENANCY_MONGODB_URI": require_mongodb(),
        "SCIMTENANCY_MONGODB_DATABASE": database,
        "SCIMTENANCY_ADMIN_TOKEN": ADMIN_TOKEN,
        "SCIMTENANCY_GRPC_PORT": str(grpc_port),
        "SCIMTENANCY_HTTP_PORT": str(http_port),
        "SCIMTENANCY_GRPC_TARGET": f"127.0.0.1:{grpc_port}",
        "SCIMTENANCY_LOG_FORMAT": "text",
        **(settings or {}),
    }
    server = await Service.start("scimtenancy-server", env)
    transcoder = await Service.start("scimtenancy-transcoder", env)
    stack = Deployment(env, grpc_port, http_port, server, transcoder)
    try:
        await server.logged("listening on")
        async with httpx.AsyncClient() as http:
            await _until_ready(http, f"http://127.0.0.1:{http_port}")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
            auth = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
            tenant = f"drain-{uuid.uuid4().hex[:8]}"
            await admin.CreateTenant(admin_pb2.CreateTenantRequest(tenant_id=tenant), metadata=auth)
            issued = await admin.IssueApiKey(
                admin_pb2.IssueApiKeyRequest(tenant_id=tenant), metadata=auth
            )
        stack.api_key = issued.api_key
        stack.base_url = f"http://127.0.0.1:{http_port}/tenants/{tenant}/scim/v2"
        yield stack
    finally:
        for service in (stack.transcoder, stack.server):
            service.terminate()
            await service.exit_status()
        client = connect(require_mongodb())
        await client.drop_database(database)
        client.close()


def bulk_body(names: list[str]) -> dict[str, Any]:
    return {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": f"b{i}", "data": user_body(name)}
            for i, name in enumerate(names)
        ],
    }


def acknowledged(response: httpx.Response) -> dict[str, str]:
    """User id -> userName of every create the response acknowledges; other answers must be
    a clean SCIM 503."""
    if response.status_code == 503:
        assert response.json()["schemas"] == [SCIM_ERROR]
        assert response.json()["status"] == "503"
        return {}
    if response.status_code == 201:
        return {response.json()["id"]: response.json()["userName"]}
    assert response.status_code == 200, response.text
    request = orjson.loads(response.request.content)
    created = {}
    for sent, result in zip(request["Operations"], response.json()["Operations"], strict=True):
        assert result["status"] == "201", result
        created[result["location"].rsplit("/", 1)[1]] = sent["data"]["userName"]
    return created


async def until_stored(channel: grpc.aio.Channel, api_key: str, name_prefix: str, n: int) -> None:
    """Waits until `n` users named `name_prefix...` are stored: their requests are being
    served, not merely sent."""
    resources = resources_pb2_grpc.ResourceServiceStub(channel)
    request = resources_pb2.ListResourcesRequest(
        resource_type="User", filter=f'userName sw "{name_prefix}"', count=0
    )
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            reply = await resources.ListResources(
                request, metadata=(("authorization", f"Bearer {api_key}"),)
            )
            if reply.total_results >= n:
                return
            await asyncio.sleep(POLL_INTERVAL)


async def until_refused(port: int) -> None:
    """Waits until connecting to the port is refused (a connection queued while the listener
    closed is reset instead: that is not yet a refusal)."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except ConnectionRefusedError:
                return
            except ConnectionResetError:
                continue
            writer.close()
            await asyncio.sleep(POLL_INTERVAL)


class HeldCreate:
    """A create whose body the test holds back after the transcoder asked for it (`Expect:
    100-continue`): a request the transcoder has accepted and is serving, for as long as the
    test wants."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._http = h11.Connection(h11.CLIENT)
        self._body = orjson.dumps(user_body("held"))

    @classmethod
    async def send_headers(cls, deployment: Deployment) -> HeldCreate:
        held = cls(*await asyncio.open_connection("127.0.0.1", deployment.http_port))
        target = deployment.base_url.split(str(deployment.http_port), 1)[1] + "/Users"
        headers = [
            ("Host", f"127.0.0.1:{deployment.http_port}"),
            ("Authorization", deployment.headers["Authorization"]),
            ("Content-Type", "application/scim+json"),
            ("Content-Length", str(len(held._body))),
            ("Expect", "100-continue"),
        ]
        held._send(h11.Request(method="POST", target=target, headers=headers))
        continued = await held._next_event()
        assert isinstance(continued, h11.InformationalResponse), continued
        assert continued.status_code == 100
        return held

    def _send(self, event: Any) -> None:
        data = self._http.send(event)
        assert data is not None
        self._writer.write(data)

    async def _next_event(self) -> Any:
        async with asyncio.timeout(STEP_TIMEOUT):
            while (event := self._http.next_event()) is h11.NEED_DATA:
                self._http.receive_data(await self._reader.read(65536))
        return event

    async def finish(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        self._send(h11.Data(data=self._body))
        self._send(h11.EndOfMessage())
        response = await self._next_event()
        assert isinstance(response, h11.Response), response
        body = b""
        while isinstance(event := await self._next_event(), h11.Data):
            body += event.data
        self._writer.close()
        headers = {k.decode().lower(): v.decode() for k, v in response.headers}
        return response.status_code, headers, orjson.loads(body)


async def test_sigterm_drains_the_server_and_loses_no_acknowledged_write(
    deployment: Deployment,
) -> None:
    d = deployment
    async with clients(d) as (channel, http):
        # A call in flight for as long as the test holds it: the server must wait for it.
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        names = [f"bulk-{i}" for i in range(300)]
        bulk = asyncio.create_task(
            http.post(f"{d.base_url}/Bulk", json=bulk_body(names), headers=d.headers)
        )
        await until_stored(channel, d.api_key, "bulk-", 1)
        creates = [
            asyncio.create_task(
                http.post(f"{d.base_url}/Users", json=user_body(f"single-{i}"), headers=d.headers)
            )
            for i in range(BURST)
        ]
        await until_stored(channel, d.api_key, "single-", 1)  # the burst straddles the signal

        d.server.terminate()
        await d.server.logged("draining")
        await until_refused(d.grpc_port)
        assert not watch.done()  # refused while still draining
        # The watcher (a load balancer) heard it at once.
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
        responses = await asyncio.gather(bulk, *creates)
        assert await d.server.exit_status() == 0
        await d.server.logged("stopped")

        assert responses[0].status_code == 200, responses[0].text  # drained, not cut
        stored = {k: v for r in responses for k, v in acknowledged(r).items()}
        assert set(names) <= set(stored.values())
        while_down = await http.post(
            f"{d.base_url}/Users", json=user_body("while-down"), headers=d.headers
        )
        assert acknowledged(while_down) == {}  # a clean 503

        await d.start_server()  # same port, same database
        await _until_ready(http, f"http://127.0.0.1:{d.http_port}")
        for user_id, user_name in stored.items():
            found = await http.get(f"{d.base_url}/Users/{user_id}", headers=d.headers)
            assert (found.status_code, found.json()["userName"]) == (200, user_name)


async def test_sigterm_drains_the_transcoder(deployment: Deployment) -> None:
    d = deployment
    bulks = 4
    async with clients(d) as (channel, http):
        held = await HeldCreate.send_headers(d)
        requests = [
            asyncio.create_task(
                http.post(
                    f"{d.base_url}/Bulk",
                    json=bulk_body([f"first-{b}", *(f"bulk-{b}-{i}" for i in range(100))]),
                    headers=d.headers,
                )
            )
            for b in range(bulks)
        ]
        requests += [
            asyncio.create_task(
                http.post(f"{d.base_url}/Users", json=user_body(f"single-{i}"), headers=d.headers)
            )
            for i in range(BURST)
        ]
        await until_stored(channel, d.api_key, "first-", bulks)
        await until_stored(channel, d.api_key, "single-", BURST)

        d.transcoder.terminate()
        await d.transcoder.logged("draining")
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", d.http_port)
        status, headers, created = await held.finish()
        assert (status, headers.get("connection")) == (201, "close")
        responses = await asyncio.gather(*requests)
        assert [r.status_code for r in responses] == [200] * bulks + [201] * BURST
        assert await d.transcoder.exit_status() == 0
        await d.transcoder.logged("stopped")

        stored = {k: v for r in responses for k, v in acknowledged(r).items()}
        stored[created["id"]] = "held"
        assert len(stored) == bulks * 101 + BURST + 1
        resources = resources_pb2_grpc.ResourceServiceStub(channel)
        for user_id, user_name in stored.items():
            found = await resources.GetResource(
                resources_pb2.GetResourceRequest(resource_type="User", id=user_id),
                metadata=(("authorization", f"Bearer {d.api_key}"),),
            )
            assert orjson.loads(found.resource.json)["userName"] == user_name


async def test_requests_past_the_grace_period_get_a_scim_503_saying_what_is_known(
    graceless_deployment: Deployment,
) -> None:
    d = graceless_deployment
    async with clients(d) as (channel, http):
        held = await HeldCreate.send_headers(d)  # no change sent: its body never came
        names = [f"cut-{i}" for i in range(1000)]  # seconds of creates on FerretDB
        bulk = asyncio.create_task(
            http.post(f"{d.base_url}/Bulk", json=bulk_body(names), headers=d.headers)
        )
        await until_stored(channel, d.api_key, "cut-", 1)  # the server is at work on it

        d.transcoder.terminate()
        await d.transcoder.logged("Cancel 2 running task(s)")  # uvicorn's: no grace left
        status, headers, answer = await held.finish()
        cut = await bulk
        assert await d.transcoder.exit_status() == 0

    assert (status, answer["schemas"], answer["status"]) == (503, [SCIM_ERROR], "503")
    assert answer["detail"] == NOT_SERVED
    assert headers.get("x-request-id")
    assert (cut.status_code, cut.json()["detail"]) == (503, OUTCOME_UNKNOWN), cut.text
    logged = "".join(d.transcoder.lines)
    assert "Traceback" not in logged
    assert "Exception in ASGI application" not in logged
    assert logged.count("cut short by the end of the shutdown grace period") == 2
