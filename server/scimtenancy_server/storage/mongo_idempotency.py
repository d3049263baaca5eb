"""The idempotency store in MongoDB: one `idempotency_keys` collection for every tenant.

Documents are keyed by the record id (`<tenant>:<scope>:<key hash>`), carry `tenant_id` (its
index serves the purge of a deleted tenant) and `expires_at`. A reservation is a unique `_id`
insert, atomic on every MongoDB-compatible server. FerretDB 1.24 does not apply conditional
updates atomically, so a take-over first claims its generation by inserting
`<record id>|<reserved id>|<attempt>` (the same device as `write_claims`): of two retries
taking over one attempt, only the claim's holder rewrites the record. Completing and releasing
are conditional on the generation too; on FerretDB a late first attempt may still complete a
record a retry took over, which is harmless: every attempt of a record works on the same
reserved id, so each answer is a true one.

Expiry is a TTL index on `expires_at`, or sweeps where the server has no TTL indexes
(`mongo_expiry`), at most `sweep_batch` records a pass. Expired records are never replayed
either way.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.idempotency import (
    Answer,
    IdempotencyRecord,
    Refused,
    Replied,
    Unkept,
)
from scimtenancy_server.storage.idempotency import IdempotencyStore
from scimtenancy_server.storage.mongo_driver import MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors
from scimtenancy_server.storage.mongo_expiry import Expiry, ExpirySweeper

logger = logging.getLogger(__name__)

COLLECTION = "idempotency_keys"
EXPIRY_INDEX = "expiry"
# A reservation meets a record that vanishes before it is read (released) this often at most.
_RESERVE_ATTEMPTS = 3


def _answer_document(answer: Answer | None) -> dict[str, Any] | None:
    if isinstance(answer, Replied):
        return {"kind": "reply", "reply": answer.reply}
    if isinstance(answer, Refused):
        return {
            "kind": "error",
            "status": answer.status,
            "scim_type": answer.scim_type,
            "detail": answer.detail,
        }
    if isinstance(answer, Unkept):
        return {"kind": "unkept", "size": answer.size}
    return None


def _answer(document: dict[str, Any] | None) -> Answer | None:
    if document is None:
        return None
    if document["kind"] == "reply":
        return Replied(bytes(document["reply"]))
    if document["kind"] == "error":
        return Refused(document["status"], document["scim_type"], document["detail"])
    return Unkept(document["size"])


def _document(record: IdempotencyRecord) -> dict[str, Any]:
    return {
        "_id": record.record_id,
        "tenant_id": record.tenant_id,
        "scope": record.scope,
        "key_hash": record.key_hash,
        "fingerprint": record.fingerprint,
        "reserved_id": record.reserved_id,
        "attempt": record.attempt,
        "state": _state(record),
        "lease_until": record.lease_until,
        "expires_at": record.expires_at,
        "answer": _answer_document(record.answer),
    }


def _record(document: dict[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        tenant_id=document["tenant_id"],
        scope=document["scope"],
        key_hash=document["key_hash"],
        fingerprint=document["fingerprint"],
        reserved_id=document["reserved_id"],
        lease_until=document["lease_until"],
        expires_at=document["expires_at"],
        attempt=document["attempt"],
        answer=_answer(document["answer"]),
    )


def _state(record: IdempotencyRecord) -> str:
    return "running" if record.answer is None else "done"


def _of_generation(record: IdempotencyRecord) -> dict[str, Any]:
    return {
        "_id": record.record_id,
        "reserved_id": record.reserved_id,
        "attempt": record.attempt,
        "state": _state(record),
    }


class MongoIdempotencyStore(IdempotencyStore):
    def __init__(
        self,
        database: MongoDatabase,
        clock: Clock = utc_now,
        sweep_every: timedelta = timedelta(minutes=10),
        sweep_batch: int = 1000,
    ) -> None:
        self.collection = database[COLLECTION]
        self._clock = clock
        self._sweep_batch = sweep_batch
        self._expiry = ExpirySweeper(
            "idempotency keys", self._set_up, self._sweep, sweep_every, clock
        )

    @property
    def expiry(self) -> Expiry | None:
        return self._expiry.expiry

    async def reserve(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        await self._prepare()
        with database_errors():
            for _ in range(_RESERVE_ATTEMPTS):
                try:
                    await self.collection.insert_one(_document(record))
                except DuplicateKeyError:
                    found = await self.collection.find_one({"_id": record.record_id})
                    if found is not None:
                        return _record(found)
                else:
                    return None
        raise ScimError.unavailable("the Idempotency-Key is being released; retry later")

    async def take_over(self, old: IdempotencyRecord, new: IdempotencyRecord) -> bool:
        claim = {
            "_id": f"{old.record_id}|{old.reserved_id}|{old.attempt + 1}",
            "tenant_id": old.tenant_id,
            "expires_at": new.expires_at,
        }
        with database_errors():
            try:
                await self.collection.insert_one(claim)
            except DuplicateKeyError:
                return False
            result = await self.collection.replace_one(_of_generation(old), _document(new))
        return bool(result.matched_count)

    async def complete(self, record: IdempotencyRecord, answer: Answer) -> None:
        change = {"$set": {"state": "done", "answer": _answer_document(answer)}}
        with database_errors():
            await self.collection.update_one(_of_generation(record), change)

    async def release(self, record: IdempotencyRecord) -> None:
        with database_errors():
            await self.collection.delete_one(_of_generation(record))

    async def purge(self, tenant_id: str) -> None:
        with database_errors():
            await self.collection.delete_many({"tenant_id": tenant_id})

    async def remove_expired(self, limit: int) -> int:
        expired = {"expires_at": {"$lte": self._clock()}}  # as `IdempotencyRecord.expired`
        with database_errors():
            cursor = self.collection.find(expired, {"_id": 1}).limit(limit)
            ids = [document["_id"] async for document in cursor]
            if not ids:
                return 0
            result = await self.collection.delete_many({"_id": {"$in": ids}, **expired})
        return int(result.deleted_count)

    async def _prepare(self) -> None:
        await self._expiry.prepare()

    async def _set_up(self) -> None:
        await self.collection.create_index("tenant_id", name="by_tenant")
        await self.collection.create_index("expires_at", name=EXPIRY_INDEX, expireAfterSeconds=0)

    async def _sweep(self) -> bool:
        """One bounded pass; True when it was full, so that the next follows at once."""
        return await self.remove_expired(self._sweep_batch) >= self._sweep_batch

    async def close(self) -> None:
        await self._expiry.close()
