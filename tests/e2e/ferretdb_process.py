"""A private FerretDB process on a throw-away SQLite directory and a free loopback port, that a
test can SIGKILL and start again on the same data, to stage a database crash.

Also the helpers the fault tests share for the tools `scripts/install-tools` puts in
`.tools/bin`: finding them, free loopback ports, and waiting for a port to accept."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import free_port

TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "bin"
START_ATTEMPTS = 200  # x 0.05 s: FerretDB on SQLite listens within a second or two


def require_tool(name: str) -> Path:
    """`.tools/bin/<name>`; a missing tool skips the test, or fails it under the README's test
    command (SCIMTENANCY_REQUIRE_MONGODB=1), which installs every tool first."""
    path = TOOLS / name
    if not os.access(path, os.X_OK):
        reason = f"{path} is missing: scripts/install-tools installs it"
        if os.environ.get("SCIMTENANCY_REQUIRE_MONGODB") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@dataclass
class Launched:
    """A child process of the test, writing to its own log file."""

    process: asyncio.subprocess.Process
    log: Path

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def wait_until_listening(self, port: int) -> None:
        for _ in range(START_ATTEMPTS):
            if not self.running:
                code = self.process.returncode
                raise AssertionError(f"it exited with {code}: {await self._log_tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise AssertionError(f"nothing listens on {port}: {await self._log_tail()}")

    async def end(self, sig: signal.Signals) -> None:
        """Sends `sig` to this one process, by its PID, and reaps it."""
        if self.running:
            os.kill(self.process.pid, sig)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()

    async def _log_tail(self) -> str:
        return (await asyncio.to_thread(self.log.read_text))[-2000:]


async def launch(args: list[str], log: Path, env: dict[str, str] | None = None) -> Launched:
    out = await asyncio.to_thread(log.open, "wb")
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdout=out, stderr=asyncio.subprocess.STDOUT, env=env
        )
    finally:
        out.close()
    return Launched(process, log)


class FerretDB:
    def __init__(self, binary: Path, data: Path, port: int) -> None:
        self._binary = binary
        self._data = data
        self.port = port
        self._launched: Launched | None = None
        self.starts = 0

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def running(self) -> bool:
        return self._launched is not None and self._launched.running

    async def start(self) -> None:
        """Starts it on the same directory and port as before, and waits until it listens."""
        self.starts += 1
        self._launched = await launch(
            [
                str(self._binary),
                "--handler=sqlite",
                f"--sqlite-url=file:{self._data}/",
                f"--state-dir={self._data}",
                f"--listen-addr=127.0.0.1:{self.port}",
                "--debug-addr=-",
                "--telemetry=disable",
                "--log-level=warn",
            ],
            self._data / f"ferretdb-{self.starts}.log",
        )
        await self._launched.wait_until_listening(self.port)

    async def kill(self) -> None:
        """SIGKILL: no goodbye to its clients, nothing kept but what SQLite had committed."""
        assert self._launched is not None
        await self._launched.end(signal.SIGKILL)

    async def stop(self) -> None:
        if self._launched is not None:
            await self._launched.end(signal.SIGTERM)


@asynccontextmanager
async def private_ferretdb() -> AsyncIterator[FerretDB]:
    binary = require_tool("ferretdb")
    with tempfile.TemporaryDirectory(prefix="scimtenancy-ferretdb-") as data:
        ferretdb = FerretDB(binary, Path(data), free_port())
        await ferretdb.start()
        try:
            yield ferretdb
        finally:
            await ferretdb.stop()
