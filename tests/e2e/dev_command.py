"""`scimtenancy-dev` as a test starts it: the command and the server process it starts."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

DEV_COMMAND = Path(sys.executable).parent / "scimtenancy-dev"
START_TIMEOUT = 60


def start(*flags: str, new_session: bool = False) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The command on free ports, once it printed its banner (returned as a dict of lines)."""
    process = subprocess.Popen(
        [str(DEV_COMMAND), "--http-port", "0", "--grpc-port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=new_session,
    )
    watchdog = threading.Timer(START_TIMEOUT, process.kill)
    watchdog.start()
    banner: dict[str, str] = {}
    assert process.stdout is not None
    try:
        for line in process.stdout:
            key, _, value = line.strip().partition("  ")
            banner[key.strip()] = value.strip()
            if line.strip().startswith("-d "):  # the banner's last line
                break
    finally:
        watchdog.cancel()
    return process, banner


@contextlib.contextmanager
def running(
    *flags: str, new_session: bool = False
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`start`, and at the end its pipe closed, the command killed if it still runs."""
    process, banner = start(*flags, new_session=new_session)
    try:
        yield process, banner
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=START_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()


def server_process_of(command: subprocess.Popen[str]) -> int:
    """The pid of the server process the command started (its only child)."""
    children = Path(f"/proc/{command.pid}/task/{command.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def ended_within(pid: int, seconds: float) -> bool:
    """Whether a process (not necessarily ours) ends within the time: a pidfd turns readable
    when it does, so nothing is polled."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)
