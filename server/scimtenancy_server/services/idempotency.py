"""Idempotent retries (draft-ietf-httpapi-idempotency-key-header) of creates and /Bulk.

The first request with a key reserves it, with a lease (how long its attempt may still be
running) and a reserved id: the id the resource gets, or the seed of a /Bulk's ids. When the
attempt ends, its answer is kept (a success, or a client error a retry would meet again) and
replayed to every retry with the same key and request; a failure that provably did nothing
(a gRPC UNAVAILABLE) frees the key; any other failure, or an attempt cut off, leaves the key
reserved until its lease ends. A retry then takes the key over and runs again under the same
reserved id, so what the first attempt did is found, not done twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from opentelemetry import metrics

from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.idempotency import (
    HEADER,
    Answer,
    IdempotencyRecord,
    Refused,
    Replied,
    Unkept,
    kept_refusal,
    key_hash,
    refused,
)
from scimtenancy_server.storage.idempotency import IdempotencyStore

logger = logging.getLogger(__name__)

# The shortest lease: a gRPC caller's attempt may run as long as its deadline, which the
# server follows; a minute covers the transcoder's RPC deadline (10 s) several times over.
MIN_LEASE = timedelta(seconds=60)
# Answers larger than this are not kept (MongoDB documents end at 16 MiB): a /Bulk answer
# within the default limits stays below 2.5 MiB even with 2 KiB base URLs, so only a Group
# created with tens of thousands of members (or limits raised far) gets there.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# A reservation that loses a race (another retry took the key over, the first attempt ended
# or freed it meanwhile) looks again this often before answering "in progress".
_RACES = 3

_DIFFERENT_REQUEST = "this Idempotency-Key was used for a different request"
_IN_PROGRESS = (
    "a request with this Idempotency-Key is still in progress; retry later with the same key"
)


def lease_for(bulk_timeout: float) -> timedelta:
    """The lease of every key: the longest the transcoder lets a request run (a /Bulk's
    deadline), and never under MIN_LEASE, whichever way the request came."""
    return max(MIN_LEASE, timedelta(seconds=bulk_timeout))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of a keyed request: under `reserved_id`; `resumed` when an earlier attempt
    was cut off and may have done some of the work."""

    reserved_id: str
    resumed: bool = False


Run = Callable[[Attempt], Awaitable[bytes]]
Reread = Callable[[str], Awaitable[bytes]]

_meter = metrics.get_meter("scimtenancy_server")
_outcomes = _meter.create_counter(
    "scim.idempotency.requests",
    unit="{request}",
    description="requests with an Idempotency-Key, by what became of them",
)


class IdempotencyService:
    def __init__(
        self,
        store: IdempotencyStore,
        retention: timedelta,
        nothing_done: Callable[[ScimError], bool],
        *,
        lease: timedelta = MIN_LEASE,
        clock: Clock = utc_now,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.store = store
        self._retention = retention
        self._nothing_done = nothing_done
        self._lease = lease
        self._clock = clock
        self._max_answer_bytes = max_answer_bytes
        self._finishing: set[asyncio.Future[None]] = set()

    async def run(
        self,
        tenant_id: str,
        key: str,
        scope: str,
        request_fingerprint: str,
        attempt: Run,
        reread: Reread | None = None,
    ) -> bytes:
        """The answer to the keyed request: `attempt`'s, or the first one's replayed.
        `reread` rebuilds a success whose answer was too large to keep from its reserved id."""
        hashed = key_hash(key)
        for _ in range(_RACES):
            now = self._clock()
            fresh = IdempotencyRecord(
                tenant_id,
                scope,
                hashed,
                request_fingerprint,
                str(uuid.uuid4()),
                lease_until=now + self._lease,
                expires_at=now + max(self._retention, self._lease),
            )
            stored = await self._reserve(fresh)
            if stored is None:
                return await self._attempt(fresh, attempt, resumed=False)
            if stored.expired(now) and not stored.leased(now):  # never replayed: as good as new
                successor = replace(fresh, attempt=stored.attempt + 1)
                if await self.store.take_over(stored, successor):
                    return await self._attempt(successor, attempt, resumed=False)
                continue
            if stored.fingerprint != request_fingerprint:
                _count("mismatch")
                raise ScimError(422, _DIFFERENT_REQUEST)
            if stored.answer is not None:
                return await self._replay(stored, stored.answer, reread)
            if stored.leased(now):
                break
            successor = replace(
                stored,
                attempt=stored.attempt + 1,
                lease_until=now + self._lease,
                expires_at=now + max(self._retention, self._lease),
            )
            if await self.store.take_over(stored, successor):
                return await self._attempt(successor, attempt, resumed=True)
        _count("in_progress")
        raise ScimError.conflict(_IN_PROGRESS)

    async def _reserve(self, fresh: IdempotencyRecord) -> IdempotencyRecord | None:
        """Reserves the key; a reservation that timed out may still land a moment later, so
        it is taken back (only this attempt's own record matches) before the 503 goes out."""
        try:
            return await self.store.reserve(fresh)
        except ScimError as error:
            if error.status == 503:
                await asyncio.shield(self._release(fresh))
            raise

    async def _attempt(self, record: IdempotencyRecord, attempt: Run, *, resumed: bool) -> bytes:
        _count("taken_over" if resumed else "first")
        try:
            reply = await attempt(Attempt(record.reserved_id, resumed))
        except ScimError as error:
            if kept_refusal(error):
                await self._finish(record, Refused.of(error))
            elif refused(error) or self._nothing_done(error):
                await self._release(record)
            raise  # anything else: the outcome is unknown, and the lease keeps the key
        answer: Answer = Replied(reply)
        if len(reply) > self._max_answer_bytes:
            answer = Unkept(len(reply))
        await self._finish(record, answer)
        return reply

    async def _finish(self, record: IdempotencyRecord, answer: Answer) -> None:
        """Keeps the answer; cancelling the caller does not stop that. If it cannot be
        kept, the key stays reserved until its lease ends, and a retry then takes over."""
        finishing = asyncio.ensure_future(self._complete(record, answer))
        self._finishing.add(finishing)
        finishing.add_done_callback(self._finishing.discard)
        await asyncio.shield(finishing)

    async def _complete(self, record: IdempotencyRecord, answer: Answer) -> None:
        try:
            await self.store.complete(record, answer)
        except Exception:
            logger.warning(
                "the answer to idempotency key %s of tenant %s cannot be kept",
                record.key_hash[:16],
                record.tenant_id,
            )

    async def _release(self, record: IdempotencyRecord) -> None:
        try:
            await self.store.release(record)
        except Exception:
            logger.warning(
                "idempotency key %s of tenant %s stays reserved until its lease ends",
                record.key_hash[:16],
                record.tenant_id,
            )

    async def _replay(
        self, record: IdempotencyRecord, answer: Answer, reread: Reread | None
    ) -> bytes:
        _count("replayed")
        logger.info(
            "replaying the first answer to idempotency key %s of tenant %s",
            record.key_hash[:16],
            record.tenant_id,
        )
        if isinstance(answer, Refused):
            raise answer.error()
        if isinstance(answer, Replied):
            return answer.reply
        if reread is None:
            raise ScimError.conflict(
                f"the request with this {HEADER} was completed, but its answer "
                f"({answer.size} bytes) was too large to keep for replay"
            )
        return await reread(record.reserved_id)

    async def close(self) -> None:
        """Waits for the answers being kept, then closes the store."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)
        await self.store.close()


def _count(outcome: str) -> None:
    _outcomes.add(1, {"scim.idempotency.outcome": outcome})
