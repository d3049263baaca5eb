"""`scimtenancy-transcoder`: the SCIM-over-HTTP front of a tenancy server."""

from __future__ import annotations

import logging

import uvicorn
import uvloop

from scimtenancy_common.grpc_tls import channel_security
from scimtenancy_common.logs import configure_logging
from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_common.telemetry import start_process_telemetry
from scimtenancy_transcoder.app import create_app
from scimtenancy_transcoder.rpc_client import ResourceClient
from scimtenancy_transcoder.strategies import strategy_for


def build_server(settings: Settings, client: ResourceClient) -> uvicorn.Server:
    app = create_app(client, strategy_for(settings), settings.max_body_bytes)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # the process's own logging (JSON or text) takes uvicorn's lines too
        access_log=False,  # one access line per request comes from RequestIdMiddleware
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace,
    )
    return uvicorn.Server(config)


async def serve(settings: Settings) -> None:
    client = ResourceClient(settings.grpc_target, settings.rpc_timeout, channel_security(settings))
    try:
        await build_server(settings, client).serve()
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(argv)
    configure_logging(settings.log_level, settings.log_format)
    telemetry = start_process_telemetry(
        "scimtenancy-transcoder", settings.metrics_host, settings.metrics_port
    )
    logging.getLogger(__name__).info(
        "SCIM transcoder on http://%s:%d (%s strategy) -> gRPC %s",
        settings.http_host,
        settings.http_port,
        settings.url_strategy,
        settings.grpc_target,
    )
    try:
        uvloop.run(serve(settings))
    finally:
        telemetry.shutdown()
