"""The SCIM mix load generator: one operation at a given concurrency for a bounded time and
count, in a process of its own. It reads its job as JSON on stdin and writes the result as
JSON on stdout.

Operations: get (by id), filter_eq (`userName eq`), filter_co (`emails.value co`), list (a
page of 100), search (`POST /Users/.search`), create, patch (replace displayName), put,
delete. Reads go to the loaded users; patch, put and delete to the users `create` made.
`steady` cycles get, filter_eq and patch over the loaded users (the memory soak); `mix`
cycles through MIX (the soak section), its deletes taking the users its creates made.
Every answer is checked (status, and the number of results for queries): a wrong answer is
an error, never a fast success. The first request of each connection opens it and is not
timed. No request starts after `seconds`; requests still running `grace` seconds later are
cancelled and counted as `cut` (and as errors), so a phase never outlasts its budget by much.

With a `rate`, the load is an open loop instead (`run_open`): requests are due at fixed
intervals whatever the answers, each timed from its due time (so a slow server cannot slow
the load down and hide its own queueing), with figures per window of `window_seconds`.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp  # type: ignore[import-not-found, unused-ignore]
import orjson

from bench.data import headers, user, user_name

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
READS = ("get", "filter_eq", "filter_co", "list", "search")
WRITES = ("create", "patch", "put", "delete")
OPERATIONS = (*READS, *WRITES, "steady", "mix")
_STEADY = ("get", "filter_eq", "patch")
# The soak's mix: an IdP's steady provisioning in a cycle of 20 requests, creates and deletes
# in balance so the directory keeps its size. filter_co and list are left out: on FerretDB
# each is a scan costing about a second of database CPU, which would make the soak measure
# FerretDB's scans (their own tables measure them).
MIX = (
    *("create", "get", "filter_eq", "patch", "get", "filter_eq", "get", "search", "filter_eq"),
    *("patch", "create", "get", "filter_eq", "put", "get", "delete", "filter_eq", "patch"),
    *("get", "delete"),
)
OPEN_GRACE = 10.0  # seconds an open loop's last requests may run before they are cut
_MAX_RATE = 5000.0


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    ok: tuple[int, ...]
    params: dict[str, str] | None = None
    body: Any = None
    expect_results: int | None = None  # totalResults (or Resources, for a page) to check
    op: str = ""


@dataclass
class Job:
    base_url: str
    token: str
    op: str
    concurrency: int
    seconds: float
    max_requests: int
    users: list[tuple[int, str]]  # (user index, id)
    new_index: int = 10_000_000  # where created users' indexes start
    page_size: int = 100
    keep_latencies: bool = False  # the result lists every latency (to pool phases)
    time_first: bool = False  # time each connection's first request too
    rate: float = 0.0  # requests per second of an open loop (run_open); 0: closed loop
    window_seconds: float = 60.0  # an open loop's figures are per window of this length
    start_at: float = 0.0  # time.monotonic() an open loop's first request is due
    max_in_flight: int = 256  # an open loop's request due past this many is dropped (an error)


@dataclass
class Outcome:
    op: str
    ok: int = 0
    errors: int = 0
    sent: int = 0
    in_flight: int = 0
    cut: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    created: list[tuple[int, str]] = field(default_factory=list)

    def fail(self, why: str) -> None:
        self.errors += 1
        if len(self.samples) < 3:
            self.samples.append(why[:300])

    def answered(self, status: int, wrong: str | None, spent: float | None) -> None:
        """An answer: counted by status, and a success (timed, unless `spent` is None) or an
        error."""
        self.codes[str(status)] = self.codes.get(str(status), 0) + 1
        if wrong is not None:
            self.fail(wrong)
            return
        self.ok += 1
        if spent is not None:
            self.latencies.append(spent)

    def cut_in_flight(self) -> None:
        self.cut = self.in_flight
        for _ in range(self.cut):
            self.fail("cut: still running at the end of the phase")

    def summary(self, keep_latencies: bool = False) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        found: dict[str, Any] = {
            "op": self.op,
            "ok": self.ok,
            "errors": self.errors,
            "sent": self.sent,
            "cut": self.cut,
            "elapsed": round(self.elapsed, 3),
            "rps": round(self.ok / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": percentile(ordered, 50),
            "p90_ms": percentile(ordered, 90),
            "p99_ms": percentile(ordered, 99),
            "mean_ms": round(1000 * sum(ordered) / len(ordered), 3) if ordered else None,
            "codes": self.codes,
            "samples": self.samples,
            "created": self.created,
        }
        if keep_latencies:
            found["latencies"] = self.latencies  # seconds
        return found


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(1000 * ordered[rank - 1], 3)


def _renamed(index: int, label: str) -> dict[str, Any]:
    document = user(index)
    document["displayName"] = f"{label} {index}"
    return document


def _op_of(job: Job, i: int) -> str:
    if job.op == "steady":
        return _STEADY[i % len(_STEADY)]
    if job.op == "mix":
        return MIX[i % len(MIX)]
    return job.op


def call_maker(job: Job, made: deque[tuple[int, str]] | None = None) -> Callable[[int], Call]:
    """Request number i of the job. The mix's deletes take the oldest of the users its
    creates `made` (the caller appends them); while there is none, the delete is a get."""
    users = job.users
    made = deque() if made is None else made

    def pick(i: int) -> tuple[int, str]:
        return users[i % len(users)]

    def make(i: int) -> Call:
        index, resource_id = pick(i) if users else (0, "")
        op = _op_of(job, i)
        if job.op == "mix" and op == "delete":
            if made:
                index, resource_id = made.popleft()
            else:
                op = "get"
        return replace(_call(job, op, i, index, resource_id), op=op)

    return make


def _call(job: Job, op: str, i: int, index: int, resource_id: str) -> Call:
    if op == "get":
        return Call("GET", f"/Users/{resource_id}", (200,))
    if op == "filter_eq":
        query = {"filter": f'userName eq "{user_name(index)}"'}
        return Call("GET", "/Users", (200,), query, expect_results=1)
    if op == "filter_co":
        # The user's own address: `co` on a value that only it contains.
        query = {"filter": f'emails.value co "{user_name(index).split("@")[0]}@"'}
        return Call("GET", "/Users", (200,), query, expect_results=1)
    if op == "list":
        query = {"startIndex": "1", "count": str(job.page_size)}
        return Call("GET", "/Users", (200,), query, expect_results=job.page_size)
    if op == "search":
        body = {
            "schemas": [SEARCH_REQUEST],
            "filter": f'userName eq "{user_name(index)}"',
            "startIndex": 1,
            "count": 10,
        }
        return Call("POST", "/Users/.search", (200,), body=body, expect_results=1)
    if op == "create":
        return Call("POST", "/Users", (201,), body=user(job.new_index + i))
    if op == "patch":
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": f"P{i}"}],
        }
        return Call("PATCH", f"/Users/{resource_id}", (200, 204), body=body)
    if op == "put":
        return Call("PUT", f"/Users/{resource_id}", (200,), body=_renamed(index, "Put"))
    if op == "delete":
        return Call("DELETE", f"/Users/{resource_id}", (204,))
    raise ValueError(f"unknown operation {op!r}")


def _check(call: Call, status: int, payload: bytes) -> str | None:
    """Why the answer is wrong, or None."""
    if status not in call.ok:
        return f"{status} {payload[:200]!r}"
    if call.expect_results is None:
        return None
    found = orjson.loads(payload)
    if call.expect_results == 1:
        total = found.get("totalResults")
        return None if total == 1 else f"totalResults={total}, expected 1"
    resources = len(found.get("Resources") or [])
    return None if resources == call.expect_results else f"{resources} resources in the page"


def grace(seconds: float) -> float:
    """How long requests may still run after a phase stops starting new ones."""
    return max(2.0, 0.5 * seconds)


async def _attempt(
    session: aiohttp.ClientSession, url: str, base_headers: dict[str, str], call: Call
) -> tuple[int, bytes] | str:
    """The answer's status and body, or why there was none."""
    data = orjson.dumps(call.body) if call.body is not None else None
    try:
        async with session.request(
            call.method, url + call.path, params=call.params, data=data, headers=base_headers
        ) as response:
            return response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError) as error:
        return f"{type(error).__name__}: {error}"


