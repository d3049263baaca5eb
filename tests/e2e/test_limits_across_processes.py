"""Resource limits hold across two server processes sharing one database: with a limit of 10
and 14 concurrent creates spread over both, exactly 10 succeed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import orjson
import pytest
from e2e.stack import ADMIN_TOKEN
from helpers import require_mongodb, unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_server.storage.mongo import connect

SERVER = Path(sys.executable).parent / "scimtenancy-server"
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def start_server(database: str) -> tuple[subprocess.Popen[str], int]:
    env = {
        **os.environ,
        "SCIMTENANCY_STORAGE": "mongodb",
        "SCIMTENANCY_MONGODB_URI": require_mongodb(),
        "SCIMTENANCY_MONGODB_DATABASE": database,
        "SCIMTENANCY_GRPC_PORT": "0",
        "SCIMTENANCY_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    process = subprocess.Popen([str(SERVER)], env=env, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = LISTENING.search(line)
            if found:
                return process, int(found.group(1))
    finally:
        watchdog.cancel()
    raise AssertionError("the server did not start")


@pytest.fixture
def servers() -> Iterator[list[int]]:
    database = f"scimtenancy_two_{uuid.uuid4().hex[:8]}"
    started = [start_server(database) for _ in range(2)]
    try:
        yield [port for _, port in started]
    finally:
        for process, _ in started:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            if process.stderr is not None:
                process.stderr.close()
        asyncio.run(_drop(database))


async def _drop(database: str) -> None:
    client = connect(require_mongodb())
    await client.drop_database(database)
    client.close()


@pytest.fixture
async def channels(servers: list[int]) -> AsyncIterator[list[grpc.aio.Channel]]:
    opened = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for port in servers]
    try:
        yield opened
    finally:
        for channel in opened:
            await channel.close()


async def test_limit_is_exact_across_two_processes(channels: list[grpc.aio.Channel]) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channels[0])
    auth = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    tenant_id = unique_id()
    await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(
            tenant_id=tenant_id,
            limits=admin_pb2.Limits(max_users=10),
            isolation_level=admin_pb2.ISOLATION_LEVEL_STRICT,
        ),
        metadata=auth,
    )
    key = await admin.IssueApiKey(admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id), metadata=auth)
    as_tenant = (("authorization", f"Bearer {key.api_key}"),)
    stubs = [resources_pb2_grpc.ResourceServiceStub(c) for c in channels]

    async def create(index: int) -> str:
        request = resources_pb2.CreateResourceRequest(
            resource_type="Users", json=orjson.dumps(user_body(f"user{index}"))
        )
        try:
            await stubs[index % 2].CreateResource(request, metadata=as_tenant)
        except grpc.aio.AioRpcError as error:
            return f"{error.code().name}: {error.details()}"
        return "created"

    outcomes = await asyncio.gather(*(create(i) for i in range(14)))
    assert outcomes.count("created") == 10
    assert set(outcomes) - {"created"} == {
        "PERMISSION_DENIED: the tenant's limit max_users=10 is reached"
    }
    listed = await stubs[1].ListResources(
        resources_pb2.ListResourcesRequest(resource_type="Users", count=0), metadata=as_tenant
    )
    assert listed.total_results == 10
