"""What reloading the tenants file costs a serving process, on the embedded storage.

A server (gRPC on loopback) starts with a file of N tenants; a client thread lists one
tenant's Users without pause while the file is reloaded: unchanged (forced, as SIGHUP does),
then with every tenant's limit changed. Printed: each reload's duration, the requests'
latency while idle and during each reload, and the event loop's longest stall (a ticker
asking for a turn every millisecond). Not a test (the suite asserts no time):
`python -m bench.tenant_reload [--tenants 1000 10000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import build_application, build_grpc_server, build_tenant_config
from scimtenancy_server.services.tenant_config.reading import TenantsFileSource, read_at_start

IDLE_SECONDS = 2.0
TICK_SECONDS = 0.001


def tenants_yaml(count: int, users: int) -> str:
    lines = ["version: 1", "tenants:"]
    for index in range(count):
        lines += [f"  - id: t-{index:05d}", f"    limits: {{users: {users}, groups: 50}}"]
    return "\n".join(lines) + "\n"


@dataclass
class Latencies:
    """A client thread's request latencies, in milliseconds, while `running`."""

    target: str
    api_key: str
    samples: list[float] = field(default_factory=list)
    running: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with grpc.insecure_channel(self.target) as channel:
            stub = resources_pb2_grpc.ResourceServiceStub(channel)
            request = resources_pb2.ListResourcesRequest(resource_type="User", count=1)
            metadata = (("authorization", f"Bearer {self.api_key}"),)
            while not self.done.is_set():
                started = time.perf_counter()
                try:
                    stub.ListResources(request, metadata=metadata, timeout=30)
                except grpc.RpcError:
                    if self.done.is_set():  # the server stopped first
                        return
                    raise
                if self.running.is_set():
                    self.samples.append((time.perf_counter() - started) * 1000)

    def take(self) -> list[float]:
        taken, self.samples = self.samples, []
        return taken


async def _longest_stall(until: asyncio.Event) -> float:
    """The longest gap between two turns of a ticker that asks for one every millisecond,
    beyond that millisecond, in milliseconds."""
    worst = 0.0
    last = time.perf_counter()
    while not until.is_set():
        await asyncio.sleep(TICK_SECONDS)
        now = time.perf_counter()
        worst = max(worst, (now - last - TICK_SECONDS) * 1000)
        last = now
    return worst


async def _measured(
    client: Latencies, work: Callable[[], Awaitable[object]]
) -> tuple[float, list[float], float]:
    finished = asyncio.Event()
    ticker = asyncio.create_task(_longest_stall(finished))
    await asyncio.sleep(0)  # the ticker's clock starts before the work does
    client.running.set()
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    client.running.clear()
    await asyncio.sleep(TICK_SECONDS)  # a last turn: a stall at the very end is counted
    finished.set()
    return elapsed, client.take(), await ticker


def _shown(label: str, elapsed: float, samples: list[float], stall: float) -> str:
    if not samples:
        return f"  {label:<28} {elapsed * 1000:8.0f} ms   (no request completed)"
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"  {label:<28} {elapsed * 1000:8.0f} ms   requests {len(samples):5d}  "
        f"p50 {statistics.median(samples):6.2f} ms  p99 {p99:7.2f} ms  "
        f"max {ordered[-1]:7.2f} ms   loop stall max {stall:6.1f} ms"
    )


async def measure(count: int, directory: Path) -> None:
    file = directory / f"tenants-{count}.yaml"
    file.write_text(tenants_yaml(count, users=1000))
    settings = Settings(tenants_file=[file], grpc_port=0, log_level="warning")
    app = build_application(settings)
    server, port = await build_grpc_server(app, settings)
    reloader = build_tenant_config(app, settings)
    started = time.perf_counter()
    loaded = read_at_start(TenantsFileSource.from_settings(settings))
    read = time.perf_counter() - started
    await reloader.start(loaded)
    first = time.perf_counter() - started
    await server.start()
    _, api_key = await app.administration.issue_api_key("t-00000")
    client = Latencies(f"127.0.0.1:{port}", api_key)
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    print(
        f"{count} tenants ({file.stat().st_size // 1024} KiB): read {read * 1000:.0f} ms, "
        f"first apply (all created) {first * 1000:.0f} ms"
    )
    try:
        print(_shown("idle", *await _measured(client, lambda: asyncio.sleep(IDLE_SECONDS))))
        unchanged = await _measured(client, lambda: reloader.reload(forced=True))
        print(_shown("reload, nothing changed", *unchanged))
        file.write_text(tenants_yaml(count, users=2000))
        print(_shown("reload, every limit changed", *await _measured(client, reloader.reload)))
    finally:
        client.done.set()
        await asyncio.to_thread(thread.join, 30)  # its last call needs the loop to answer
        await server.stop(None)
        await app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for count in args.tenants:
            asyncio.run(measure(count, Path(directory)))


if __name__ == "__main__":
    main()
