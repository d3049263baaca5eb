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

With a `rate`, the load is an open loop instead (`bench.open_loop`).
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


def check_answer(call: Call, status: int, payload: bytes) -> str | None:
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


async def attempt(
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


def created_user(job: Job, i: int, payload: bytes) -> tuple[int, str]:
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
                answer = await attempt(session, job.base_url, base_headers, call)
                outcome.in_flight -= 1
                outcome.sent += 1
                if isinstance(answer, str):
                    outcome.fail(answer)
                    continue
                status, payload = answer
                wrong = check_answer(call, status, payload)
                timed = job.time_first or not first
                outcome.answered(status, wrong, time.perf_counter() - t0 if timed else None)
                if wrong is not None:
                    continue
                if call.op == "create":
                    created = created_user(job, i, payload)
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


def main() -> None:
    spec = orjson.loads(sys.stdin.buffer.read())
    spec["users"] = [tuple(u) for u in spec["users"]]
    job = Job(**spec)
    if job.op not in OPERATIONS:
        raise SystemExit(f"unknown operation {job.op!r}; one of {', '.join(OPERATIONS)}")
    if job.rate > 0:
        from bench.open_loop import run_open

        sys.stdout.buffer.write(orjson.dumps(asyncio.run(run_open(job))))
        return
    outcome = asyncio.run(run(job))
    sys.stdout.buffer.write(orjson.dumps(outcome.summary(job.keep_latencies)))


if __name__ == "__main__":
    main()
