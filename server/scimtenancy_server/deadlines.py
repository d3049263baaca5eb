"""The time a request may take, from its caller's deadline, and what it has begun to change.

A gRPC caller sends its deadline with the call; the server works to a budget a little shorter,
so that it answers, with what it did or a refusal that did nothing, before the caller stops
waiting. Writes mark the moment they start changing stored data: a fault after that moment
has an unknown outcome, and the answer says so instead of inviting a blind retry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from scimtenancy_common.wire import OUTCOME_UNKNOWN
from scimtenancy_server.domain.errors import ScimError

# The share of the caller's time kept back for the answer to be made and travel: at least
# 50 ms (a BulkResponse of 1,000 results takes some milliseconds to render and send), at most
# a second.
_MARGIN_SHARE = 0.1
_MIN_MARGIN = 0.05
_MAX_MARGIN = 1.0

NOT_STARTED = "the request ran out of time before it changed anything; retry"


@dataclass(slots=True)
class Budget:
    """One request's deadline (`time.monotonic()` seconds; None: no deadline) and whether it
    has begun to change stored data."""

    deadline: float | None = None
    writing: bool = field(default=False)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def exhausted(self, needed: float = 0.0) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= needed


_current: ContextVar[Budget | None] = ContextVar("scimtenancy_budget", default=None)


def budget_for(time_remaining: float | None) -> Budget:
    """The server's budget for a call whose caller waits `time_remaining` seconds."""
    if time_remaining is None:
        return Budget()
    margin = min(_MAX_MARGIN, max(_MIN_MARGIN, time_remaining * _MARGIN_SHARE))
    return Budget(time.monotonic() + time_remaining - margin)


def current_budget() -> Budget:
    """The running request's budget (unbounded outside a request, e.g. in migrations)."""
    return _current.get() or Budget()


def enter_budget(budget: Budget) -> Token[Budget | None]:
    """Makes `budget` the running request's (undone by `leave_budget`)."""
    return _current.set(budget)


def leave_budget(token: Token[Budget | None]) -> None:
    _current.reset(token)


@contextmanager
def working_to(budget: Budget) -> Iterator[Budget]:
    token = enter_budget(budget)
    try:
        yield budget
    finally:
        leave_budget(token)


def require_time() -> None:
    """Refuses to start a change when the request's time is up: nothing has been done, so
    the caller may safely retry."""
    if current_budget().exhausted():
        raise ScimError.unavailable(NOT_STARTED)


def begin_writing() -> None:
    """Marks that the request is about to change stored data (check `require_time` first)."""
    current_budget().writing = True


def loop_deadline(budget: Budget) -> float | None:
    """The budget's deadline on the running event loop's clock (for `asyncio.timeout_at`)."""
    remaining = budget.remaining()
    return None if remaining is None else asyncio.get_running_loop().time() + remaining


def as_outcome(error: ScimError) -> ScimError:
    """A fault met after the request began writing has an unknown outcome, whichever of its
    steps met it (an earlier one may have landed); any other error is told as it is."""
    if error.status == 503 and current_budget().writing:
        return ScimError.outcome_unknown(OUTCOME_UNKNOWN)
    return error
