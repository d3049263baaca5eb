"""The idempotency store port, and its adapter in process memory.

Records are request bookkeeping, not tenant data: one store for every isolation level, so a
key stays where it is while its tenant moves, each record keyed by `record_id` (the tenant
first) and carrying `tenant_id`; deleting the tenant purges them. Every change after the
first reservation is conditional on the record's `generation`, so two retries can never both
take a key over. Implementations must pass tests/contract/test_idempotency_store.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime

from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.idempotency import (
    Answer,
    IdempotencyRecord,
    Refused,
    Replied,
)

# The embedded store's bounds: the oldest records go first past them (it is development
# storage, lost at exit; a production deployment keeps records in MongoDB).
MAX_MEMORY_RECORDS = 10_000
MAX_MEMORY_BYTES = 256 * 1024 * 1024
# Expired records are forgotten after this many reservations (a scan of all of them).
_FORGET_EVERY = 1000


class IdempotencyStore(ABC):
    @abstractmethod
    async def reserve(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Inserts the record unless its `record_id` is taken (atomic across processes):
        None when inserted, else the record stored under that id, expired or not."""

    @abstractmethod
    async def take_over(self, old: IdempotencyRecord, new: IdempotencyRecord) -> bool:
        """Replaces `old` by `new` (its next attempt) if the stored record is still of
        `old`'s generation; of several concurrent calls for one generation, one at most wins."""

    @abstractmethod
    async def complete(self, record: IdempotencyRecord, answer: Answer) -> None:
        """Stores the answer of the record's running attempt, if it still holds the key."""

    @abstractmethod
    async def release(self, record: IdempotencyRecord) -> None:
        """Deletes the record if its running attempt still holds the key (nothing was done)."""

    @abstractmethod
    async def purge(self, tenant_id: str) -> None:
        """Deletes every record of the tenant."""

    @abstractmethod
    async def remove_expired(self, limit: int) -> int:
        """Deletes up to `limit` records past their `expires_at`; returns how many went."""

    async def close(self) -> None:  # noqa: B027 - adapters without resources need nothing
        """Releases what the adapter holds."""


def answer_size(answer: Answer | None) -> int:
    if isinstance(answer, Replied):
        return len(answer.reply)
    if isinstance(answer, Refused):
        return len(answer.detail)
    return 0


class InMemoryIdempotencyStore(IdempotencyStore):
    """Atomic by construction: no method awaits between reading and writing a record."""

    def __init__(
        self,
        clock: Clock = utc_now,
        max_records: int = MAX_MEMORY_RECORDS,
        max_bytes: int = MAX_MEMORY_BYTES,
    ) -> None:
        self._clock = clock
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._records: dict[str, IdempotencyRecord] = {}  # oldest first
        self._bytes = 0
        self._reservations = 0

    async def reserve(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        self._reservations += 1
        if self._reservations % _FORGET_EVERY == 0:
            self._forget(self._clock())
        found = self._records.get(record.record_id)
        if found is not None:
            return found
        self._put(record)
        return None

    async def take_over(self, old: IdempotencyRecord, new: IdempotencyRecord) -> bool:
        if not self._holds(old):
            return False
        self._put(new)
        return True

    async def complete(self, record: IdempotencyRecord, answer: Answer) -> None:
        if self._holds(record) and record.answer is None:
            self._put(replace(record, answer=answer))

    async def release(self, record: IdempotencyRecord) -> None:
        if self._holds(record) and record.answer is None:
            self._drop(record.record_id)

    async def purge(self, tenant_id: str) -> None:
        for record_id in [k for k, r in self._records.items() if r.tenant_id == tenant_id]:
            self._drop(record_id)

    async def remove_expired(self, limit: int) -> int:
        return self._forget(self._clock(), limit)

    def _holds(self, record: IdempotencyRecord) -> bool:
        found = self._records.get(record.record_id)
        return found is not None and found.generation == record.generation

    def _put(self, record: IdempotencyRecord) -> None:
        if record.record_id in self._records:
            self._drop(record.record_id)
        self._records[record.record_id] = record
        self._bytes += answer_size(record.answer)
        while len(self._records) > self._max_records or self._bytes > self._max_bytes:
            self._drop(next(iter(self._records)))

    def _drop(self, record_id: str) -> None:
        self._bytes -= answer_size(self._records.pop(record_id).answer)

    def _forget(self, now: datetime, limit: int | None = None) -> int:
        expired = [k for k, r in self._records.items() if r.expired(now)][:limit]
        for record_id in expired:
            self._drop(record_id)
        return len(expired)
