"""Tenant B of the noisy-neighbour section: sends the classes of bench.hostile_requests in
turn. As a process of its own (`python -m bench.flood`) it floods at a fixed concurrency:
it reads its job as one JSON line on stdin, prints `started` once its requests are on their
way, stops starting new ones at a `stop` line (or end of input, or its own time and count
caps), cancels what is still running `grace` seconds later (counted as `cut`), and prints
its outcome per class as one JSON line. `one_at_a_time` sends one class sequentially, for
the cost of a single request."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp  # type: ignore[import-not-found, unused-ignore]
import orjson

from bench.data import headers
from bench.hostile_requests import Hostile, Limits, build
from bench.loadgen import percentile

Endpoints = dict[str, tuple[str, str]]  # tenant role ("data", "writes") -> (base URL, token)
_TIMEOUT = aiohttp.ClientTimeout(total=180)


@dataclass
class Tally:
    """What one class met: status codes, latencies of clean answers, samples of others."""

    sent: int = 0
    clean: int = 0
    cut: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)

    def note(self, status: int, seconds: float, problem: str | None) -> None:
        self.sent += 1
        self.codes[str(status)] = self.codes.get(str(status), 0) + 1
        self.latencies.append(seconds)
        if problem is None:
            self.clean += 1
        elif len(self.samples) < 3:
            self.samples.append(problem[:300])

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "sent": self.sent,
            "clean": self.clean,
            "cut": self.cut,
            "codes": self.codes,
            "p50_ms": percentile(ordered, 50),
            "p99_ms": percentile(ordered, 99),
            "max_ms": percentile(ordered, 100),
            "samples": self.samples,
        }


def problem_with(hostile: Hostile, status: int, payload: bytes) -> str | None:
    """Why the answer is not a clean one (a result, or a documented refusal), or None."""
    try:
        found = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        return f"{status}, not JSON: {payload[:200]!r}"
    if not isinstance(found, dict):
        return f"{status}, not a JSON object"
    if status in hostile.ok:
        failed = [
            o for o in found.get("Operations", []) if not str(o.get("status")).startswith("2")
        ]
        return f"{len(failed)} bulk operations failed: {failed[0]}" if failed else None
    if 400 <= status < 500 and found.get("scimType") in hostile.refusals:
        return None
    return f"{status} {payload[:200]!r}"


async def send(
    session: aiohttp.ClientSession,
    endpoints: Endpoints,
    hostile: Hostile,
    number: int,
    targets: list[str],
) -> tuple[int, float, str | None]:
    """Status, seconds and problem (None: clean) of one request."""
    base_url, token = endpoints[hostile.tenant]
    path, params, body = hostile.request(number, targets)
    started = time.perf_counter()
    try:
        async with session.request(
            hostile.method,
            base_url + path,
            params=params,
            data=body or None,
            headers=headers(token),
        ) as response:
            payload = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        return 0, time.perf_counter() - started, f"{type(error).__name__}: {error}"
    return status, time.perf_counter() - started, problem_with(hostile, status, payload)


async def one_at_a_time(
    endpoints: Endpoints, hostile: Hostile, numbers: range, targets: list[str], seconds: float
) -> Tally:
    """Requests of one class, one after the other, until `numbers` or `seconds` run out
    (at least one is sent)."""
    tally, deadline = Tally(), time.monotonic() + seconds
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        for number in numbers:
            tally.note(*await send(session, endpoints, hostile, number, targets))
            if time.monotonic() >= deadline:
                break
    return tally


@dataclass
class FloodJob:
    endpoints: Endpoints
    limits: dict[str, int]
    targets: list[str]
    concurrency: int
    seconds: float  # a cap: the harness normally stops the flood earlier
    max_requests: int
    first_number: int
    grace: float


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Sets `stop` at a `stop` line on stdin or at its end (in a daemon thread, which a
    process that ends for another reason does not wait for)."""
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    loop.call_soon_threadsafe(stop.set)


async def flood(job: FloodJob) -> dict[str, Any]:
    classes = build(Limits(**job.limits))
    tallies = {hostile.name: Tally() for hostile in classes}
    running: dict[int, str] = {}  # request number -> class, while in flight
    numbers = iter(range(job.first_number, job.first_number + job.max_requests))
    stop = asyncio.Event()
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=job.concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=_TIMEOUT) as session:

        async def worker() -> None:
            for number in numbers:  # shared: each number is taken once
                if stop.is_set():
                    return
                hostile = classes[number % len(classes)]
                running[number] = hostile.name
                outcome = await send(session, job.endpoints, hostile, number, job.targets)
                del running[number]
                tallies[hostile.name].note(*outcome)

        workers = asyncio.gather(*(worker() for _ in range(job.concurrency)))
        print("started", flush=True)
        loop = asyncio.get_running_loop()
        threading.Thread(target=_watch_stdin, args=(loop, stop), daemon=True).start()
        waiting: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait()), workers]
        await asyncio.wait(waiting, timeout=job.seconds, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        try:
            await asyncio.wait_for(workers, timeout=job.grace)
        except TimeoutError:
            for name in running.values():
                tallies[name].cut += 1
    return {
        "elapsed": round(time.perf_counter() - started, 3),
        "classes": {name: tally.summary() for name, tally in tallies.items()},
    }


def main() -> None:
    job = FloodJob(**orjson.loads(sys.stdin.readline()))
    result = asyncio.run(flood(job))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
