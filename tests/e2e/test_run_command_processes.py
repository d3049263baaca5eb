"""The run command's two processes live and end together: the server process it starts stops
after the command, ends if the command is killed, and takes the command down if it dies; Ctrl-C
at a terminal reaches the command only, which stops the server once its HTTP side drained."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
from e2e.dev_command import (
    DEV_COMMAND,
    START_TIMEOUT,
    ended_within,
    running,
    server_process_of,
)
from helpers import user_body

KEY = "processes-key"
WAIT_SECONDS = 30


def _users_url(banner: dict[str, str]) -> str:
    return f"{banner['SCIM base URL']}/Users"


def _create(banner: dict[str, str], name: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}"}
    return httpx.post(_users_url(banner), json=user_body(name), headers=headers, timeout=30)


def test_a_stopped_command_returns_once_its_server_process_ended() -> None:
    with running("--dev-api-key", KEY) as (process, banner):
        server = server_process_of(process)
        try:
            assert _create(banner, "before.stop").status_code == 201
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=WAIT_SECONDS) == 0
        assert ended_within(server, 0), "the command returned before its server process ended"


def test_the_server_process_ends_when_the_command_is_killed() -> None:
    with running("--dev-api-key", KEY) as (process, banner):
        server = server_process_of(process)
        assert _create(banner, "before.kill").status_code == 201
        process.kill()
        process.wait(timeout=WAIT_SECONDS)
        assert ended_within(server, WAIT_SECONDS), "the server process outlived its command"


def test_the_command_stops_and_says_so_when_its_server_process_dies() -> None:
    with running("--dev-api-key", KEY) as (process, banner):
        server = server_process_of(process)
        assert _create(banner, "before.death").status_code == 201
        os.kill(server, signal.SIGKILL)
        assert process.wait(timeout=WAIT_SECONDS) == 1
        assert process.stdout is not None
        said = process.stdout.read()
        assert "the tenancy server process ended (status -9): stopping" in said, said


def test_ctrl_c_reaches_the_command_only_which_then_stops_both() -> None:
    with running("--dev-api-key", KEY, new_session=True) as (process, banner):
        server = server_process_of(process)
        try:
            # An interrupt sent to the server process alone is ignored: it keeps answering.
            os.kill(server, signal.SIGINT)
            for name in ("after.interrupt", "after.interrupt.again"):
                assert _create(banner, name).status_code == 201
            assert not ended_within(server, 0)
        finally:
            os.killpg(process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
            assert process.wait(timeout=WAIT_SECONDS) == 0
        assert ended_within(server, 0)


def test_sigterm_to_the_whole_group_stops_both_as_asked() -> None:
    """A service manager signals every process of the group; the server process waits for
    the command to drain and close its input rather than stopping under it."""
    with running("--dev-api-key", KEY, new_session=True) as (process, banner):
        server = server_process_of(process)
        try:
            os.kill(server, signal.SIGTERM)  # alone: ignored, it keeps answering
            for name in ("after.term", "after.term.again"):
                assert _create(banner, name).status_code == 201
            assert not ended_within(server, 0)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            assert process.wait(timeout=WAIT_SECONDS) == 0
        assert process.stdout is not None
        said = process.stdout.read()
        assert "ERROR" not in said, said
        assert ended_within(server, 0)


def test_a_bad_tenants_file_stops_the_command_with_the_server_processs_message(
    tmp_path: Path,
) -> None:
    file = tmp_path / "tenants.yaml"
    file.write_text("tenants: [not, a, mapping\n")
    ended = subprocess.run(
        [str(DEV_COMMAND), "--http-port", "0", "--grpc-port", "0", "--tenants-file", str(file)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert ended.returncode == 2
    assert str(file) in ended.stderr, ended.stderr
