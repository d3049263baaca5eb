"""How both processes of `scimtenancy-dev` run: as any of ours, but with quiet, readable log
lines on a terminal unless the settings ask for others."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from scimtenancy_common.process import run_process
from scimtenancy_common.settings import Settings
from scimtenancy_common.telemetry import Telemetry

SERVICE_NAME = "scimtenancy-dev"  # both processes: one service to whoever collects telemetry


def run_quietly(
    settings: Settings, entry: Callable[[Telemetry], Coroutine[Any, Any, None]]
) -> None:
    run_process(
        SERVICE_NAME,
        settings,
        entry,
        log_level=None if "log_level" in settings.model_fields_set else "warning",
        log_format=None if "log_format" in settings.model_fields_set else "text",
    )
