"""Processes the benchmark starts: started with a log file each, stopped by their PID (also
on Ctrl-C and failures), and measured from /proc (CPU seconds, resident memory)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class StartupError(RuntimeError):
    pass


def free_port() -> int:
    """A loopback port free right now (the benchmark's processes bind it just after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    return text.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (0 once it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    fields = _stat_fields(pid)
    return 0 if fields is None else int(fields[21]) * _PAGE_SIZE


def machine_busy_seconds() -> float:
    """CPU seconds the machine's cores have been busy since boot, every process's (the first
    line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal)."""
    ticks = [int(tick) for tick in Path("/proc/stat").read_text().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """The process and every process below it (e.g. PostgreSQL's backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


@dataclass
class CpuMeter:
    """CPU seconds of a set of process trees between `start` and `stop`. Processes that end
    in between (PostgreSQL backends of closed connections) take their time with them, so
    database figures are a lower bound."""

    roots: tuple[int, ...]
    _before: dict[int, float] = field(default_factory=dict)

    def _sample(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for root in self.roots for pid in descendants(root)}

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> float:
        after = self._sample()
        return sum(cpu - self._before.get(pid, 0.0) for pid, cpu in after.items())


@dataclass
class Managed:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Supervisor:
    """Starts processes in their own session (so a Ctrl-C reaches only the benchmark, which
    then stops them in reverse order) and stops each by its PID."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: list[Managed] = []

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        user: int | None = None,
        stop_signal: int = signal.SIGTERM,
        cwd: Path | None = None,
    ) -> Managed:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 - argv built by the benchmark itself
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                user=user,
                group=user,
                extra_groups=[] if user is not None else None,
                start_new_session=True,
            )
        managed = Managed(name, process, log, stop_signal)
        self._running.append(managed)
        return managed

    def wait_port(self, managed: Managed, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if managed.process.poll() is not None:
                raise StartupError(f"{managed.name} exited:\n{managed.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise StartupError(f"{managed.name} did not listen on {port}:\n{managed.log_tail()}")

    def stop(self, managed: Managed, grace: float = 10.0) -> None:
        if managed in self._running:
            self._running.remove(managed)
        process = managed.process
        if process.poll() is None:
            os.kill(process.pid, managed.stop_signal)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(5)

    def stop_all(self) -> None:
        for managed in reversed(list(self._running)):
            try:
                self.stop(managed)
            except (OSError, subprocess.TimeoutExpired) as error:
                print(f"could not stop {managed.name} (pid {managed.pid}): {error}")
