"""What alerts read about the tenants file: reloads by outcome, and whether the last one
applied (`scim_tenant_config_reloads_total`, `scim_tenant_config_last_reload_ok`)."""

from __future__ import annotations

from enum import StrEnum

from opentelemetry import metrics


class Outcome(StrEnum):
    APPLIED = "applied"  # the new version is the running configuration
    REJECTED = "rejected"  # invalid: nothing applied, the previous version still runs
    FAILED = "failed"  # valid, but applying it failed part way (the log says how far)


_meter = metrics.get_meter("scimtenancy_server")
_reloads = _meter.create_counter(
    "scim.tenant_config.reloads",
    unit="{reload}",
    description="reloads of the tenants file (at start too), by outcome",
)
_last_ok = _meter.create_gauge(
    "scim.tenant_config.last_reload_ok",
    unit="1",
    description="1 while the tenants file's last reload applied, 0 after a rejected or failed one",
)


def count_reload(outcome: Outcome) -> None:
    _reloads.add(1, {"outcome": outcome.value})
    _last_ok.set(int(outcome is Outcome.APPLIED))
