"""`scimtenancy-server`: the gRPC tenancy server on its own."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvloop

from scimtenancy_common.logs import configure_logging
from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_common.telemetry import exports_metrics, start_process_telemetry
from scimtenancy_server.bootstrap import build_application, build_grpc_server
from scimtenancy_server.rpc.tls import transport_security
from scimtenancy_server.services.usage_gauges import start_usage_gauges

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
    gauges = None
    if exports_metrics(settings.metrics_port):
        gauges = start_usage_gauges(app.usage_gauges, settings.metrics_refresh_seconds)
    await stop.wait()
    logger.info(
        "draining: new calls refused, in-flight calls get up to %s s", settings.shutdown_grace
    )
    # Stop accepting, let in-flight calls finish within the grace period, then close storage.
    await server.stop(settings.shutdown_grace)
    if gauges is not None:
        gauges.cancel()
    await app.close()
    logger.info("stopped")


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(argv)
    configure_logging(settings.log_level, settings.log_format)
    telemetry = start_process_telemetry(
        "scimtenancy-server", settings.metrics_host, settings.metrics_port
    )
    try:
        uvloop.run(serve(settings))
    finally:
        telemetry.shutdown()
