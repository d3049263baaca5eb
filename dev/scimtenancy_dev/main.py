"""`scimtenancy-dev`: the transcoder in front of a gRPC server on embedded storage, with a
development tenant ready to use. For trying the service, not for production.

The server runs in a process of its own that this command starts and stops
(`scimtenancy_dev.server_process`), so that on two cores the two sides of the hop do not
share one interpreter lock: the command serves about 1.5 times the requests per second it did
as one process. One metrics page still shows both sides."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Coroutine
from typing import Any

from scimtenancy_common.grpc_tls import channel_security
from scimtenancy_common.settings import Settings
from scimtenancy_common.telemetry import Telemetry
from scimtenancy_dev.quiet import run_quietly
from scimtenancy_dev.server_child import ServerChild, ServerEnded, ServerPorts
from scimtenancy_dev.server_metrics import ServerMetrics
from scimtenancy_transcoder.main import build_server, load_transcoder_settings
from scimtenancy_transcoder.rpc_client import ResourceClient
from scimtenancy_transcoder.strategies import Origin, strategy_for

WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")  # noqa: S104 (names, not binds)
logger = logging.getLogger("scimtenancy_dev")


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        print(f"cannot listen for HTTP on {host}:{port}: {error.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
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


async def _serve_http(
    settings: Settings, server: ServerChild, ports: ServerPorts, stop: asyncio.Event
) -> bool:
    """Serves SCIM until asked to stop; False if it stopped because the server process ended."""
    client = ResourceClient(
        f"127.0.0.1:{ports.grpc}",
        settings.rpc_timeout,
        channel_security(settings),
        settings.bulk_rpc_timeout,
    )
    http = build_server(settings, client)
    sock = _bind(settings.http_host, settings.http_port)
    print(banner(settings, sock.getsockname()[1], ports.grpc), flush=True)
    loop = asyncio.get_running_loop()
    asked = loop.create_task(stop.wait())
    ended = loop.create_task(server.ended())
    for task in (asked, ended):
        task.add_done_callback(lambda _: http.handle_exit(signal.SIGTERM, None))
    try:
        await http.serve(sockets=[sock])
    finally:
        asked.cancel()
        await client.close()
        with contextlib.suppress(OSError):
            sock.close()
    if ended.done() and not ended.cancelled() and not stop.is_set():
        logger.error("the tenancy server process ended (status %s): stopping", ended.result())
        return False
    ended.cancel()
    return True


async def run(settings: Settings, argv: list[str], telemetry: Telemetry) -> None:
    """The server process first, then SCIM over HTTP in front of it; on a signal, HTTP drains
    first and the server after it."""
    settings = _trusting_local_host(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await ServerChild.start(argv)
    failed = False
    try:
        ports = await _first(server.ready(), stop)
        if ports is not None:
            if ports.metrics:
                telemetry.registry.register(ServerMetrics(ports.metrics))
            failed = not await _serve_http(settings, server, ports, stop)
    except ServerEnded as ended:
        if ended.status > 0:  # it said why on the shared standard error
            raise SystemExit(ended.status) from None
        logger.error("%s", ended)
        raise SystemExit(1) from None
    finally:
        status = await server.stop(settings.shutdown_grace)
    if status and not failed:
        logger.error("the tenancy server process stopped with status %s", status)
    if failed or status:
        raise SystemExit(1)


async def _first(
    ready: Coroutine[Any, Any, ServerPorts], stop: asyncio.Event
) -> ServerPorts | None:
    """The server's ports, or None if a stop was asked before it was ready."""
    loop = asyncio.get_running_loop()
    starting, asked = loop.create_task(ready), loop.create_task(stop.wait())
    await asyncio.wait((starting, asked), return_when=asyncio.FIRST_COMPLETED)
    asked.cancel()
    if not starting.done():
        starting.cancel()
        return None
    return starting.result()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    settings = load_transcoder_settings(args)
    run_quietly(settings, lambda telemetry: run(settings, args, telemetry))
