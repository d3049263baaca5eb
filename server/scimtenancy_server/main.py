"""`scimtenancy-server`: the gRPC tenancy server on its own."""

from __future__ import annotations

import asyncio
import logging
import signal

from scimtenancy_common.process import run_process
from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_server.bootstrap import build_application, build_grpc_server
from scimtenancy_server.rpc.interceptors import finish_changes
from scimtenancy_server.rpc.tls import transport_security
from scimtenancy_server.services.usage_gauges import usage_gauges_running

logger = logging.getLogger("scimtenancy_server")


async def serve(settings: Settings) -> None:
    app = build_application(settings)
    server, port = await build_grpc_server(app, settings)
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
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with usage_gauges_running(app.usage_gauges, settings):
        await stop.wait()
    logger.info(
        "draining: new calls refused, in-flight calls get up to %s s", settings.shutdown_grace
    )
    if app.health is not None:
        await app.health.drain()  # load balancers watching health stop sending at once
    # Stop accepting, let in-flight calls finish within the grace period, then close storage.
    await server.stop(settings.shutdown_grace)
    await finish_changes(settings.shutdown_grace)  # changes whose callers stopped waiting
    await app.close()
    logger.info("stopped")


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(argv)
    run_process("scimtenancy-server", settings, lambda: serve(settings))
