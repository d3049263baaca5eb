"""`scripts/bench [--quick]`: runs every scenario in one go, prints the tables and targets,
writes bench/results/<time>.json and <time>-scaling.png (and latest.*)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from bench import chart, compare, group_scale, noisy, report, scaling, soak
from bench.measure import micro
from bench.plan import FULL, QUICK, Run
from bench.procs import Supervisor
from bench.services import FERRETDB, ROOT, Database, Services, settings_env

RESULTS = ROOT / "bench" / "results"
# Seconds after which a run of every section skips the rest: room for all of them, the
# `groups` section last (bench/README.md has the run times), and a bound on a run gone slow.
TIME_CAP = 1800.0
QUICK_TIME_CAP = 600.0
SECTIONS = (
    "embedded",
    "ferretdb-sqlite",
    "ferretdb-postgresql",
    "scale-users",
    "scale-tenants",
    "resolver",
    "drivers",
    "noisy",
    "groups",
)
# Sections only `--only` runs: the soak alone takes about 12 minutes (4 with --quick).
ON_REQUEST = ("soak",)


def _uptime() -> str:
    found = subprocess.run(["/usr/bin/uptime"], capture_output=True, text=True, check=False)
    return found.stdout.strip()


def _version(argv: list[str]) -> str:
    try:
        found = subprocess.run(  # noqa: S603 - the benchmark's own tools
            argv, capture_output=True, text=True, check=False, timeout=10
        )
    except OSError:
        return "missing"
    return (found.stdout or found.stderr).strip().splitlines()[0] if found else ""


def _meta(quick: bool) -> dict[str, Any]:
    git = shutil.which("git") or "git"
    commit = subprocess.run(  # noqa: S603
        [git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout.strip()
    dirty = subprocess.run(  # noqa: S603
        [git, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "quick": quick,
        "commit": commit,
        "uncommitted_changes": bool(dirty),
        "cpus": os.cpu_count(),
        "uptime_before": _uptime(),
        "versions": {
            "scim2-server": metadata.version("scim2-server"),
            "ferretdb": _version([str(FERRETDB), "--version"]),
            "postgresql": _version(["/usr/lib/postgresql/15/bin/postgres", "--version"]),
            "wrk": _version(["wrk", "--version"]),
            "python": sys.version.split()[0],
        },
    }


def _slope_mb_per_minute(samples: list[tuple[float, int]]) -> float | None:
    if len(samples) < 3:
        return None
    xs = [t for t, _ in samples]
    ys = [b / 2**20 for _, b in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return None
    return 60 * sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def memory_summary(results: dict[str, Any]) -> None:
    summary: dict[str, str] = {}
    embedded = results.get("scaling_users", {}).get("embedded")
    if embedded and embedded["points"]:
        last = embedded["points"][-1]
        summary[f"embedded server RSS, {last['users']:,} users"] = (
            f"{last['server_rss_mb']} MB (empty: {embedded['empty']['server_rss_mb']} MB; "
            f"transcoder {last['transcoder_rss_mb']} MB)"
        )
    soak = results.get("memory", {}).get("soak")
    if soak:
        samples = soak["rss_samples"]
        settled = [s for s in samples if s[0] >= 0.1 * soak["seconds"]] or samples
        for name in ("server", "transcoder"):
            series = [(t, sizes[name]) for t, sizes in settled]
            first, last = series[0][1] / 2**20, series[-1][1] / 2**20
            slope = _slope_mb_per_minute(series)
            summary[f"{soak['storage']} {name} RSS over {soak['seconds']:.0f} s steady load"] = (
                f"{first:.1f} → {last:.1f} MB ({last - first:+.1f} MB; trend "
                f"{'-' if slope is None else f'{slope:+.2f}'} MB/min; "
                f"{soak['load']['ok']:,} requests)"
            )
    if summary:
        results.setdefault("memory", {})["summary"] = summary


def _sections(run: Run, postgresql: Database, postmaster: int) -> dict[str, Callable[[], None]]:
    services = run.services

    def ferretdb_sqlite() -> None:
        database, managed = services.ferretdb("sqlite")
        try:
            compare.on_ferretdb(run, database, soak=False, mix=run.budget.sqlite_mix)
        finally:
            services.supervisor.stop(managed)

    def both(scenario: Callable[[Run, Database | None], None]) -> None:
        scenario(run, None)
        scenario(run, postgresql)

    def resolver() -> None:
        found = run.results.setdefault("resolver", {})
        for keys in (1, 1000):
            found[f"{keys} keys"] = micro(
                "resolver", timeout=120, tenants=keys, seconds=run.budget.micro_seconds
            )
            run.note(f"resolver, {keys} keys: {found[f'{keys} keys']['per_second']:,}/s")

    def drivers() -> None:
        found = micro(
            "drivers",
            timeout=300,
            uri=postgresql.uri,
            count=2000 if run.budget.user_steps[-1] >= 100_000 else 300,
            seconds=run.budget.latency_seconds,
        )
        run.results["drivers"] = found
        for driver, figures in found.items():
            run.note(f"{driver}: {figures.get('error') or figures.get('get')}")

    return {
        "embedded": lambda: compare.side_by_side(run),
        "ferretdb-sqlite": ferretdb_sqlite,
        "ferretdb-postgresql": lambda: compare.on_ferretdb(run, postgresql, soak=True),
        "scale-users": lambda: both(scaling.users),
        "scale-tenants": lambda: both(scaling.tenants),
        "resolver": resolver,
        "drivers": drivers,
        "noisy": lambda: noisy.section(run, postgresql),
        "groups": lambda: group_scale.section(run, postgresql),
        # PostgreSQL's processes count as the database's there, beside FerretDB.
        "soak": lambda: soak.section(run, replace(postgresql, pids=(*postgresql.pids, postmaster))),
    }


def _keep_log_tails(log_dir: Path, kept: Path, lines: int = 200) -> None:
    kept.mkdir(parents=True, exist_ok=True)
    for log in sorted(log_dir.glob("*.log")):
        with log.open("rb") as source:
            source.seek(max(0, log.stat().st_size - 256 * lines))
            tail = source.read().splitlines()[-lines:]
        (kept / log.name).write_bytes(b"\n".join(tail) + b"\n")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~10 minute smoke run")
    parser.add_argument("--soak-seconds", type=float, help="steady load for memory growth")
    parser.add_argument(
        "--sqlite-mix",
        action="store_true",
        help="run the whole SCIM mix on FerretDB-SQLite too (its filters scan: slow)",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated sections of: {', '.join(SECTIONS + ON_REQUEST)} "
        f"({', '.join(ON_REQUEST)} only when named here)",
    )
    parser.add_argument(
        "--time-cap",
        type=float,
        help=f"skip sections past this many seconds (default {TIME_CAP:.0f}, "
        f"{QUICK_TIME_CAP:.0f} with --quick; none for the sections --only names)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of our server and transcoder, e.g. --set LOG_LEVEL=warning "
        "(becomes SCIMTENANCY_LOG_LEVEL); repeatable",
    )
    args = parser.parse_args(argv)
    try:
        args.service_env = settings_env(args.set)
    except ValueError as error:
        parser.error(str(error))
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS + ON_REQUEST)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    args.sections = chosen
    return args


def time_cap(args: argparse.Namespace) -> float | None:
    """`--time-cap`, else the default one, which only a run of every section has: a section
    named by `--only` always runs."""
    if args.time_cap:
        return float(args.time_cap)
    if args.only:
        return None
    return QUICK_TIME_CAP if args.quick else TIME_CAP


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    budget = QUICK if args.quick else FULL
    if args.sqlite_mix:
        budget = replace(budget, sqlite_mix=True)
    if args.soak_seconds is not None:
        budget = replace(budget, soak_seconds=max(1.0, min(args.soak_seconds, 3600.0)))
    cap = time_cap(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work_dir = Path(tempfile.mkdtemp(prefix="scimtenancy-bench-"))
    # Full logs (our processes log every request) stay in the temporary directory; their
    # last lines are kept in bench/results/<time>-logs/.
    log_dir = work_dir / "logs"
    log_dir.mkdir()
    supervisor = Supervisor(log_dir)
    signal.signal(signal.SIGTERM, _interrupt)
    document: dict[str, Any] = {"meta": _meta(args.quick), "errors": {}, "timings": {}}
    document["meta"]["service_env"] = args.service_env
    results: dict[str, Any] = {}
    started = time.monotonic()
    print(f"benchmark {'(quick) ' if args.quick else ''}— logs in {log_dir}", flush=True)
    try:
        services = Services(supervisor, work_dir, args.service_env)
        postgresql_url, postmaster = services.postgresql()
        postgresql, _ = services.ferretdb("postgresql", postgresql_url)
        run = Run(budget, services, postgresql_url, log_dir, results)
        sections = _sections(run, postgresql, postmaster.pid)
        for name in args.sections:
            if cap is not None and time.monotonic() - started > cap:
                document["errors"][name] = f"skipped: past the {cap:.0f} s time cap"
                print(f"skipping {name}: past the time cap", flush=True)
                continue
            print(f"[{time.monotonic() - started:5.0f} s] {name}", flush=True)
            begun = time.monotonic()
            try:
                sections[name]()
            except Exception as error:  # one broken section must not lose the others
                document["errors"][name] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
            document["timings"][name] = round(time.monotonic() - begun, 1)
    except KeyboardInterrupt:
        document["errors"]["run"] = "interrupted"
        print("interrupted: stopping what was started", flush=True)
    finally:
        supervisor.stop_all()
        _keep_log_tails(log_dir, RESULTS / f"{stamp}-logs")
        shutil.rmtree(work_dir, ignore_errors=True)
    document["meta"]["seconds"] = round(time.monotonic() - started, 1)
    document["meta"]["uptime_after"] = _uptime()
    memory_summary(results)
    found = report.verdicts(results)
    document.update(results=results, targets=found)
    (RESULTS / f"{stamp}.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    shutil.copyfile(RESULTS / f"{stamp}.json", RESULTS / "latest.json")
    print()
    print(report.render(results, found))
    title = (
        f"scim-tenancy benchmark {document['meta']['started']} "
        f"({'quick' if args.quick else 'full'}; {document['meta']['uptime_after']})"
    )
    png = RESULTS / f"{stamp}-scaling.png"
    if chart.draw(results, png, title):
        shutil.copyfile(png, RESULTS / "latest-scaling.png")
    print(f"\nload: before {document['meta']['uptime_before']}")
    print(f"      after  {document['meta']['uptime_after']}")
    print(f"results: {RESULTS / f'{stamp}.json'}; chart: {png}")
    print(f"took {document['meta']['seconds']} s")
    for name, failure in document["errors"].items():
        print(f"error in {name}: {failure}")
    return 1 if document["errors"] else 0
