"""`scimtenancy-server`: the gRPC tenancy server on its own."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvloop

from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_server.bootstrap import build_application, build_grpc_server
from scimtenancy_server.rpc.tls import transport_security

logger = logging.getLogger("scimtenancy_server")

GRACE_SECONDS = 10.0


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
    await stop.wait()
    # Stop accepting, let in-flight calls finish within the grace period, then close storage.
    await server.stop(GRACE_SECONDS)
    await app.close()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings(argv)
    uvloop.run(serve(settings))
