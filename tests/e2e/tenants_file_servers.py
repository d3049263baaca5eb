"""Real `scimtenancy-server` processes started with a tenants file, and what a test reads of
them: the reload counter on their own /metrics, the `scimtenancy.tenant_config` health
status, admin calls, and SCIM requests through a transcoder in front of each."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
from e2e.idp_tenant import IdpTenant
from e2e.stack import ADMIN_TOKEN, http_transcoder
from e2e.two_servers import SERVER, ServerProcess, _listening
from grpc_health.v1 import health_pb2, health_pb2_grpc
from helpers import free_port

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy_common.settings import Settings
from scimtenancy_server.rpc.health import TENANT_CONFIG_SERVICE

ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
STEP_TIMEOUT = 60.0  # bounds every wait, so that a hang fails the test instead of the suite
POLL_SECONDS = 0.05


def tenants_yaml(*tenants: str) -> str:
    return "version: 1\ntenants:\n" + "".join(tenants)


def tenant_entry(tenant_id: str, users: int, extra: str = "") -> str:
    return f"  - id: {tenant_id}\n    limits: {{users: {users}}}\n{extra}"


def write_atomically(file: Path, text: str) -> None:
    """As editors save: the new text in a file beside it, renamed over it."""
    staged = file.with_name(f".{file.name}.saving")
    staged.write_text(text)
    staged.replace(file)


def server_environment(file: Path, metrics_port: int, **extra: str) -> dict[str, str]:
    return {
        "SCIMTENANCY_TENANTS_FILE": str(file),
        "SCIMTENANCY_METRICS_PORT": str(metrics_port),
        "SCIMTENANCY_LOG_FORMAT": "text",
        **extra,
    }


def launch_memory_server(env: Mapping[str, str]) -> subprocess.Popen[str]:
    every = {
        **os.environ,
        "SCIMTENANCY_STORAGE": "memory",
        "SCIMTENANCY_GRPC_PORT": "0",
        "SCIMTENANCY_ADMIN_TOKEN": ADMIN_TOKEN,
        **env,
    }
    return subprocess.Popen([str(SERVER)], env=every, stderr=subprocess.PIPE, text=True)


Tenant = IdpTenant


@dataclass
class ConfiguredServer:
    process: ServerProcess
    metrics_port: int
    origin: str  # its transcoder
    channel: grpc.aio.Channel
    http: httpx.AsyncClient

    @property
    def admin(self) -> admin_pb2_grpc.TenantAdminServiceStub:
        return admin_pb2_grpc.TenantAdminServiceStub(self.channel)

    async def get_tenant(self, tenant_id: str) -> admin_pb2.Tenant:
        request = admin_pb2.GetTenantRequest(tenant_id=tenant_id)
        reply: admin_pb2.GetTenantResponse = await self.admin.GetTenant(request, metadata=ADMIN)
        return reply.tenant

    async def tenant(self, tenant_id: str, api_key: str = "") -> Tenant:
        """The tenant's client here, with a new API key unless one is given."""
        if not api_key:
            issue = admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id)
            api_key = (await self.admin.IssueApiKey(issue, metadata=ADMIN)).api_key
        return Tenant(tenant_id, api_key, f"{self.origin}/tenants/{tenant_id}/scim/v2", self.http)

    async def reloads(self, outcome: str) -> float:
        page = (await self.http.get(f"http://127.0.0.1:{self.metrics_port}/metrics")).text
        label = f'outcome="{outcome}"'
        for line in page.splitlines():
            if line.startswith("scim_tenant_config_reloads_total{") and label in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def until_reloads(self, outcome: str, count: float) -> float:
        """Seconds until this server has counted `count` reloads with `outcome`."""
        started = time.monotonic()
        while await self.reloads(outcome) < count:
            assert time.monotonic() - started < STEP_TIMEOUT, f"no {outcome} reload {count}"
            await asyncio.sleep(POLL_SECONDS)
        return time.monotonic() - started

    async def health(self, service: str = TENANT_CONFIG_SERVICE) -> int:
        stub = health_pb2_grpc.HealthStub(self.channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        status: int = reply.status
        return status


@asynccontextmanager
async def configured(
    process: ServerProcess, metrics_port: int, http: httpx.AsyncClient
) -> AsyncIterator[ConfiguredServer]:
    """A transcoder and a channel in front of a running server."""
    async with (
        http_transcoder(Settings(url_strategy="path"), process.target) as origin,
        grpc.aio.insecure_channel(process.target) as channel,
    ):
        yield ConfiguredServer(process, metrics_port, origin, channel, http)


@asynccontextmanager
async def memory_server(file: Path) -> AsyncIterator[ConfiguredServer]:
    """One server on the embedded storage, started with `file`; stopped afterwards."""
    metrics_port = free_port()
    process = _listening(launch_memory_server(server_environment(file, metrics_port)))
    try:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=STEP_TIMEOUT))
            yield await stack.enter_async_context(configured(process, metrics_port, http))
    finally:
        assert process.stop() == 0
