"""A/B runs of the HTTP → gRPC hop: several variants of the ceiling, the embedded service and
the run command started side by side, then GET by id with wrk on each in
turn, round after round, so that every variant meets the same moments of machine load. It
prints req/s and the CPU per request of each process (transcoder, server) and their sum.

.bench-venv/bin/python -m bench.hop --variant ceiling --variant embedded --variant run --peer
.bench-venv/bin/python -m bench.hop --variant old=embedded,src=/tmp/old --variant embedded
.bench-venv/bin/python -m bench.hop --variant embedded --variant quiet=embedded,LOG_LEVEL=warning
.bench-venv/bin/python -m bench.hop --op create --variant old=run,src=/tmp/old --variant run

`--op get` (the default) is wrk's GET by id at 16 connections; `create` and `patch` (replace
`displayName` of a loaded user) are the SCIM mix's operations at 8 concurrent, as
`scripts/bench` sends them (the ceiling answers only GET).

A variant is `[NAME=]KIND[,src=TREE][,SETTING=VALUE...]`: KIND `ceiling`, `embedded` or
`run`; `src` a source tree of the project (e.g. a `git worktree` of another commit) whose
code the variant's processes run instead of this one's; settings as `--set` takes them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import wrk
from bench.admin import open_tenant
from bench.compare import load
from bench.measure import drain, gets_for, loadgen, scim_job
from bench.procs import CpuMeter, Supervisor
from bench.report_format import number, table
from bench.services import ROOT, Services, Target, settings_env

RESULTS = ROOT / "bench" / "results"
KINDS = ("ceiling", "embedded", "run")
SOURCE_DIRS = ("server", "transcoder", "common", "dev", "protos/gen/python")
MAX_ROUNDS = 20
MAX_SECONDS = 60.0
OPS = ("get", "create", "patch")
MIX_CONCURRENCY = 8
Users = list[tuple[int, str]]


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str
    source: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Variant:
        head, *rest = text.split(",")
        name, equals, kind = head.partition("=")
        if not equals:
            name, kind = head, head
        if kind not in KINDS:
            raise ValueError(f"{text!r}: the kind is one of {', '.join(KINDS)}")
        source: Path | None = None
        settings: list[str] = []
        for item in rest:
            if item.startswith("src="):
                source = Path(item.removeprefix("src=")).resolve()
                if not (source / "server").is_dir():
                    raise ValueError(f"{text!r}: {source} is not a source tree of the project")
            else:
                settings.append(item)
        return cls(name, kind, source, settings_env(settings))

    def environment(self) -> dict[str, str]:
        env = dict(self.settings)
        if self.source is not None:
            env["PYTHONPATH"] = ":".join(str(self.source / d) for d in SOURCE_DIRS)
        return env


def start(supervisor: Supervisor, work_dir: Path, variant: Variant) -> Target:
    services = Services(supervisor, work_dir, variant.environment())
    if variant.kind == "ceiling":
        return replace(services.ceiling(), name=variant.name)
    if variant.kind == "run":
        return replace(services.run_command(variant.name), name=variant.name)
    return asyncio.run(open_tenant(services.ours(variant.name), "hop"))


def _users(target: Target, kinds: dict[str, str]) -> Users:
    """200 users loaded through /Bulk; the echo server answers any id with its canned one."""
    if kinds[target.name] == "ceiling":
        return [(0, "00000000-0000-4000-8000-000000000000")]
    return load(target, 200)


def _process_cpu(pids: tuple[int, ...], work: Any) -> tuple[dict[str, Any], list[float]]:
    meters = [CpuMeter((pid,)) for pid in pids]
    for meter in meters:
        meter.start()
    result = work()
    drain(pids)
    return result, [meter.stop() for meter in meters]


def _load(target: Target, op: str, users: Users, seconds: float, turn: int) -> Any:
    """The load of one round: wrk's GETs, else one operation of the SCIM mix (each round's
    creates under new user numbers)."""
    if op == "get":
        gets = gets_for(target, users)
        return lambda: wrk.run(target.origin, gets, seconds, 16)
    job = scim_job(
        target,
        op,
        users,
        concurrency=MIX_CONCURRENCY,
        seconds=seconds,
        new_index=10_000_000 + 1_000_000 * turn,
    )
    return lambda: loadgen(job)


def measure(
    target: Target, users: Users, seconds: float, op: str = "get", turn: int = 0
) -> dict[str, Any]:
    result, cpu = _process_cpu(target.service_pids, _load(target, op, users, seconds, turn))
    served = max(1, int(result["sent"]))
    return {
        "rps": result["rps"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "errors": result["errors"],
        "cpu_us": [round(1e6 * seconds_ / served, 1) for seconds_ in cpu],
        **({"samples": result.get("samples", [])[:3]} if result["errors"] else {}),
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of the rounds, per figure (CPU per process too)."""
    per_process = list(zip(*(run["cpu_us"] for run in runs), strict=True))
    return {
        "rps": statistics.median(run["rps"] for run in runs),
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "cpu_us": [statistics.median(values) for values in per_process],
        "cpu_total_us": statistics.median(sum(run["cpu_us"]) for run in runs),
        "errors": sum(run["errors"] for run in runs),
    }


