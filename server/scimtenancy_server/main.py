"""`scimtenancy-server`: the gRPC tenancy server on its own."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

from scimtenancy_common.process import run_process
from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_server.bootstrap import (
    Application,
    build_application,
    build_grpc_server,
    build_tenant_config,
)
from scimtenancy_server.rpc.guards import finish_changes
from scimtenancy_server.rpc.tls import transport_security
from scimtenancy_server.services.tenant_config.reading import LoadedConfig
from scimtenancy_server.services.tenant_config.running import TenantConfigWatch
from scimtenancy_server.services.tenant_config.startup import read_or_exit
from scimtenancy_server.services.usage_gauges import usage_gauges_running

logger = logging.getLogger("scimtenancy_server")


@dataclass(frozen=True)
class Hosting:
    """What the process around the server adds: work before the first call is taken, who is
    told the bound port, which signals stop it, and what else ends it (a coroutine that
    returns when the server should stop)."""

    prepare: Callable[[Application], Awaitable[None]] | None = None
    started: Callable[[int], None] | None = None
    stop_signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
    until: Callable[[], Awaitable[None]] | None = None


async def serve(
    settings: Settings, tenants: LoadedConfig | None = None, hosting: Hosting = Hosting()
) -> None:
    app = build_application(settings)
    server, port = await _listening(app, settings)
    watch: TenantConfigWatch | None = None
    if tenants is not None:  # applied before the first call is taken
        reloader = build_tenant_config(app, settings)
        await reloader.start(tenants)
        watch = TenantConfigWatch(reloader)
    if hosting.prepare is not None:
        await hosting.prepare(app)
    await server.start()
    logger.info(
        "gRPC tenancy server listening on %s:%d (storage: %s, %s)",
        settings.grpc_host,
        port,
        settings.storage,
        transport_security(settings),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in hosting.stop_signals:
        loop.add_signal_handler(sig, stop.set)
    ended: asyncio.Task[None] | None = None
    if hosting.until is not None:
        ended = loop.create_task(_set_after(hosting.until, stop), name="server-until")
    if hosting.started is not None:
        hosting.started(port)
    if watch is not None:
        watch.start()
    async with usage_gauges_running(app.usage_gauges, settings):
        await stop.wait()
    if ended is not None:
        ended.cancel()
    if watch is not None:
        watch.stop()  # no reload starts from now on; one running may finish
    logger.info(
        "draining: new calls refused, in-flight calls get up to %s s", settings.shutdown_grace
    )
    if app.health is not None:
        await app.health.drain()  # load balancers watching health stop sending at once
    # Stop accepting, let in-flight calls finish within the grace period, then close storage.
    await server.stop(settings.shutdown_grace)
    await finish_changes(settings.shutdown_grace)  # changes whose callers stopped waiting
    if watch is not None:
        await watch.finished(settings.shutdown_grace)
    await app.close()
    logger.info("stopped")


async def _listening(app: Application, settings: Settings) -> tuple[grpc.aio.Server, int]:
    """The server on its port, or exit status 2 with one line if the port cannot be bound."""
    try:
        return await build_grpc_server(app, settings)
    except RuntimeError as error:
        if "Failed to bind" not in str(error):
            raise
    print(
        f"cannot listen for gRPC on {settings.grpc_host}:{settings.grpc_port}: "
        "the address is in use or not allowed",
        file=sys.stderr,
    )
    raise SystemExit(2)


async def _set_after(until: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    await until()
    stop.set()


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(argv)
    tenants = read_or_exit(settings)  # before any port (metrics included) is bound
    run_process("scimtenancy-server", settings, lambda _telemetry: serve(settings, tenants))
