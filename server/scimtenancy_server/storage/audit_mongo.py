"""The audit store in MongoDB: one `audit_events` collection for every tenant.

The audit lives apart from the tenant's resources, whatever its isolation level: it is the
operator's record about the tenant (ids, actors, outcomes; never attribute values), it must
stay where it is while the tenant moves between levels, and it outlives the tenant's
deletion until its retention ends. Documents carry `tenant_id` and a key that starts with
it; every read names both.

Retention is a TTL index on the event's time, or sweeps where the server has no TTL indexes
(`mongo_expiry`). Readers never see expired events either way (the audit service bounds every
read by the retention).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure

from scimtenancy_server.domain.audit import AuditEvent, Outcome
from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.storage.audit import AuditStore
from scimtenancy_server.storage.mongo_driver import MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors
from scimtenancy_server.storage.mongo_expiry import Expiry, ExpirySweeper

logger = logging.getLogger(__name__)

COLLECTION = "audit_events"
RETENTION_INDEX = "retention"
_INDEX_OPTIONS_CONFLICT = 85  # the index exists with another expiry


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
        self._expiry = ExpirySweeper(
            "audit events", self._set_retention, self._sweep, sweep_every, clock
        )

    @property
    def expiry(self) -> Expiry | None:
        return self._expiry.expiry

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
        await self._expiry.prepare()

    async def _set_retention(self) -> None:
        seconds = int(self.retention.total_seconds())
        try:
            await self.collection.create_index(
                "time", name=RETENTION_INDEX, expireAfterSeconds=seconds
            )
        except OperationFailure as error:
            if error.code != _INDEX_OPTIONS_CONFLICT:
                raise
            # The retention setting changed: the index takes the new one.
            index = {"name": RETENTION_INDEX, "expireAfterSeconds": seconds}
            await self._database.command("collMod", COLLECTION, index=index)

    async def _sweep(self) -> bool:
        await self.remove_expired()
        return False  # one delete takes every expired event

    async def remove_expired(self) -> int:
        """Deletes the events past their retention; returns how many stages went."""
        with database_errors():
            result = await self.collection.delete_many(
                {"time": {"$lt": self._clock() - self.retention}}
            )
        return int(result.deleted_count)

    async def close(self) -> None:
        await self._expiry.close()
