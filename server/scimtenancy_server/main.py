"""`scimtenancy-server`: the gRPC tenancy server on its own."""

from __future__ import annotations

import asyncio
import logging
import signal

from scimtenancy_common.process import run_process
from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_server.bootstrap import build_application, build_grpc_server, build_tenant_config
from scimtenancy_server.rpc.guards import finish_changes
from scimtenancy_server.rpc.tls import transport_security
from scimtenancy_server.services.tenant_config.reading import LoadedConfig
from scimtenancy_server.services.tenant_config.running import TenantConfigWatch
from scimtenancy_server.services.tenant_config.startup import read_or_exit
from scimtenancy_server.services.usage_gauges import usage_gauges_running

logger = logging.getLogger("scimtenancy_server")


async def serve(settings: Settings, tenants: LoadedConfig | None = None) -> None:
    app = build_application(settings)
    server, port = await build_grpc_server(app, settings)
    watch: TenantConfigWatch | None = None
    if tenants is not None:  # applied before the first call is taken
        reloader = build_tenant_config(app, settings)
        await reloader.start(tenants)
        watch = TenantConfigWatch(reloader)
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
    if watch is not None:
        watch.start()
    async with usage_gauges_running(app.usage_gauges, settings):
        await stop.wait()
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


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(argv)
    tenants = read_or_exit(settings)  # before any port (metrics included) is bound
    run_process("scimtenancy-server", settings, lambda: serve(settings, tenants))
