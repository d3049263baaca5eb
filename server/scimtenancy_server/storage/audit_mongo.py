"""The audit store in MongoDB: one `audit_events` collection for every tenant.

The audit lives apart from the tenant's resources, whatever its isolation level: it is the
operator's record about the tenant (ids, actors, outcomes; never attribute values), it must
stay where it is while the tenant moves between levels, and it outlives the tenant's
deletion until its retention ends. Documents carry `tenant_id` and a key that starts with
it; every read names both.

Retention is a TTL index on the event's time. FerretDB 1.24 has no TTL indexes
(`expireAfterSeconds` is NotImplemented), so there the adapter deletes expired events
itself: when first used, then in the background at most once per `sweep_every`. Readers
never see expired events either way (the audit service bounds every read by the retention).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure

from scimtenancy_server.domain.audit import AuditEvent, Outcome
from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.storage.audit import AuditStore
from scimtenancy_server.storage.mongo_driver import MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors

logger = logging.getLogger(__name__)

COLLECTION = "audit_events"
RETENTION_INDEX = "retention"
_INDEX_OPTIONS_CONFLICT = 85  # the index exists with another expiry
_NOT_IMPLEMENTED = (115, 238)  # CommandNotSupported, NotImplemented

Expiry = Literal["ttl_index", "sweep"]


def _document(key: str, event: AuditEvent) -> dict[str, Any]:
    return {
        "_id": key,
        "tenant_id": event.tenant_id,
        "event_id": event.event_id,
        "time": event.time,
        "actor": event.actor,
        "operation": event.operation,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "outcome": event.outcome.value,
        "version_before": event.version_before,
        "version_after": event.version_after,
        "error_status": event.error_status,
        "error_type": event.error_type,
        "bulk": event.bulk,
    }


def _event(document: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        event_id=document["event_id"],
        tenant_id=document["tenant_id"],
        time=document["time"],
        actor=document["actor"],
        operation=document["operation"],
        resource_type=document["resource_type"],
        resource_id=document["resource_id"],
        outcome=Outcome(document["outcome"]),
        version_before=document["version_before"],
        version_after=document["version_after"],
        error_status=document["error_status"],
        error_type=document["error_type"],
        bulk=document["bulk"],
    )


class MongoAuditStore(AuditStore):
    def __init__(
        self,
        database: MongoDatabase,
        retention: timedelta,
        clock: Clock = utc_now,
        sweep_every: timedelta = timedelta(hours=1),
    ) -> None:
        super().__init__(retention)
        self.collection = database[COLLECTION]
        self._database = database
        self._clock = clock
        self._sweep_every = sweep_every
        self._prepared = asyncio.Lock()
        # How expired events go away: set once the collection is prepared.
        self.expiry: Expiry | None = None
        self._next_sweep: datetime | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def _add(self, key: str, event: AuditEvent) -> None:
        await self._prepare()
        with database_errors():
            try:
                await self.collection.insert_one(_document(key, event))
            except DuplicateKeyError:
                return  # the stage is stored already: this was a retry

    async def _stages(
        self, tenant_id: str, lower: str, upper: str, limit: int
    ) -> Sequence[AuditEvent]:
        await self._prepare()
        selector = {"_id": {"$gt": lower, "$lt": upper}, "tenant_id": tenant_id}
        with database_errors():
            cursor = self.collection.find(selector).sort("_id", ASCENDING).limit(limit)
            return [_event(document) async for document in cursor]

    async def _prepare(self) -> None:
        """Sets the retention up on first use (once it succeeds), then sweeps when due."""
        if self.expiry is None:
            async with self._prepared:
                if self.expiry is None:
                    self.expiry = await self._set_retention()
        if self.expiry == "sweep":
            self._sweep_when_due()

    async def _set_retention(self) -> Expiry:
        seconds = int(self.retention.total_seconds())
        with database_errors():
            try:
                await self.collection.create_index(
                    "time", name=RETENTION_INDEX, expireAfterSeconds=seconds
                )
            except OperationFailure as error:
                if error.code == _INDEX_OPTIONS_CONFLICT:  # the retention setting changed
                    index = {"name": RETENTION_INDEX, "expireAfterSeconds": seconds}
                    await self._database.command("collMod", COLLECTION, index=index)
                elif error.code in _NOT_IMPLEMENTED:
                    logger.info("no TTL indexes on this server: expired audit events are swept")
                    await self.remove_expired()
                    self._next_sweep = self._clock() + self._sweep_every
                    return "sweep"
                else:
                    raise
        return "ttl_index"

    def _sweep_when_due(self) -> None:
        now = self._clock()
        running = self._sweeper is not None and not self._sweeper.done()
        if running or (self._next_sweep is not None and now < self._next_sweep):
            return
        self._next_sweep = now + self._sweep_every
        self._sweeper = asyncio.create_task(self._sweep_logged())

    async def _sweep_logged(self) -> None:
        try:
            await self.remove_expired()
        except Exception:
            logger.exception("sweeping expired audit events failed; the next sweep retries")

    async def remove_expired(self) -> int:
        """Deletes the events past their retention; returns how many stages went."""
        with database_errors():
            result = await self.collection.delete_many(
                {"time": {"$lt": self._clock() - self.retention}}
            )
        return int(result.deleted_count)

    async def close(self) -> None:
        if self._sweeper is not None and not self._sweeper.done():
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
