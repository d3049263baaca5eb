"""Two real `scimtenancy-server` processes sharing one MongoDB database, as two replicas behind
a load balancer would: one gRPC channel to each."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator
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

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.drain.join(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()


def start_server(database: str) -> ServerProcess:
    env = {
        **os.environ,
        "SCIMTENANCY_STORAGE": "mongodb",
        "SCIMTENANCY_MONGODB_URI": require_mongodb(),
        "SCIMTENANCY_MONGODB_DATABASE": database,
        "SCIMTENANCY_GRPC_PORT": "0",
        "SCIMTENANCY_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    process = subprocess.Popen([str(SERVER)], env=env, stderr=subprocess.PIPE, text=True)
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
async def two_servers() -> AsyncIterator[list[grpc.aio.Channel]]:
    """Channels to two server processes on a throw-away database, dropped afterwards."""
    database = f"scimtenancy_two_{uuid.uuid4().hex[:8]}"
    started: list[ServerProcess] = []
    try:
        for _ in range(2):
            started.append(start_server(database))
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in started]
        try:
            yield channels
        finally:
            for channel in channels:
                await channel.close()
    finally:
        for server in started:
            server.stop()
        await _drop(database)


async def _drop(database: str) -> None:
    client = connect(require_mongodb())
    await client.drop_database(database)
    client.close()
