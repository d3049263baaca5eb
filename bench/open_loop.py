"""The open loop of the SCIM load generator (`bench.loadgen` with a `rate`): requests due
at fixed intervals whatever the answers, each timed from its due time (so a slow server
cannot slow the load down and hide its own queueing), with figures per window."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from typing import Any

import aiohttp  # type: ignore[import-not-found, unused-ignore]

from bench.data import headers
from bench.loadgen import Call, Job, Outcome, attempt, call_maker, check_answer, created_user

OPEN_GRACE = 10.0  # seconds an open loop's last requests may run before they are cut
_MAX_RATE = 5000.0


def _tally(outcome: Outcome) -> dict[str, Any]:
    found = outcome.summary()
    del found["created"]  # the open loop's creates are deleted again
    return found


class _OpenLoop:
    """An open loop's state: its requests in flight, and its tallies per window and per
    operation; each request counts in both."""

    def __init__(self, job: Job, session: aiohttp.ClientSession) -> None:
        self.job = job
        self.session = session
        self.headers = headers(job.token)
        self.made: deque[tuple[int, str]] = deque()
        self.make = call_maker(job, self.made)
        count = max(1, math.ceil(job.seconds / job.window_seconds))
        self.windows = [Outcome(f"window {k + 1}") for k in range(count)]
        self.lag = [0.0] * count  # the latest a request of each window was sent, seconds
        self.cpu = [0.0] * (count + 1)  # this process's CPU seconds as each window starts
        self.by_op: dict[str, Outcome] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, i: int, due: float, start: float) -> None:
        k = min(int((due - start) / self.job.window_seconds), len(self.windows) - 1)
        self.lag[k] = max(self.lag[k], time.monotonic() - due)
        self.cpu[k] = self.cpu[k] or time.process_time()
        call = self.make(i)
        tally = (self.windows[k], self.by_op.setdefault(call.op, Outcome(call.op)))
        for outcome in tally:
            outcome.sent += 1
        if len(self.tasks) >= self.job.max_in_flight:
            for outcome in tally:
                outcome.fail(f"dropped: {self.job.max_in_flight} requests already in flight")
            return
        task = asyncio.create_task(self._request(i, due, call, tally))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _request(self, i: int, due: float, call: Call, tally: tuple[Outcome, ...]) -> None:
        for outcome in tally:
            outcome.in_flight += 1
        answer = await attempt(self.session, self.job.base_url, self.headers, call)
        for outcome in tally:
            outcome.in_flight -= 1
        if isinstance(answer, str):
            for outcome in tally:
                outcome.fail(answer)
            return
        status, payload = answer
        wrong = check_answer(call, status, payload)
        for outcome in tally:
            outcome.answered(status, wrong, time.monotonic() - due)
        if wrong is None and call.op == "create":
            self.made.append(created_user(self.job, i, payload))

    async def finish(self) -> None:
        """Waits OPEN_GRACE seconds for the requests in flight, then cuts the rest."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=OPEN_GRACE)
        pending = list(self.tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for outcome in (*self.windows, *self.by_op.values()):
            outcome.cut_in_flight()
        self.cpu[-1] = time.process_time()

    def summary(self, seconds: float) -> dict[str, Any]:
        windows = []
        for k, window in enumerate(self.windows):
            window.elapsed = min(self.job.window_seconds, seconds - k * self.job.window_seconds)
            windows.append(
                {
                    **_tally(window),
                    "lag_ms": round(1000 * self.lag[k], 1),
                    "loadgen_cpu_s": round((self.cpu[k + 1] or self.cpu[-1]) - self.cpu[k], 3),
                }
            )
        for outcome in self.by_op.values():
            outcome.elapsed = seconds
        return {
            "windows": windows,
            "ops": {op: _tally(outcome) for op, outcome in sorted(self.by_op.items())},
            "unfinished_creates": len(self.made),
        }


async def run_open(job: Job) -> dict[str, Any]:
    """Requests due every 1/rate seconds from `start_at` for `seconds`, whatever the answers;
    at most `max_in_flight` at once (a request due past them is dropped, an error)."""
    rate = min(job.rate, _MAX_RATE)
    count = min(job.max_requests, math.ceil(job.seconds * rate))
    connector = aiohttp.TCPConnector(limit=job.max_in_flight)
    timeout = aiohttp.ClientTimeout(total=60)
    start = max(job.start_at, time.monotonic())
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = _OpenLoop(job, session)
        for i in range(count):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            loop.send(i, due, start)
        await loop.finish()
    return {
        "op": job.op,
        "rate": rate,
        "due": count,
        "late_start_s": round(start - job.start_at, 3),
        "elapsed": round(time.monotonic() - start, 3),
        **loop.summary(job.seconds),
    }
