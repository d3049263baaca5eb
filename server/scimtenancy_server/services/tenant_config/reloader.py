"""Reloading the tenants file while serving: read and check the new version, apply it through
the admin API, then let new requests see its JWT issuers. One reload runs at a time; requests
made while one runs cause exactly one more after it (`ReloadRequests`).

Outcomes: `applied`; `rejected` (the version is invalid: nothing is applied and the previous
one keeps running); `failed` (valid, but applying it stopped part way, e.g. the database went
away: the log lists what was applied before the error, and the whole version is applied again
after `RETRY_SECONDS`, or sooner on the next change). A tenant the admin API refuses (a limit
below what it holds) fails alone: every other tenant is applied, and the log names each
failed tenant with its cause. Each outcome is logged, counted
(`scim.tenant_config.reloads`) and reported in health (`scimtenancy.tenant_config`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import jwt

from scimtenancy_common.settings import ENV_PREFIX
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.services.jwt_tokens import DuplicateIssuers, IssuerTable, JwtResolver
from scimtenancy_server.services.resolution import TenantResolver
from scimtenancy_server.services.tenant_config.journal import JournalledAdmin
from scimtenancy_server.services.tenant_config.metrics import Outcome, count_reload
from scimtenancy_server.services.tenant_config.reading import LoadedConfig, TenantsFileSource
from scimtenancy_server.services.tenant_config.requests import ReloadRequests
from scimtenancy_server.tenants_file.admin_port import AdminCallFailed, TenantAdminPort
from scimtenancy_server.tenants_file.apply import Plan, ReconcileFailed, reconcile
from scimtenancy_server.tenants_file.model import TenantsConfig
from scimtenancy_server.tenants_file.plan import CHANGING, Action
from scimtenancy_server.tenants_file.problems import TenantsFileInvalid

logger = logging.getLogger(__name__)

# A version whose apply failed is applied again this late: the database may be back, or the
# usage that refused a lower limit may have gone down.
RETRY_SECONDS = 30.0
# What deletes a tenant the file no longer names, as the server's log says it.
PRUNE_HINT = f"{ENV_PREFIX}TENANTS_PRUNE=true"
Report = Callable[[bool], Awaitable[None]]


async def _no_report(current: bool) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Targets:
    """What a reload changes: tenants (through the admin API), the JWT issuers requests are
    checked against, and this process's cache of resolved credentials."""

    admin: TenantAdminPort
    jwt: JwtResolver
    credentials: TenantResolver


