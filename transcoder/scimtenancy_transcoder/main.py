"""`scimtenancy-transcoder`: the SCIM-over-HTTP front of a tenancy server."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator

import uvicorn

from scimtenancy_common.grpc_tls import channel_security
from scimtenancy_common.process import run_process
from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_transcoder.app import create_app
from scimtenancy_transcoder.http_protocol import TurnWritesProtocol
from scimtenancy_transcoder.openapi_components import PublishedLimits
from scimtenancy_transcoder.rpc_client import ResourceClient, target_problems
from scimtenancy_transcoder.strategies import UrlSettingsError, strategy_for

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn that says when it drains, and then lets the process end normally: uvicorn
    re-raises the SIGTERM it caught once stopped, which would kill the process (status -15)
    before the gRPC channel and the telemetry are closed."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # refuse new connections before saying so
        logger.info(
            "draining: new connections refused, in-flight requests get up to %s s",
            self.config.timeout_graceful_shutdown,
        )
        await super().shutdown(sockets)


def build_server(settings: Settings, client: ResourceClient) -> uvicorn.Server:
    limits = PublishedLimits(settings.max_string_length, settings.max_values)
    app = create_app(client, strategy_for(settings), settings.max_body_bytes, limits)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        http=TurnWritesProtocol,  # uvicorn's httptools protocol, one write per response
        ws="none",  # no route takes a WebSocket
        log_config=None,  # the process's own logging (JSON or text) takes uvicorn's lines too
        access_log=False,  # one access line per request comes from RequestIdMiddleware
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace,
    )
    return DrainingServer(config)


async def serve(settings: Settings) -> None:
    client = ResourceClient(
        settings.grpc_target,
        settings.rpc_timeout,
        channel_security(settings),
        settings.bulk_rpc_timeout,
    )
    try:
        await build_server(settings, client).serve()
    finally:
        await client.close()
    logger.info("stopped")


def load_transcoder_settings(argv: list[str] | None = None) -> Settings:
    """`load_settings`, with the URL settings checked too: a bad one stops the process the
    same way (exit status 2, one line per bad value)."""
    settings = load_settings(argv)
    problems = target_problems(settings)
    try:
        strategy_for(settings)
    except UrlSettingsError as error:
        problems += error.problems
    if problems:
        print("invalid settings:", *problems, sep="\n  ", file=sys.stderr)
        raise SystemExit(2)
    return settings


def main(argv: list[str] | None = None) -> None:
    settings = load_transcoder_settings(argv)
    logger.info(
        "SCIM transcoder on http://%s:%d (%s strategy, URLs rendered at %s) -> gRPC %s",
        settings.http_host,
        settings.http_port,
        settings.url_strategy,
        settings.public_url or "the request's Host if trusted",
        settings.grpc_target,
    )
    run_process("scimtenancy-transcoder", settings, lambda _telemetry: serve(settings))
