"""A port already taken stops a command at once with one line saying which, not a
traceback; the run command's server process stops with it."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.dev_command import DEV_COMMAND, START_TIMEOUT

SERVER_COMMAND = Path(sys.executable).parent / "scimtenancy-server"


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _ended(command: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(command), *flags], capture_output=True, text=True, timeout=START_TIMEOUT, check=False
    )


@pytest.mark.parametrize("side", ["http", "grpc"])
def test_the_run_command_names_the_port_it_cannot_listen_on(side: str, taken_port: int) -> None:
    ports = {"http": "0", "grpc": "0", side: str(taken_port)}
    ended = _ended(DEV_COMMAND, "--http-port", ports["http"], "--grpc-port", ports["grpc"])
    assert ended.returncode == 2, ended.stderr
    assert f"cannot listen for {'HTTP' if side == 'http' else 'gRPC'} on 127.0.0.1:" in (
        ended.stderr
    )
    assert f":{taken_port}" in ended.stderr
    assert "Traceback" not in ended.stderr
    assert "SCIM base URL" not in ended.stdout  # no banner for a service that is not there


def test_the_server_names_the_port_it_cannot_listen_on(taken_port: int) -> None:
    ended = _ended(SERVER_COMMAND, "--grpc-port", str(taken_port))
    assert ended.returncode == 2, ended.stderr
    assert f"cannot listen for gRPC on 127.0.0.1:{taken_port}" in ended.stderr
    assert "Traceback" not in ended.stderr


TRANSCODER_COMMAND = Path(sys.executable).parent / "scimtenancy-transcoder"
_OWN_PORTS = {
    "server": (SERVER_COMMAND, ("--grpc-port", "0")),
    "transcoder": (TRANSCODER_COMMAND, ("--http-port", "0")),
    "run": (DEV_COMMAND, ("--http-port", "0", "--grpc-port", "0")),
}


@pytest.mark.parametrize("name", sorted(_OWN_PORTS))
def test_each_command_names_the_metrics_port_it_cannot_listen_on(
    name: str, taken_port: int
) -> None:
    command, flags = _OWN_PORTS[name]
    ended = _ended(command, *flags, "--metrics-port", str(taken_port))
    assert ended.returncode == 2, ended.stderr
    assert f"cannot listen for metrics on 127.0.0.1:{taken_port}" in ended.stderr
    assert "Traceback" not in ended.stderr
    assert "SCIM base URL" not in ended.stdout
