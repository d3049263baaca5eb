"""Gauges of what tenants hold: resources per tenant and type, and the share of each limit in
use, recounted every `metrics_refresh_seconds` (a scrape must not wait for the database);
plus the tenant cache's hits and misses. Without tenant labels the counts are summed per type
and utilisation is the highest of any tenant, which is what an alert needs.

Also what the alerts on the process itself read: whether the storage answered the ping made
before each recount (a recount is skipped while it does not), and how full the audit log's
retry backlog is against its capacity (past it, changes are refused with 503)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from scimtenancy_common.settings import Settings
from scimtenancy_common.telemetry import exports_metrics
from scimtenancy_server.domain.tenant import TenantStatus
from scimtenancy_server.services.audit import AuditLog
from scimtenancy_server.services.resolution import TenantResolver
from scimtenancy_server.services.resources import ResourceService, Usage
from scimtenancy_server.storage.tenants import TenantStore

logger = logging.getLogger(__name__)
PAGE = 200


@dataclass(frozen=True, slots=True)
class TenantUsage:
    tenant_id: str
    usage: Usage


class UsageGauges:
    def __init__(
        self,
        tenants: TenantStore,
        resources: ResourceService,
        resolver: TenantResolver,
        tenant_labels: bool,
        storage_ping: Callable[[], Awaitable[bool]] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._audit = audit or AuditLog.off()
        self._tenants = tenants
        self._resources = resources
        self._resolver = resolver
        self._tenant_labels = tenant_labels
        self._storage_ping = storage_ping
        self.snapshot: list[TenantUsage] = []
        self.storage_up: bool | None = None  # not known before the first ping
        _register(self)

    async def ping_storage(self) -> bool:
        """Pings the storage and remembers whether it answered."""
        if self._storage_ping is None:
            return True
        try:
            self.storage_up = await self._storage_ping()
        except Exception:
            self.storage_up = False
        return self.storage_up

    async def refresh(self) -> None:
        """Recounts every active tenant's resources."""
        counted: list[TenantUsage] = []
        after = ""
        while page := await self._tenants.list_tenants(after, PAGE):
            for tenant in page:
                if tenant.status is TenantStatus.ACTIVE:
                    usage = await self._resources.usage(tenant)
                    counted += [TenantUsage(tenant.tenant_id, u) for u in usage]
            after = page[-1].tenant_id
        self.snapshot = counted

    async def run(self, interval: float) -> None:
        """Refreshes until cancelled; a failed count keeps the last snapshot."""
        while True:
            try:
                if await self.ping_storage():
                    await self.refresh()
            except Exception:
                logger.warning("could not recount tenant usage; keeping the last counts")
            await asyncio.sleep(interval)

    def observe_counts(self) -> list[Observation]:
        if self._tenant_labels:
            return [
                Observation(u.usage.used, _attributes(u.usage.resource_type, u.tenant_id))
                for u in self.snapshot
            ]
        totals: dict[str, int] = defaultdict(int)
        for u in self.snapshot:
            totals[u.usage.resource_type] += u.usage.used
        return [Observation(n, _attributes(rt)) for rt, n in totals.items()]

    def observe_utilisation(self) -> list[Observation]:
        limited = [u for u in self.snapshot if u.usage.limit]
        if self._tenant_labels:
            return [
                Observation(
                    u.usage.used / (u.usage.limit or 1),
                    _attributes(u.usage.resource_type, u.tenant_id),
                )
                for u in limited
            ]
        highest: dict[str, float] = {}
        for u in limited:
            share = u.usage.used / (u.usage.limit or 1)
            highest[u.usage.resource_type] = max(share, highest.get(u.usage.resource_type, 0.0))
        return [Observation(share, _attributes(rt)) for rt, share in highest.items()]

    def observe_cache(self) -> list[Observation]:
        return [
            Observation(self._resolver.hits, {"result": "hit"}),
            Observation(self._resolver.misses, {"result": "miss"}),
        ]

    def observe_storage(self) -> list[Observation]:
        if self.storage_up is None:
            return []
        return [Observation(int(self.storage_up))]

    def observe_audit_backlog(self) -> list[Observation]:
        return [Observation(self._audit.waiting)]

    def observe_audit_backlog_limit(self) -> list[Observation]:
        return [Observation(self._audit.backlog_limit)]


def _attributes(resource_type: str, tenant_id: str | None = None) -> dict[str, str]:
    if tenant_id is None:
        return {"scim.resource_type": resource_type}
    return {"tenant.id": tenant_id, "scim.resource_type": resource_type}


# A process has one application; the instruments are created once and report every live one.
_sources: weakref.WeakSet[UsageGauges] = weakref.WeakSet()


def _observer(
    read: Callable[[UsageGauges], list[Observation]],
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        return [observation for source in list(_sources) for observation in read(source)]

    return observe


def _register(source: UsageGauges) -> None:
    _create_instruments()
    _sources.add(source)


# name, what observes it, unit, description; `scim.tenant_cache.lookups` only grows.
_GAUGES: tuple[tuple[str, Callable[[UsageGauges], list[Observation]], str, str], ...] = (
    ("scim.resources", UsageGauges.observe_counts, "{resource}",
     "resources held, per resource type"),
    ("scim.limit.utilization", UsageGauges.observe_utilisation, "1",
     "share of a resource limit in use (0..1), where a limit is set"),
    ("scim.storage.up", UsageGauges.observe_storage, "1",
     "1 while the storage answered its last ping, else 0"),
    ("scim.audit.backlog", UsageGauges.observe_audit_backlog, "{event}",
     "audit outcomes waiting in memory to be stored"),
    ("scim.audit.backlog.limit", UsageGauges.observe_audit_backlog_limit, "{event}",
     "audit outcomes the backlog holds at most; when full, changes get 503"),
)  # fmt: skip


@cache
def _create_instruments() -> None:
    meter = metrics.get_meter("scimtenancy_server")
    for name, observe, unit, about in _GAUGES:
        meter.create_observable_gauge(name, [_observer(observe)], unit=unit, description=about)
    meter.create_observable_counter(
        "scim.tenant_cache.lookups",
        [_observer(UsageGauges.observe_cache)],
        unit="{lookup}",
        description="credential resolutions answered from the cache (hit) or not (miss)",
    )


@asynccontextmanager
async def usage_gauges_running(gauges: UsageGauges, settings: Settings) -> AsyncIterator[None]:
    """Recounts in the background while the block runs, if anyone collects the metrics."""
    if not exports_metrics(settings.metrics_port):
        yield
        return
    task = asyncio.get_running_loop().create_task(
        gauges.run(settings.metrics_refresh_seconds), name="usage-gauges"
    )
    try:
        yield
    finally:
        task.cancel()
