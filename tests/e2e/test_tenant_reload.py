"""A server started with a tenants file applies it, and applies each new version while it
serves, without a restart: a tenant added, a limit lowered and enforced on the next create,
an invalid version rejected with the old one still enforced (counted, and NOT_SERVING for
`scimtenancy.tenant_config` while the overall status stays SERVING), SIGHUP, and an invalid
file at start that stops the process before it binds anything. Replicas on one FerretDB that
watch the file converge; one that does not sees the change when its cache entry expires. A
change to one tenant leaves every other tenant's data, limits and discovery as they were."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from e2e.dev_command import DEV_COMMAND
from e2e.stack import ADMIN_TOKEN
from e2e.tenants_file_servers import (
    ADMIN,
    POLL_SECONDS,
    STEP_TIMEOUT,
    ConfiguredServer,
    Tenant,
    configured,
    launch_memory_server,
    memory_server,
    server_environment,
    tenant_entry,
    tenants_yaml,
    write_atomically,
)
from e2e.two_servers import server_processes
from helpers import free_port

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy_server.rpc.health import NOT_SERVING, SERVING

WITHOUT_LIST = "    permissions: [scim:create, scim:read, scim:update, scim:delete]\n"


@pytest.fixture
def tenants_file(tmp_path: Path) -> Path:
    file = tmp_path / "tenants.yaml"
    file.write_text(tenants_yaml(tenant_entry("acme", 5), tenant_entry("globex", 3)))
    return file


@pytest.fixture
async def server(tenants_file: Path) -> AsyncIterator[ConfiguredServer]:
    async with memory_server(tenants_file) as started:
        assert await started.reloads("applied") == 1  # the file as it was at start
        yield started


async def _users(tenant: Tenant) -> list[str]:
    listed = await tenant.request("GET", "/Users?attributes=userName&count=100")
    assert listed.status_code == 200, listed.text
    return sorted(u["userName"] for u in listed.json().get("Resources", []))


async def test_a_tenant_added_to_the_file_is_served_without_a_restart(
    server: ConfiguredServer, tenants_file: Path
) -> None:
    with pytest.raises(Exception, match="not found"):
        await server.get_tenant("initech")
    write_atomically(
        tenants_file,
        tenants_yaml(
            tenant_entry("acme", 5), tenant_entry("globex", 3), tenant_entry("initech", 2)
        ),
    )
    await server.until_reloads("applied", 2)
    assert (await server.get_tenant("initech")).limits.max_users == 2
    initech = await server.tenant("initech")
    created = await initech.create_user("first.user")
    assert created.status_code == 201, created.text
    assert await server.health() == SERVING


async def test_a_lowered_limit_is_enforced_on_the_next_create(
    server: ConfiguredServer, tenants_file: Path
) -> None:
    acme = await server.tenant("acme")
    for name in ("ann", "bob"):
        assert (await acme.create_user(name)).status_code == 201
    write_atomically(tenants_file, tenants_yaml(tenant_entry("acme", 2), tenant_entry("globex", 3)))
    await server.until_reloads("applied", 2)
    refused = await acme.create_user("carol")
    assert refused.status_code == 403, refused.text
    assert "limit" in refused.json()["detail"]
    assert await _users(acme) == ["ann", "bob"]


async def test_an_invalid_file_is_rejected_and_the_old_one_still_enforced(
    server: ConfiguredServer, tenants_file: Path
) -> None:
    acme = await server.tenant("acme")
    # Valid for acme (a limit of 1), invalid for globex: nothing of it is applied.
    write_atomically(
        tenants_file,
        tenants_yaml(tenant_entry("acme", 1), tenant_entry("globex", 3, "    colour: blue\n")),
    )
    await server.until_reloads("rejected", 1)
    assert await server.reloads("applied") == 1
    assert await server.health() == NOT_SERVING
    assert await server.health("") == SERVING  # the service itself stays in rotation
    for name in ("ann", "bob"):  # the limit of 5 still holds
        assert (await acme.create_user(name)).status_code == 201
    assert (await server.get_tenant("acme")).limits.max_users == 5
    write_atomically(tenants_file, tenants_yaml(tenant_entry("acme", 2), tenant_entry("globex", 3)))
    await server.until_reloads("applied", 2)
    assert await server.health() == SERVING
    assert (await acme.create_user("carol")).status_code == 403


async def test_sighup_reloads_the_file(server: ConfiguredServer, tenants_file: Path) -> None:
    server.process.process.send_signal(signal.SIGHUP)  # the file has not changed: forced
    await server.until_reloads("applied", 2)
    assert server.process.process.poll() is None
    assert (await server.get_tenant("acme")).limits.max_users == 5


def test_an_invalid_file_at_start_stops_the_server_before_it_binds(tmp_path: Path) -> None:
    file = tmp_path / "tenants.yaml"
    file.write_text(tenants_yaml(tenant_entry("acme", 5), tenant_entry("globex", -1)))
    grpc_port, metrics_port = free_port(), free_port()
    env = server_environment(file, metrics_port, SCIMTENANCY_GRPC_PORT=str(grpc_port))
    process = launch_memory_server(env)
    _, stderr = process.communicate(timeout=STEP_TIMEOUT)
    assert process.returncode == 2, stderr
    assert f"{file}:6: tenants[1].limits.users:" in stderr
    assert "listening" not in stderr
    assert "Prometheus" not in stderr  # not even the metrics port was bound
    assert "Traceback" not in stderr


async def _discovery(tenant: Tenant) -> list[Any]:
    documents = []
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        answer = await tenant.request("GET", path)
        assert answer.status_code == 200, answer.text
        documents.append(answer.json())
    return documents


async def test_a_reload_changing_one_tenant_leaves_the_others_as_they_were(
    server: ConfiguredServer, tenants_file: Path
) -> None:
    acme, globex = await server.tenant("acme"), await server.tenant("globex")
    for name in ("gina", "gus"):
        assert (await globex.create_user(name)).status_code == 201
    assert (await acme.create_user("ann")).status_code == 201
    globex_before = await server.get_tenant("globex")
    discovery_before = await _discovery(globex)
    changed_acme = tenant_entry("acme", 1, "    display_name: Acme Renamed\n" + WITHOUT_LIST)
    write_atomically(tenants_file, tenants_yaml(changed_acme, tenant_entry("globex", 3)))
    await server.until_reloads("applied", 2)
    assert (await server.get_tenant("acme")).display_name == "Acme Renamed"
    assert (await acme.request("GET", "/Users")).status_code == 403  # scim:list withdrawn
    assert await server.get_tenant("globex") == globex_before
    assert await _discovery(globex) == discovery_before
    assert await _users(globex) == ["gina", "gus"]
    assert (await globex.create_user("gwen")).status_code == 201  # its limit of 3 holds
    assert (await globex.create_user("gil")).status_code == 403


async def test_replicas_watching_the_file_converge_and_others_follow_their_cache(
    tmp_path: Path,
) -> None:
    """Three replicas on one FerretDB: two watch the file, one was started without it."""
    file = tmp_path / "tenants.yaml"
    file.write_text(tenants_yaml(tenant_entry("acme", 5)))
    ports = [free_port() for _ in range(3)]
    ttl = "3"
    env = [server_environment(file, p, SCIMTENANCY_TENANT_CACHE_TTL=ttl) for p in ports[:2]]
    env.append({"SCIMTENANCY_METRICS_PORT": str(ports[2]), "SCIMTENANCY_TENANT_CACHE_TTL": ttl})
    async with (
        server_processes(3, env) as processes,
        httpx.AsyncClient(timeout=STEP_TIMEOUT) as http,
        configured(processes[0], ports[0], http) as first,
        configured(processes[1], ports[1], http) as second,
        configured(processes[2], ports[2], http) as unwatched,
    ):
        watching = (first, second)
        for replica in watching:
            await replica.until_reloads("applied", 1)
        key = (await first.tenant("acme")).api_key
        clients = [await r.tenant("acme", key) for r in (first, second, unwatched)]
        for client, name in zip(clients, ("ann", "bob", "cid"), strict=True):
            assert (await client.create_user(name)).status_code == 201  # caches warmed
        changed = time.monotonic()
        write_atomically(file, tenants_yaml(tenant_entry("acme", 3, WITHOUT_LIST)))
        for replica in watching:
            await replica.until_reloads("applied", 2)
        converged = time.monotonic() - changed
        for client in clients[:2]:
            assert (await client.request("GET", "/Users")).status_code == 403
        await _until_refused(clients[2])
        followed = time.monotonic() - changed
        print(
            f"\nwatching replicas converged in {converged:.2f} s; the one without the file "
            f"followed in {followed:.2f} s (TENANT_CACHE_TTL {ttl} s)"
        )
        for client in clients:
            assert (await client.create_user("dee")).status_code == 403  # 3 held, limit 3
        stored = await unwatched.admin.GetTenant(
            admin_pb2.GetTenantRequest(tenant_id="acme"), metadata=ADMIN
        )
        assert stored.tenant.limits.max_users == 3


async def _until_refused(client: Tenant) -> None:
    """Until listing the tenant's Users is refused: its permission was withdrawn."""
    started = time.monotonic()
    while (await client.request("GET", "/Users?count=1")).status_code != 403:
        assert time.monotonic() - started < STEP_TIMEOUT, "the change never arrived"
        await asyncio.sleep(POLL_SECONDS)