class TenantConfigReloader:
    def __init__(
        self,
        source: TenantsFileSource,
        targets: Targets,
        *,
        prune: bool = False,
        report: Report = _no_report,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._source = source
        self._targets = targets
        self._prune = prune
        self._report = report
        self._retry = retry_seconds
        self._running: TenantsConfig | None = None
        self._seen = ""  # fingerprint of the last version read
        self.requests = ReloadRequests()
        self.last_outcome: Outcome | None = None

    @property
    def sources(self) -> tuple[Path, ...]:
        return self._source.paths

    @property
    def running(self) -> TenantsConfig | None:
        """The configuration last applied in full."""
        return self._running

    async def start(self, loaded: LoadedConfig) -> Outcome:
        """Applies the configuration read at start."""
        self._seen = loaded.fingerprint
        return await self._apply(loaded.config)

    async def run(self, stop: asyncio.Event) -> None:
        """Reloads on request until `stop` is set, one reload at a time."""
        while not stop.is_set():
            retry = self._retry if self.last_outcome is Outcome.FAILED else None
            wanted = await self.requests.next(stop, retry)
            if wanted is None:
                return
            await self.reload(forced=wanted.forced)

    async def reload(self, *, forced: bool = False) -> Outcome | None:
        """Reads the file and applies it if it changed since last read (any time `forced`,
        and after a failed apply); None when nothing changed."""
        seen = await asyncio.to_thread(self._source.fingerprint)
        unchanged = seen == self._seen and self.last_outcome is not Outcome.FAILED
        if unchanged and not forced:
            logger.debug("tenants file unchanged; nothing to reload")
            return None
        self._seen = seen
        try:
            config = await asyncio.to_thread(self._source.read)
        except TenantsFileInvalid as invalid:
            return await self._rejected(invalid)
        return await self._apply(config)

    async def _apply(self, config: TenantsConfig) -> Outcome:
        try:
            table = self._targets.jwt.prepare_file_issuers(config.jwt_issuers())
        except (DuplicateIssuers, jwt.PyJWTError) as error:  # read() checks both first
            logger.error("tenants file rejected, the running configuration is kept: %s", error)
            return await self._outcome(Outcome.REJECTED)
        journal = JournalledAdmin(self._targets.admin)
        try:
            plan = await reconcile(config, journal, prune=self._prune)
        except Exception as error:
            return await self._failed(error, journal)
        await self._switch(config, table, plan)
        _log_plan(plan)
        return await self._outcome(Outcome.APPLIED)

    async def _switch(self, config: TenantsConfig, table: IssuerTable, plan: Plan) -> None:
        """New requests see the new version: its issuers, and tenants as now stored. The
        admin API cleared the cached credentials of the tenants this plan changed; those of
        tenants that changed too (another replica applied them first, or an issuer was
        bound or unbound) are cleared here."""
        self._targets.jwt.use(table)
        before = self._running.jwt_issuers() if self._running is not None else []
        if config.jwt_issuers() != before:
            # A token refused just before its issuer was bound is accepted at once.
            self._targets.credentials.forget_unknown()
        cleared = {e.tenant_id for e in plan.entries if e.action in CHANGING}
        pacer = Pacer()
        for tenant_id in await _changed_tenants(self._running, config) - cleared:
            await pacer.pace()
            self._targets.credentials.invalidate_tenant(tenant_id)
        self._running = config

    async def _rejected(self, invalid: TenantsFileInvalid) -> Outcome:
        logger.error("tenants file rejected, the running configuration is kept:\n%s", invalid)
        return await self._outcome(Outcome.REJECTED)

    async def _failed(self, error: Exception, journal: JournalledAdmin) -> Outcome:
        if isinstance(error, ReconcileFailed):
            logger.error("%s", _failure_report(error, journal))
            return await self._outcome(Outcome.FAILED)
        known = isinstance(error, AdminCallFailed | ScimError)
        logger.error(
            "tenants file not fully applied: %s; applied before the error: %s",
            error if known else repr(error),
            journal.describe(),
            exc_info=not known,  # a defect: its traceback goes to the log, never to a client
        )
        return await self._outcome(Outcome.FAILED)

    async def _outcome(self, outcome: Outcome) -> Outcome:
        self.last_outcome = outcome
        count_reload(outcome)
        await self._report(outcome is Outcome.APPLIED)
        return outcome


async def _changed_tenants(before: TenantsConfig | None, after: TenantsConfig) -> set[str]:
    """Ids of tenants the two versions describe differently (paced: 10,000 comparisons
    take about 0.1 s)."""
    if before is None:
        return set()
    old = {t.id: t for t in before.tenants}
    new = {t.id: t for t in after.tenants}
    changed: set[str] = set()
    pacer = Pacer()
    for tenant_id in old.keys() | new.keys():
        await pacer.pace()
        if old.get(tenant_id) != new.get(tenant_id):
            changed.add(tenant_id)
    return changed


_DONE: tuple[tuple[Action, str], ...] = (
    ("create", "created"),
    ("update", "updated"),
    ("move", "moved"),
    ("delete", "deleted"),
)


def applied_summary(plan: Plan) -> str:
    """`2 created, 1 updated, 0 moved, 0 deleted, 7 unchanged`."""
    parts = [f"{plan.count(action)} {word}" for action, word in _DONE]
    parts.append(f"{plan.count('unchanged')} unchanged")
    kept = plan.count("would_delete")
    if kept:
        parts.append(f"{kept} not in the file and kept")
    return ", ".join(parts)


def _failure_report(failed: ReconcileFailed, journal: JournalledAdmin) -> str:
    """Every tenant that failed with its cause, then what was applied."""
    count = len(failed.failures)
    tenants = f"{count} tenant{'s' if count != 1 else ''} failed"
    if failed.stopped:
        head = f"tenants file not fully applied: {tenants}, and the apply stopped there"
        done = f"applied before the error: {journal.describe()}"
    else:
        head = f"tenants file not fully applied: {tenants}; every other change was applied"
        done = f"applied: {journal.describe()}"
    return "\n".join([head, *failed.render(), done])


def _log_plan(plan: Plan) -> None:
    if plan.has_changes:
        changed = [
            line for e in plan.entries if e.action != "unchanged" for line in e.render(PRUNE_HINT)
        ]
        logger.info("tenant config applied: %s\n%s", applied_summary(plan), "\n".join(changed))
    else:
        logger.info("tenant config applied: %s", applied_summary(plan))
    for note in plan.notes:
        logger.warning("tenant config: %s", note)
