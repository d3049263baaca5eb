"""Real `scimtenancy-server` processes sharing one MongoDB database, as replicas behind a load
balancer would: `two_servers` gives one gRPC channel to each of two; `server_processes` gives
the processes themselves, to stop, drain or kill."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from e2e.stack import ADMIN_TOKEN
from helpers import require_mongodb

from scimtenancy_server.storage.mongo import connect

SERVER = Path(sys.executable).parent / "scimtenancy-server"
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    drain: threading.Thread

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> int:
        """SIGTERM (a drain), then its exit status once it has ended."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=30)
        self.drain.join(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return status

    def kill(self) -> None:
        """SIGKILL: the process dies mid-request, as on a crash or an OOM kill."""
        self.process.kill()
        self.process.wait(timeout=30)


def start_server(database: str, env: Mapping[str, str] | None = None) -> ServerProcess:
    return _listening(_launch(database, env or {}))


def _launch(database: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    every = {
        **os.environ,
        "SCIMTENANCY_STORAGE": "mongodb",
        "SCIMTENANCY_MONGODB_URI": require_mongodb(),
        "SCIMTENANCY_MONGODB_DATABASE": database,
        "SCIMTENANCY_GRPC_PORT": "0",
        "SCIMTENANCY_ADMIN_TOKEN": ADMIN_TOKEN,
        **env,
    }
    return subprocess.Popen([str(SERVER)], env=every, stderr=subprocess.PIPE, text=True)


def _listening(process: subprocess.Popen[str]) -> ServerProcess:
    """The server once it says it listens (killed, and an AssertionError, after 60 s)."""
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = LISTENING.search(line)
            if found:
                return ServerProcess(process, int(found.group(1)), _drained(process))
    finally:
        watchdog.cancel()
    raise AssertionError("the server did not start")


def _drained(process: subprocess.Popen[str]) -> threading.Thread:
    """Keeps reading the server's log, so that a full pipe never blocks it."""
    assert process.stderr is not None
    drain = threading.Thread(target=process.stderr.read, daemon=True)
    drain.start()
    return drain


@asynccontextmanager
async def server_processes(
    count: int, env: Sequence[Mapping[str, str]] = ()
) -> AsyncIterator[list[ServerProcess]]:
    """`count` server processes (the i-th with `env[i]` added) on a throw-away database,
    started side by side; stopped and the database dropped afterwards."""
    database = f"scimtenancy_two_{uuid.uuid4().hex[:8]}"
    launched: list[subprocess.Popen[str]] = []
    started: list[ServerProcess] = []
    try:
        for index in range(count):
            launched.append(_launch(database, env[index] if env else {}))
        for process in launched:
            started.append(_listening(process))
        yield started
    finally:
        for process in launched[len(started) :]:
            process.kill()
            process.wait(timeout=30)
        for server in started:
            server.stop()
        await _drop(database)


@asynccontextmanager
async def two_servers() -> AsyncIterator[list[grpc.aio.Channel]]:
    """Channels to two server processes on a throw-away database, dropped afterwards."""
    async with server_processes(2) as started:
        channels = [grpc.aio.insecure_channel(s.target) for s in started]
        try:
            yield channels
        finally:
            for channel in channels:
                await channel.close()


async def _drop(database: str) -> None:
    client = connect(require_mongodb())
    await client.drop_database(database)
    client.close()