def _dev_command(file: Path, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(DEV_COMMAND), "--tenants-file", str(file), "--admin-token", ADMIN_TOKEN, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_the_run_command_serves_the_file_beside_its_development_tenant(
    tenants_file: Path,
) -> None:
    http_port, grpc_port = free_port(), free_port()
    process = _dev_command(
        tenants_file, "--http-port", str(http_port), "--grpc-port", str(grpc_port)
    )
    try:
        async with (
            httpx.AsyncClient(timeout=STEP_TIMEOUT) as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
        ):
            admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
            dev = Tenant(
                "dev", "dev-api-key", f"http://127.0.0.1:{http_port}/tenants/dev/scim/v2", http
            )
            started = time.monotonic()
            while True:  # until it serves
                try:
                    created = await dev.create_user("dev.user")
                    break
                except httpx.TransportError:
                    assert process.poll() is None
                    assert time.monotonic() - started < STEP_TIMEOUT
                    await asyncio.sleep(POLL_SECONDS)
            assert created.status_code == 201, created.text
            write_atomically(tenants_file, tenants_yaml(tenant_entry("acme", 1)))
            request = admin_pb2.GetTenantRequest(tenant_id="acme")
            while (await admin.GetTenant(request, metadata=ADMIN)).tenant.limits.max_users != 1:
                assert time.monotonic() - started < STEP_TIMEOUT, "the change was not applied"
                await asyncio.sleep(POLL_SECONDS)
            assert (await dev.create_user("dev.other")).status_code == 201  # dev is kept
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=STEP_TIMEOUT)
    assert process.returncode == 0
    assert f"tenants file   {tenants_file}" in out


def test_the_run_command_will_not_prune_its_development_tenant(tenants_file: Path) -> None:
    process = _dev_command(tenants_file, "--tenants-prune", "--http-port", str(free_port()))
    _, stderr = process.communicate(timeout=STEP_TIMEOUT)
    assert process.returncode == 2
    assert "would delete the development tenant 'dev'" in stderr
