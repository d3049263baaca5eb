"""`scimtenancy-dev`: the gRPC server and the transcoder in one process, on embedded storage,
with a development tenant ready to use. For trying the service, not for production."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys

from scimtenancy_common.grpc_tls import channel_security
from scimtenancy_common.process import run_process
from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import (
    Application,
    build_application,
    build_grpc_server,
    build_tenant_config,
)
from scimtenancy_server.services.tenant_config.reading import LoadedConfig
from scimtenancy_server.services.tenant_config.running import TenantConfigWatch
from scimtenancy_server.services.tenant_config.startup import read_or_exit
from scimtenancy_server.services.usage_gauges import usage_gauges_running
from scimtenancy_transcoder.main import build_server, load_transcoder_settings
from scimtenancy_transcoder.rpc_client import ResourceClient
from scimtenancy_transcoder.strategies import Origin, strategy_for

WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")  # noqa: S104 (names, not binds)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from now on, before uvicorn starts accepting
    return sock


def _local_host(settings: Settings) -> str:
    """The host a first request names: the address bound, loopback for a wildcard bind."""
    host = settings.http_host
    if host in WILDCARD_ADDRESSES:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _trusting_local_host(settings: Settings) -> Settings:
    """The banner's host is served even when it is not among the trusted hosts."""
    trusted = [*settings.trusted_hosts, _local_host(settings)]
    return settings.model_copy(update={"trusted_hosts": trusted})


def _base_url(settings: Settings, port: int) -> str:
    strategy = strategy_for(settings)
    origin = strategy.origins.public or Origin("http", _local_host(settings), port)
    return strategy.render(origin, settings.dev_tenant)


def banner(settings: Settings, http_port: int, grpc_port: int) -> str:
    base = _base_url(settings, http_port)
    header = (
        f" -H 'X-Tenant-ID: {settings.dev_tenant}'" if settings.url_strategy == "header" else ""
    )
    named = f"{settings.dev_tenant}.{settings.base_domain}"
    resolve = (
        f" --resolve {named}:{http_port}:{_local_host(settings)}"
        if settings.url_strategy == "subdomain" and not settings.public_url
        else ""
    )
    files = ", ".join(str(p) for p in settings.tenants_file)
    watched = [f"tenants file   {files} (applied; reloaded when it changes)"] if files else []
    return "\n".join(
        [
            f"SCIM base URL  {base}",
            f"gRPC server    {settings.grpc_host}:{grpc_port} (storage: {settings.storage})",
            f"dev tenant     {settings.dev_tenant}   API key: {settings.dev_api_key}",
            *watched,
            "first request:",
            f"  curl -s{resolve} -X POST {base}/Users{header} \\",
            f"    -H 'Authorization: Bearer {settings.dev_api_key}' \\",
            "    -H 'Content-Type: application/scim+json' \\",
            '    -d \'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
            '"userName":"bjensen"}\'',
        ]
    )


async def _dev_tenant(app: Application, settings: Settings) -> None:
    """The development tenant with its key; a tenants file may describe it (then it is made
    as the file says), else it is made here."""
    if not await app.tenant_store.get(settings.dev_tenant):
        await app.administration.create_tenant(settings.dev_tenant, "Development tenant", None)
    await app.administration.register_api_key(settings.dev_tenant, settings.dev_api_key)


async def run(settings: Settings, tenants: LoadedConfig | None = None) -> None:
    settings = _trusting_local_host(settings)
    app = build_application(settings)
    grpc_server, grpc_port = await build_grpc_server(app, settings)
    watch: TenantConfigWatch | None = None
    if tenants is not None:
        reloader = build_tenant_config(app, settings)
        await reloader.start(tenants)
        watch = TenantConfigWatch(reloader)
    await _dev_tenant(app, settings)
    await grpc_server.start()
    client = ResourceClient(
        f"127.0.0.1:{grpc_port}",
        settings.rpc_timeout,
        channel_security(settings),
        settings.bulk_rpc_timeout,
    )
    http = build_server(settings, client)
    sock = _bind(settings.http_host, settings.http_port)
    print(banner(settings, sock.getsockname()[1], grpc_port), flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, http.handle_exit, sig, None)
    if watch is not None:
        watch.start()
    try:
        async with usage_gauges_running(app.usage_gauges, settings):
            await http.serve(sockets=[sock])
    finally:
        if watch is not None:
            watch.stop()
        await client.close()
        await grpc_server.stop(5)
        if watch is not None:
            await watch.finished(5)
        await app.close()
        with contextlib.suppress(OSError):
            sock.close()


def _dev_tenant_kept(settings: Settings, tenants: LoadedConfig | None) -> None:
    """Pruning would delete the development tenant unless the file describes it."""
    if tenants is None or not settings.tenants_prune:
        return
    if tenants.config.tenant(settings.dev_tenant) is None:
        print(
            "invalid settings:\n  SCIMTENANCY_TENANTS_PRUNE would delete the development "
            f"tenant {settings.dev_tenant!r}: describe it in the tenants file, or do not prune",
            file=sys.stderr,
        )
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    settings = load_transcoder_settings(argv)
    tenants = read_or_exit(settings)
    _dev_tenant_kept(settings, tenants)
    # Quiet, readable lines on a terminal unless the variables ask for others.
    run_process(
        "scimtenancy-dev",
        settings,
        lambda: run(settings, tenants),
        log_level=None if "log_level" in settings.model_fields_set else "warning",
        log_format=None if "log_format" in settings.model_fields_set else "text",
    )
