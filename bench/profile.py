"""Where our processes spend a scenario's time: py-spy samples the tenancy server and the
transcoder while one operation runs at full load, and the hottest functions are printed
(self time and inclusive time, as `function (file:line of its def)`).

.bench-venv/bin/python -m bench.profile --storage embedded --op get
.bench-venv/bin/python -m bench.profile --storage ferretdb-postgresql --op filter_eq
.bench-venv/bin/python -m bench.profile --storage ceiling --native   # C frames too

Raw py-spy stacks (collapsed format, for flame graph tools) are kept in
bench/results/profile-<time>/.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.admin import open_tenant
from bench.compare import load
from bench.measure import gets_for, scim_op, wrk_get
from bench.procs import Supervisor
from bench.services import Database, Services, Target, settings_env

RESULTS = Path(__file__).resolve().parent / "results"
CANNED_ID = "00000000-0000-4000-8000-000000000000"  # bench.echo_server answers any id


def summarize(raw: Path, top: int) -> str:
    """Top functions by self and by inclusive samples, from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "  (no samples)"
    lines = [f"  {total} samples"]
    for title, counter in (("self", own), ("inclusive", inclusive)):
        lines.append(f"  top {top} by {title} time:")
        for frame, count in counter.most_common(top):
            lines.append(f"    {100 * count / total:5.1f}%  {frame}")
    return "\n".join(lines)


def _spy(pid: int, seconds: float, output: Path, native: bool) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    return subprocess.Popen(  # noqa: S603 - the benchmark venv's py-spy
        [
            *(py_spy, "record", "-p", str(pid), "-d", str(round(seconds)), "-r", "200"),
            *("-F", "-f", "raw", "-o", str(output)),
            # Native stacks need the process paused while sampled; Python ones do not.
            *(("--native",) if native else ("--nonblocking",)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def profile(
    target: Target, op: str, seconds: float, out_dir: Path, top: int, native: bool = False
) -> None:
    users = [(0, CANNED_ID)] if target.name == "ceiling" else load(target, 2000)
    raws = {name: out_dir / f"{name}.txt" for name in ("server", "transcoder")}
    spies = [
        _spy(pid, seconds, raws[name], native)
        for name, pid in zip(("server", "transcoder"), target.service_pids, strict=True)
    ]
    time.sleep(0.5)  # py-spy attaches
    if op == "get":
        result = wrk_get(target, gets_for(target, users), seconds=seconds, connections=16)
    else:
        result = scim_op(target, op, users, concurrency=8, seconds=seconds)
    for spy in spies:
        _, errors = spy.communicate(timeout=seconds + 60)
        if spy.returncode:
            print(f"py-spy: {errors.decode()[-400:]}")
    parts = [
        f"{target.name} {op}: {result['rps']} req/s, p50 {result['p50_ms']} ms, "
        f"server CPU {result['server_cpu_ms']} ms/req, {result['errors']} errors"
    ]
    parts += [
        f"{name} ({raw}):\n{summarize(raw, top)}" for name, raw in raws.items() if raw.exists()
    ]
    text = "\n\n".join(parts)
    (out_dir / "summary.txt").write_text(text + "\n")
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--storage",
        choices=("embedded", "ferretdb-postgresql", "ferretdb-sqlite", "ceiling"),
        default="embedded",
    )
    parser.add_argument("--op", default="get", help="get (wrk) or an operation of bench.loadgen")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--native", action="store_true", help="C frames too (py-spy --native)")
    args = parser.parse_args()
    service_env = settings_env(args.set)
    out_dir = RESULTS / f"profile-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True)
    work_dir = Path(tempfile.mkdtemp(prefix="scimtenancy-profile-"))
    supervisor = Supervisor(work_dir)
    try:
        services = Services(supervisor, work_dir, service_env)
        database: Database | None = None
        if args.storage == "ferretdb-postgresql":
            url, _ = services.postgresql()
            database, _ = services.ferretdb("postgresql", url)
        elif args.storage == "ferretdb-sqlite":
            database, _ = services.ferretdb("sqlite")
        if args.storage == "ceiling":
            target = services.ceiling()
        else:
            target = asyncio.run(open_tenant(services.ours(args.storage, database), "profiled"))
        profile(target, args.op, min(args.seconds, 120.0), out_dir, args.top, args.native)
    finally:
        supervisor.stop_all()
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