def report(results: dict[str, dict[str, Any]], kinds: dict[str, str], op: str = "get") -> str:
    base = next(iter(results.values()))
    peer = results.get("peer")
    rows = []
    for name, figures in results.items():
        cpu = figures["cpu_us"]
        parts = {"peer": ("-", number(cpu[0], 0)), "run": ("-", number(cpu[0], 0))}.get(
            kinds.get(name, ""), (number(cpu[-1], 0), number(cpu[0], 0))
        )
        rows.append(
            [
                name,
                number(figures["rps"]),
                number(figures["p50_ms"], 2),
                *parts,
                number(figures["cpu_total_us"], 0),
                f"{figures['rps'] / base['rps']:.2f}x",
                f"{base['cpu_total_us'] / figures['cpu_total_us']:.2f}x",
                f"{figures['rps'] / peer['rps']:.2f}x" if peer else "-",
                f"{peer['cpu_total_us'] / figures['cpu_total_us']:.2f}x" if peer else "-",
                str(figures["errors"]),
            ]
        )
    header = [
        "variant",
        "req/s",
        "p50 ms",
        "transcoder µs/req",
        "server µs/req",
        "CPU µs/req",
        f"req/s vs {next(iter(results))}",
        "CPU less",
        "req/s vs peer",
        "CPU less than peer",
        "errors",
    ]
    load = (
        "GET by id (wrk, 16 connections)"
        if op == "get"
        else f"{op} (SCIM mix, {MIX_CONCURRENCY} concurrent)"
    )
    return table(f"## {load}: median of the rounds", header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", action="append", default=[], type=Variant.parse)
    parser.add_argument("--peer", action="store_true", help="the peer too, as the last variant")
    parser.add_argument("--op", choices=OPS, default="get", help="the load (default: get)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    kinds_run = KINDS if args.op == "get" else tuple(k for k in KINDS if k != "ceiling")
    variants: list[Variant] = args.variant or [Variant.parse(kind) for kind in kinds_run]
    rounds, seconds = min(args.rounds, MAX_ROUNDS), min(args.seconds, MAX_SECONDS)
    kinds = {variant.name: variant.kind for variant in variants}
    if args.op != "get" and "ceiling" in kinds.values():
        parser.error("the ceiling answers only GET: --op create and patch need other variants")
    work_dir = Path(tempfile.mkdtemp(prefix="scimtenancy-hop-"))
    supervisor = Supervisor(work_dir)
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        targets = [start(supervisor, work_dir, variant) for variant in variants]
        if args.peer:
            targets.append(Services(supervisor, work_dir).peer())
            kinds["peer"] = "peer"
        users = {target.name: _users(target, kinds) for target in targets}
        for target in targets:  # warm-up: every connection and cache made
            measure(target, users[target.name], 1, args.op, turn=0)
        for round_number in range(rounds):
            for target in targets:
                figures = measure(target, users[target.name], seconds, args.op, round_number + 1)
                runs.setdefault(target.name, []).append(figures)
                print(f"round {round_number + 1} {target.name}: {json.dumps(figures)}", flush=True)
    finally:
        supervisor.stop_all()
        shutil.rmtree(work_dir, ignore_errors=True)
    results = {name: summary(figures) for name, figures in runs.items()}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"hop-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps({"op": args.op, "variants": [str(v) for v in variants], "runs": runs})
    )
    print()
    print(report(results, kinds, args.op))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
