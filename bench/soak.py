"""The soak section (issue 12): our service on FerretDB-PostgreSQL, server and transcoder as
two processes, under the SCIM mix (bench.loadgen.MIX). A short closed-loop ramp of
concurrency finds the mix's maximum throughput; then an open loop at `load_share` of it runs
for `seconds`. Per window: requests, errors, p50 and p99 (each request timed from its due
time), the resident memory of the server and of the transcoder at the window's end, and the
CPU spent per request."""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from types import TracebackType
from typing import Any

from bench import soak_report
from bench.admin import open_tenant
from bench.compare import Users, load
from bench.loadgen import MIX
from bench.measure import Result, drain, loadgen, scim_job, scim_op
from bench.plan import Run
from bench.procs import CpuMeter, machine_busy_seconds, rss_bytes
from bench.services import Database, Target

_LEAD = 3.0  # seconds from starting the open loop's process to its first request
_RAMP_GAIN = 1.05  # a ramp step gaining less than this over the best so far ends the ramp
_NEW_INDEX = 10_000_000  # users created by ramp step n start at _NEW_INDEX + n * _INDEXES
_INDEXES = 1_000_000


class WindowMeter:
    """At the end of each window (every `window` seconds from `start` for `seconds`), in a
    thread: the RSS of the server and of the transcoder, and the CPU the server, the
    transcoder, the database and the whole machine spent during the window."""

    def __init__(self, target: Target, start: float, window: float, seconds: float) -> None:
        server, transcoder = target.service_pids
        self._rss = {"server": server, "transcoder": transcoder}
        self._cpu = {
            "server": CpuMeter((server,)),
            "transcoder": CpuMeter((transcoder,)),
            "db": CpuMeter(target.database_pids),
        }
        count = max(1, math.ceil(seconds / window))  # as bench.open_loop.run_open counts them
        self._ends = [start + min(seconds, window * (k + 1)) for k in range(count)]
        self._start = start
        self.before: dict[str, float] = {}
        self.windows: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss_mb(self) -> dict[str, float]:
        return {f"{name}_rss_mb": rss_bytes(pid) / 2**20 for name, pid in self._rss.items()}

    def _run(self) -> None:
        if self._stop.wait(max(0.0, self._start - time.monotonic())):
            return
        for meter in self._cpu.values():
            meter.start()
        self.before = self._rss_mb()
        busy = machine_busy_seconds()
        for end in self._ends:
            if self._stop.wait(max(0.0, end - time.monotonic())):
                return
            spent = {"machine_cpu_s": -busy}
            busy = machine_busy_seconds()
            spent["machine_cpu_s"] += busy
            for name, meter in self._cpu.items():
                spent[f"{name}_cpu_s"] = meter.stop()
                meter.start()
            self.windows.append({**self._rss_mb(), **spent, "load_average": os.getloadavg()[0]})

    def __enter__(self) -> WindowMeter:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def _ramp(run: Run, target: Target, users: Users) -> list[Result]:
    """The mix closed-loop at each concurrency in turn, until a step gains little."""
    budget = run.budget.soak
    steps: list[Result] = []
    for number, concurrency in enumerate(budget.ramp):
        busy, began = machine_busy_seconds(), time.monotonic()
        result = scim_op(
            target,
            "mix",
            users,
            concurrency=concurrency,
            seconds=budget.ramp_step_seconds,
            new_index=_NEW_INDEX + number * _INDEXES,
        )
        result.pop("created", None)
        result["concurrency"] = concurrency
        spent = machine_busy_seconds() - busy
        result["machine_cores"] = round(spent / (time.monotonic() - began), 2)
        run.note(
            f"ramp, {concurrency} at once: {result['rps']} req/s, p99 {result['p99_ms']} ms, "
            f"{result['errors']} errors {result['samples'] or ''}"
        )
        best = max((step["rps"] for step in steps), default=0.0)
        steps.append(result)
        if len(steps) >= 3 and result["rps"] < _RAMP_GAIN * best:
            break
    return steps


def _per_window(load: dict[str, Any], measured: dict[str, float]) -> dict[str, Any]:
    """The window's load figures with what was measured meanwhile: CPU per request, and the
    cores that processes other than the soak's kept busy (other engineers' work)."""
    sent = max(1, int(load["sent"]))
    service_cpu = measured["server_cpu_s"] + measured["transcoder_cpu_s"]
    soak_cpu = service_cpu + measured["db_cpu_s"] + load["loadgen_cpu_s"]
    return {
        **load,
        **{key: round(value, 3) for key, value in measured.items()},
        "cpu_ms_per_request": round(1000 * service_cpu / sent, 3),
        "db_cpu_ms_per_request": round(1000 * measured["db_cpu_s"] / sent, 3),
        "other_cores": round(max(0.0, measured["machine_cpu_s"] - soak_cpu) / load["elapsed"], 2),
    }


def _open_loop(run: Run, target: Target, users: Users, rate: float) -> dict[str, Any]:
    budget = run.budget.soak
    job = scim_job(
        target,
        "mix",
        users,
        concurrency=budget.max_in_flight,
        seconds=budget.seconds,
        new_index=_NEW_INDEX + len(budget.ramp) * _INDEXES,
    )
    drain(target.service_pids + target.database_pids)
    start = time.monotonic() + _LEAD
    job.update(
        rate=rate,
        window_seconds=budget.window_seconds,
        start_at=start,
        max_in_flight=budget.max_in_flight,
    )
    with WindowMeter(target, start, budget.window_seconds, budget.seconds) as meter:
        found = loadgen(job)
    del found["op"]
    found["windows"] = [
        _per_window(load, measured)
        for load, measured in zip(found["windows"], meter.windows, strict=False)
    ]
    found["rss_before"] = {key: round(value, 3) for key, value in meter.before.items()}
    return found


def section(run: Run, database: Database) -> None:
    """The soak on `database` (FerretDB-PostgreSQL: bench.cli passes its PostgreSQL too)."""
    budget = run.budget.soak
    services = run.services
    target = asyncio.run(open_tenant(services.ours("soak", database, "soak"), "soak"))
    try:
        users = load(target, budget.users)
        ramp = _ramp(run, target, users)
        best = max(step["rps"] for step in ramp)
        if best <= 0:
            raise RuntimeError("the ramp answered no request of the mix")
        rate = round(budget.load_share * best, 1)
        run.note(f"open loop: {rate} req/s for {budget.seconds:.0f} s")
        found = _open_loop(run, target, users, rate)
    finally:
        services.stop(target)
    run.results["soak"] = {
        "storage": database.name,
        "users": budget.users,
        "mix": {op: MIX.count(op) for op in dict.fromkeys(MIX)},
        "ramp": ramp,
        "max_rps": best,
        "load_share": budget.load_share,
        "seconds": budget.seconds,
        "window_seconds": budget.window_seconds,
        **found,
        "figures": soak_report.figures(found["windows"]),
    }
    for window in found["windows"]:
        run.note(soak_report.window_line(window))