def _created(job: Job, i: int, payload: bytes) -> tuple[int, str]:
    return job.new_index + i, orjson.loads(payload)["id"]


async def run(job: Job) -> Outcome:
    outcome = Outcome(job.op)
    made: deque[tuple[int, str]] = deque()
    make = call_maker(job, made)
    limit = job.max_requests
    if job.op not in ("create", "list") and not job.users:
        outcome.fail("no users to work on (patch, put and delete need a create first)")
        return outcome
    if job.op == "delete":
        limit = min(limit, len(job.users))
    numbers = iter(range(limit))
    base_headers = headers(job.token)
    connector = aiohttp.TCPConnector(limit=job.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    started = time.perf_counter()
    deadline = started + job.seconds

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            first = True
            for i in numbers:  # shared: each number is taken once
                if time.perf_counter() >= deadline:
                    return
                call = make(i)
                t0 = time.perf_counter()
                outcome.in_flight += 1
                answer = await _attempt(session, job.base_url, base_headers, call)
                outcome.in_flight -= 1
                outcome.sent += 1
                if isinstance(answer, str):
                    outcome.fail(answer)
                    continue
                status, payload = answer
                wrong = _check(call, status, payload)
                timed = job.time_first or not first
                outcome.answered(status, wrong, time.perf_counter() - t0 if timed else None)
                if wrong is not None:
                    continue
                if call.op == "create":
                    created = _created(job, i, payload)
                    (outcome.created if job.op == "create" else made).append(created)
                first = False

        workers = asyncio.gather(*(worker() for _ in range(job.concurrency)))
        try:
            await asyncio.wait_for(workers, timeout=job.seconds + grace(job.seconds))
        except TimeoutError:
            outcome.cut_in_flight()
            outcome.sent += outcome.cut
    outcome.elapsed = time.perf_counter() - started
    return outcome


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
        answer = await _attempt(self.session, self.job.base_url, self.headers, call)
        for outcome in tally:
            outcome.in_flight -= 1
        if isinstance(answer, str):
            for outcome in tally:
                outcome.fail(answer)
            return
        status, payload = answer
        wrong = _check(call, status, payload)
        for outcome in tally:
            outcome.answered(status, wrong, time.monotonic() - due)
        if wrong is None and call.op == "create":
            self.made.append(_created(self.job, i, payload))

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


def main() -> None:
    spec = orjson.loads(sys.stdin.buffer.read())
    spec["users"] = [tuple(u) for u in spec["users"]]
    job = Job(**spec)
    if job.op not in OPERATIONS:
        raise SystemExit(f"unknown operation {job.op!r}; one of {', '.join(OPERATIONS)}")
    if job.rate > 0:
        sys.stdout.buffer.write(orjson.dumps(asyncio.run(run_open(job))))
        return
    outcome = asyncio.run(run(job))
    sys.stdout.buffer.write(orjson.dumps(outcome.summary(job.keep_latencies)))


if __name__ == "__main__":
    main()
