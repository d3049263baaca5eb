"""One measurement: a load generator process (bench.loadgen or wrk) against a target, with
the CPU its service processes (and database processes) spent meanwhile."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from bench import wrk
from bench.procs import CpuMeter, rss_bytes
from bench.services import ROOT, Target

Result = dict[str, Any]


def drain(pids: Sequence[int], cap: float = 30.0) -> float:
    """Waits until the processes are idle (requests the load generator gave up on may still be
    running in them), at most `cap` seconds; returns the seconds waited."""
    meter, started = CpuMeter(tuple(pids)), time.monotonic()
    while time.monotonic() - started < cap:
        meter.start()
        time.sleep(0.25)
        if meter.stop() < 0.02:  # under 8% of a core
            break
    return round(time.monotonic() - started, 2)


def _with_cpu(target: Target, work: Callable[[], Result]) -> Result:
    """Runs the load; the CPU its target spent until it is idle again is charged to it."""
    service, database = CpuMeter(target.service_pids), CpuMeter(target.database_pids)
    service.start()
    database.start()
    result = work()
    result["drain_s"] = drain(target.service_pids + target.database_pids)
    service_cpu, database_cpu = service.stop(), database.stop()
    served = max(1, int(result["sent"]))
    result["server_cpu_ms"] = round(1000 * service_cpu / served, 3)
    if target.database_pids:
        result["db_cpu_ms"] = round(1000 * database_cpu / served, 3)
    result["target"] = target.name
    return result


def scim_job(
    target: Target,
    op: str,
    users: Sequence[tuple[int, str]],
    *,
    concurrency: int,
    seconds: float,
    max_requests: int = 1_000_000,
    new_index: int = 10_000_000,
    keep_latencies: bool = False,
    time_first: bool = False,
) -> Result:
    """The job of one operation of the SCIM mix (bench.loadgen.Job)."""
    return {
        "base_url": target.base_url,
        "token": target.token,
        "op": op,
        "concurrency": concurrency,
        "seconds": seconds,
        "max_requests": max_requests,
        "users": list(users),
        "new_index": new_index,
        "keep_latencies": keep_latencies,
        "time_first": time_first,
    }


def loadgen(job: Result) -> Result:
    """Runs bench.loadgen in its own process."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=orjson.dumps(job),
        capture_output=True,
        cwd=ROOT,
        timeout=job["seconds"] + 120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"loadgen {job['op']} failed: {completed.stderr.decode()[-800:]}")
    result: Result = orjson.loads(completed.stdout)
    return result


def scim_op(
    target: Target,
    op: str,
    users: Sequence[tuple[int, str]],
    *,
    concurrency: int,
    seconds: float,
    max_requests: int = 1_000_000,
    new_index: int = 10_000_000,
) -> Result:
    """One operation of the SCIM mix, with the CPU its target spent."""
    job = scim_job(
        target,
        op,
        users,
        concurrency=concurrency,
        seconds=seconds,
        max_requests=max_requests,
        new_index=new_index,
    )
    return _with_cpu(target, lambda: loadgen(job))


def wrk_get(target: Target, gets: list[wrk.Get], *, seconds: float, connections: int) -> Result:
    """GET by id at full speed with wrk."""
    return _with_cpu(target, lambda: wrk.run(target.origin, gets, seconds, connections))


def gets_for(target: Target, users: Sequence[tuple[int, str]]) -> list[wrk.Get]:
    prefix = target.base_url.removeprefix(target.origin)
    return [wrk.Get(f"{prefix}/Users/{resource_id}", target.token) for _, resource_id in users]


class RssSampler:
    """Samples the resident memory of named processes every `interval` seconds, in a
    thread, while a load runs."""

    def __init__(self, pids: dict[str, int], interval: float = 1.0) -> None:
        self._pids = dict(pids)
        self._interval = interval
        self.samples: list[tuple[float, dict[str, int]]] = []  # (seconds, bytes by name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = {name: rss_bytes(pid) for name, pid in self._pids.items()}
            self.samples.append((time.monotonic() - self._started, sizes))
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def micro(task: str, timeout: float, **job: Any) -> Result:
    """A bench.micro task in its own process."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.micro"],
        input=orjson.dumps({"task": task, **job}),
        capture_output=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"micro {task} failed: {completed.stderr.decode()[-800:]}")
    result: Result = orjson.loads(completed.stdout)
    return result
