"""The tenancy-server process of `scimtenancy-dev`, started by it (`python -m
scimtenancy_dev.server_process --report-fd N ARGS...`, ARGS being the command's own).

It is the same server as `scimtenancy-server`, with the development tenant made before the
first call. It tells the command on fd N, in one line, the gRPC port it bound and the loopback
port of its metrics page (0 if the command serves none), and it stops when its standard input
closes: the command closes it once its HTTP side has drained, and the system closes it if the
command dies. It ignores SIGINT and SIGTERM, which a terminal's Ctrl-C or a service manager
sends to the whole process group, so that the order holds."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_common.telemetry import Telemetry, serve_metrics
from scimtenancy_dev.quiet import run_quietly
from scimtenancy_dev.server_child import REPORT_FLAG, ServerPorts, report_line
from scimtenancy_server.bootstrap import Application
from scimtenancy_server.main import Hosting, serve
from scimtenancy_server.services.tenant_config.reading import LoadedConfig
from scimtenancy_server.services.tenant_config.startup import read_or_exit


async def _dev_tenant(app: Application, settings: Settings) -> None:
    """The development tenant with its key; a tenants file may describe it (then it is made
    as the file says), else it is made here."""
    if not await app.tenant_store.get(settings.dev_tenant):
        await app.administration.create_tenant(settings.dev_tenant, "Development tenant", None)
    await app.administration.register_api_key(settings.dev_tenant, settings.dev_api_key)


async def _input_closed() -> None:
    """Returns once standard input reaches its end: the command closed it, or ended."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


def _report(fd: int, ports: ServerPorts) -> None:
    """Tells the command; one that stopped meanwhile has closed our input, which stops us."""
    try:
        os.write(fd, report_line(ports))
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


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


async def _serve(
    settings: Settings, tenants: LoadedConfig | None, report_fd: int, telemetry: Telemetry
) -> None:
    # The command's metrics page shows this process's metrics too, fetched from loopback.
    metrics_port = serve_metrics(telemetry, "127.0.0.1", 0) if settings.metrics_port else 0

    async def prepare(app: Application) -> None:
        await _dev_tenant(app, settings)

    hosting = Hosting(
        prepare=prepare,
        started=lambda grpc_port: _report(report_fd, ServerPorts(grpc_port, metrics_port)),
        stop_signals=(),
        until=_input_closed,
    )
    await serve(settings, tenants, hosting)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != REPORT_FLAG or not args[1].isdigit():
        print(f"usage: python -m scimtenancy_dev.server_process {REPORT_FLAG} N ARGS...")
        raise SystemExit(2)
    for sig in (signal.SIGINT, signal.SIGTERM):  # the command stops us, after its HTTP side
        signal.signal(sig, signal.SIG_IGN)
    report_fd, settings = int(args[1]), load_settings(args[2:])
    tenants = read_or_exit(settings)
    _dev_tenant_kept(settings, tenants)
    # The command serves the public metrics page; this process serves its own on loopback.
    private = settings.model_copy(update={"metrics_port": 0})
    run_quietly(private, lambda telemetry: _serve(settings, tenants, report_fd, telemetry))


if __name__ == "__main__":
    main()
