"""How each entry point runs: its logging, its telemetry, then its main coroutine on uvloop."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from scimtenancy_common.logs import LogFormat, configure_logging
from scimtenancy_common.settings import Settings
from scimtenancy_common.telemetry import (
    MetricsListenError,
    Telemetry,
    TelemetryConfigError,
    start_telemetry,
)


def run_process(
    service_name: str,
    settings: Settings,
    entry: Callable[[Telemetry], Coroutine[Any, Any, None]],
    log_level: str | None = None,
    log_format: LogFormat | None = None,
) -> None:
    """Runs `entry(telemetry)` until it returns; telemetry is flushed and stopped afterwards."""
    configure_logging(log_level or settings.log_level, log_format or settings.log_format)
    try:
        telemetry = start_telemetry(service_name, settings.metrics_host, settings.metrics_port)
    except TelemetryConfigError as error:  # a bad standard OTel variable
        print(f"invalid settings:\n  {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except MetricsListenError as error:  # the metrics port is taken, or the host is not ours
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    try:
        uvloop.run(entry(telemetry))
    finally:
        telemetry.shutdown()
