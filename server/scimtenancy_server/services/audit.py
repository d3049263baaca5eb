"""The audit log: every change of a tenant's resources, and every tenant-admin action.

The policy: fail closed before the change, buffered and retried after it.

1. Right before a change reaches storage, the event's `pending` stage is written. If that
   write fails, the change is not made: the caller gets 503, and nothing was written.
2. After the change, the final stage (`success`, or `failure` with the SCIM error) is
   written. If that fails, it waits in a bounded in-memory backlog and is retried in the
   background until it is stored; meanwhile the event reads as `pending`. While the backlog
   is full, changes are refused with 503 (step 1), so the backlog never has to drop a stage
   of a change made after it filled.
3. A request that fails before writing anything (bad input, a missing resource, a missing
   permission) is recorded by its final stage alone.
A call cancelled while its change is under way leaves its event `pending`: whether the
change landed is not known. Once the outcome is known, cancelling the call no longer stops
its final stage from being written.

A /Bulk operation is one event: the resource operation it runs is handed that event
(`record(..., bulk_event=...)`) and joins it instead of opening its own. A log built with
`AuditLog.off()` writes to a store that keeps nothing, so every path runs the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta

from scimtenancy_server.domain.audit import EVENT_ID, AuditEvent, Outcome, new_event_id
from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import DEFAULT_LIMITS
from scimtenancy_server.domain.tenant import validate_tenant_id
from scimtenancy_server.storage.audit import AuditStore

logger = logging.getLogger(__name__)

# The operation each /Bulk method performs (RFC 7644 §3.7).
BULK_OPERATIONS = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class AuditEntry:
    """An operation being audited."""

    def __init__(self, log: AuditLog, event: AuditEvent, *, recorded: bool) -> None:
        self.event = event
        self.recorded = recorded
        self.begun = False
        self.unwritable = False  # the store refused the pending stage just now
        self._log = log

    async def begin(
        self, version_before: int | None = None, version_after: int | None = None
    ) -> None:
        """Call right before the change reaches storage, with the versions it moves between.
        Writes the pending stage (once: a retried change only updates the versions); raises
        a 503 ScimError when it cannot, and then the change must not be made."""
        self.event = replace(self.event, version_before=version_before, version_after=version_after)
        if self.recorded and not self.begun:
            try:
                await self._log.write_ahead(self.event)
            except ScimError:
                self.unwritable = True
                raise
        self.begun = True

    def name(self, resource_id: str) -> None:
        """Names the resource when its id is known only once the operation runs."""
        self.event = replace(self.event, resource_id=resource_id)

    def joined(
        self, operation: str, resource_type: str, resource_id: str
    ) -> AbstractAsyncContextManager[AuditEntry]:
        """This /Bulk operation's event, naming the resource operation it runs; the bulk
        operation, not the resource operation, records its outcome."""
        self.event = replace(
            self.event,
            operation=operation,
            resource_type=resource_type,
            resource_id=resource_id or self.event.resource_id,
        )
        return nullcontext(self)


class NullAuditStore(AuditStore):
    """The store of a log that records nothing: it keeps no event and lists none, and
    refuses what every store refuses (an invalid tenant id)."""

    def __init__(self) -> None:
        super().__init__(retention=timedelta(0))

    async def _add(self, key: str, event: AuditEvent) -> None:
        return None

    async def _stages(
        self, tenant_id: str, lower: str, upper: str, limit: int
    ) -> Sequence[AuditEvent]:
        return []


def _final(event: AuditEvent, error: Exception | None) -> AuditEvent:
    if error is None:
        return replace(event, outcome=Outcome.SUCCESS)
    failure = error if isinstance(error, ScimError) else ScimError.internal()
    return replace(
        event,
        outcome=Outcome.FAILURE,
        version_after=None,
        error_status=failure.status,
        error_type=failure.scim_type or "",
    )


def _named(text: str) -> str:
    """A name from a request (a path's id or endpoint), as long as a stored one can be: a
    refused request with a megabyte of path records its first characters, marked as cut."""
    limit = DEFAULT_LIMITS.max_id_length
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _valid_tenant(tenant_id: str) -> bool:
    try:
        validate_tenant_id(tenant_id)
    except ScimError:
        return False
    return True


class AuditLog:
    def __init__(
        self,
        store: AuditStore,
        clock: Clock = utc_now,
        backlog: int = 10_000,
        retry_delay: float = 0.05,
        max_retry_delay: float = 5.0,
        close_wait: float = 5.0,
    ) -> None:
        self.store = store
        self._clock = clock
        self._backlog_limit = backlog
        self._backlog: deque[AuditEvent] = deque()
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._close_wait = close_wait
        self._idle = asyncio.Event()
        self._idle.set()
        self._retrier: asyncio.Task[None] | None = None
        self._finishing: set[asyncio.Future[None]] = set()
        self.lost = 0  # final stages that found the backlog full (each logged as an error)

    @classmethod
    def off(cls) -> AuditLog:
        """A log that records nothing, for services built without one."""
        return cls(NullAuditStore())

    @property
    def waiting(self) -> int:
        """Final stages waiting to be retried."""
        return len(self._backlog)

    @property
    def backlog_limit(self) -> int:
        """Final stages the backlog holds at most; while it is full, changes are refused."""
        return self._backlog_limit

    def _entry(
        self,
        tenant_id: str,
        actor: str,
        operation: str,
        resource_type: str,
        resource_id: str,
        bulk: bool = False,
    ) -> AuditEntry:
        now = self._clock()
        event = AuditEvent(
            new_event_id(now),
            tenant_id,
            now,
            actor,
            operation,
            _named(resource_type),
            _named(resource_id),
            bulk=bulk,
        )
        return AuditEntry(self, event, recorded=_valid_tenant(tenant_id))

    def record(
        self,
        tenant_id: str,
        actor: str,
        operation: str,
        resource_type: str,
        resource_id: str = "",
        *,
        bulk_event: AuditEntry | None = None,
    ) -> AbstractAsyncContextManager[AuditEntry]:
        """Audits the operation run inside; given the event of the /Bulk operation that runs
        it (`bulk_event`), joins that event instead."""
        if bulk_event is not None:
            return bulk_event.joined(operation, resource_type, resource_id)
        entry = self._entry(tenant_id, actor, operation, resource_type, resource_id)
        return self._recorded(entry)

    def bulk_item(
        self, tenant_id: str, actor: str, method: str, resource_type: str, resource_id: str
    ) -> AbstractAsyncContextManager[AuditEntry]:
        """Audits one /Bulk operation, whether or not it gets as far as a resource operation;
        hand the event to the resource operation it runs (`bulk_event`)."""
        operation = BULK_OPERATIONS.get(method, method.lower())
        entry = self._entry(tenant_id, actor, operation, resource_type, resource_id, bulk=True)
        return self._recorded(entry)

    async def refused(
        self,
        tenant_id: str,
        actor: str,
        method: str,
        resource_type: str,
        resource_id: str,
        error: ScimError,
    ) -> None:
        """Records a /Bulk operation that was refused without being run."""
        operation = BULK_OPERATIONS.get(method, method.lower())
        entry = self._entry(tenant_id, actor, operation, resource_type, resource_id, bulk=True)
        await self._finish(entry, error)

    @asynccontextmanager
    async def _recorded(self, entry: AuditEntry) -> AsyncIterator[AuditEntry]:
        try:
            yield entry
        except asyncio.CancelledError:
            raise  # the outcome is unknown: a begun event stays pending
        except Exception as error:
            await self._complete(entry, error)
            raise
        await self._complete(entry, None)

    async def _complete(self, entry: AuditEntry, error: Exception | None) -> None:
        """Writes the final stage; cancelling the caller does not stop it."""
        finishing = asyncio.ensure_future(self._finish(entry, error))
        self._finishing.add(finishing)
        finishing.add_done_callback(self._finishing.discard)
        await asyncio.shield(finishing)

    async def write_ahead(self, event: AuditEvent) -> None:
        if len(self._backlog) >= self._backlog_limit:
            raise ScimError.unavailable(
                "the audit log is behind; the change was not made, retry later"
            )
        try:
            await self.store.add(event)
        except Exception:
            logger.warning("audit event of tenant %s cannot be written", event.tenant_id)
            raise ScimError.unavailable(
                "the audit log cannot be written; the change was not made, retry later"
            ) from None

    async def _finish(self, entry: AuditEntry, error: Exception | None) -> None:
        if not entry.recorded:
            return
        event = _final(entry.event, error)
        if entry.unwritable:  # do not make the caller wait for a second failure
            self._defer(event)
            return
        try:
            await self.store.add(event)
        except Exception:
            logger.warning("audit event %s of tenant %s: retrying", event.event_id, event.tenant_id)
            self._defer(event)

    def _defer(self, event: AuditEvent) -> None:
        if len(self._backlog) >= self._backlog_limit:
            self.lost += 1
            logger.error(
                "audit backlog full: event %s of tenant %s stays pending (outcome %s)",
                event.event_id,
                event.tenant_id,
                event.outcome.value,
            )
            return
        self._backlog.append(event)
        self._idle.clear()
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.create_task(self._retry())

    async def _retry(self) -> None:
        delay = self._retry_delay
        while self._backlog:
            try:
                await self.store.add(self._backlog[0])
            except Exception:
                await asyncio.sleep(delay)
                delay = min(2 * delay, self._max_retry_delay)
                continue
            self._backlog.popleft()
            delay = self._retry_delay
        self._idle.set()

    async def drain(self) -> None:
        """Returns once every final stage under way or deferred is stored."""
        while self._finishing:
            await asyncio.gather(*self._finishing)
        await self._idle.wait()

    async def close(self) -> None:
        """Gives deferred stages `close_wait` seconds to be stored, then stops retrying."""
        try:
            await asyncio.wait_for(self.drain(), self._close_wait)
        except TimeoutError:
            logger.error("%d audit events stay pending: the store did not come back", self.waiting)
        if self._retrier is not None:
            self._retrier.cancel()
            await asyncio.gather(self._retrier, return_exceptions=True)
        await self.store.close()

    async def list_events(
        self,
        tenant_id: str,
        since: datetime | None,
        until: datetime | None,
        page_size: int,
        page_token: str,
    ) -> tuple[list[AuditEvent], str]:
        """One page of the tenant's events in [since, until), oldest first, within the
        retention, and the token of the next page ("" on the last)."""
        validate_tenant_id(tenant_id)
        if page_size < 0:
            raise ScimError.invalid_value("page_size cannot be negative")
        if page_token and not EVENT_ID.fullmatch(page_token):
            raise ScimError.invalid_value("page_token is not a token this service returned")
        if since is not None and until is not None and since > until:
            raise ScimError.invalid_value("the start of the time range is after its end")
        size = DEFAULT_PAGE_SIZE if page_size == 0 else min(page_size, MAX_PAGE_SIZE)
        # Expired events may outlive their retention briefly (TTL monitors run every minute,
        # sweeps hourly); readers never see them.
        floor = self._clock() - self.store.retention
        start = floor if since is None else max(since, floor)
        if until is not None and start >= until:
            return [], ""
        events = await self.store.list(tenant_id, start, until, page_token, size + 1)
        page = events[:size]
        return page, page[-1].event_id if len(events) > size else ""
