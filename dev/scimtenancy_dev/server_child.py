"""The command's tenancy-server process (`scimtenancy_dev.server_process`), seen from the
command: started with the command's own arguments, ready once it reports its ports, stopped by
closing its standard input, and watched for an end nobody asked for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass

REPORT_FLAG = "--report-fd"
# Beyond the grace period: closing storage, and flushing telemetry (an OTLP exporter with no
# collector retries for metrics and traces, about 7 s each).
STOP_MARGIN_SECONDS = 30.0


class ServerEnded(Exception):
    """The server process ended before it was asked to."""

    def __init__(self, status: int) -> None:
        how = f"by signal {-status}" if status < 0 else f"with status {status}"
        super().__init__(f"the tenancy server process ended {how} before it was ready")
        self.status = status


@dataclass(frozen=True)
class ServerPorts:
    grpc: int
    metrics: int  # its loopback metrics page; 0 when the command serves none


def report_line(ports: ServerPorts) -> bytes:
    return f"{ports.grpc} {ports.metrics}\n".encode()


def _parsed(line: bytes) -> ServerPorts:
    grpc, metrics = (int(part) for part in line.split())
    return ServerPorts(grpc, metrics)


class ServerChild:
    def __init__(self, process: asyncio.subprocess.Process, reports: int) -> None:
        self.process = process
        self._reports: int | None = reports  # None once `ready` took it over

    @classmethod
    async def start(cls, argv: list[str]) -> ServerChild:
        reports, report_end = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "scimtenancy_dev.server_process",
                REPORT_FLAG,
                str(report_end),
                *argv,
                stdin=asyncio.subprocess.PIPE,
                pass_fds=(report_end,),
            )
        except BaseException:
            os.close(reports)
            raise
        finally:
            os.close(report_end)  # only the child writes; its end closes the pipe
        return cls(process, reports)

    async def ready(self) -> ServerPorts:
        """Its ports once it takes calls; `ServerEnded` if it ends first (its own message,
        e.g. a bad tenants file, is on the shared standard error)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        assert self._reports is not None, "ready() is awaited once"
        pipe = os.fdopen(self._reports, "rb", buffering=0)
        self._reports = None
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        try:
            line = await reader.readline()
        finally:
            transport.close()
        if not line.endswith(b"\n"):
            raise ServerEnded(await self.process.wait())
        return _parsed(line)

    async def ended(self) -> int:
        return await self.process.wait()

    async def stop(self, grace: float) -> int:
        """Asks it to drain and stop (closing its input), and waits for its status; it is
        killed if it outlives the grace period by more than the margin."""
        if self._reports is not None:  # never read: the stop came first
            os.close(self._reports)
            self._reports = None
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            return await asyncio.wait_for(self.process.wait(), grace + STOP_MARGIN_SECONDS)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()
