"""Noticing changes to the tenants file on a real filesystem: a rename over the file (how
editors save) and a Kubernetes ConfigMap's symlink swap are both seen; the fingerprint says
whether what a reload reads changed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from scimtenancy_common.settings import Settings
from scimtenancy_server.services.tenant_config.watch import (
    fingerprint,
    watch_sources,
    watched_directories,
)


def _replace(path: Path, text: str) -> None:
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_text(text)
    staged.replace(path)


def _config_map(directory: Path, text: str) -> None:
    """What the kubelet does: a new timestamped directory, `..data` swapped to it."""
    target = directory / f"..{uuid.uuid4().hex}"
    target.mkdir()
    (target / "tenants.yaml").write_text(text)
    staged = directory / "..data_tmp"
    staged.symlink_to(target.name)
    staged.replace(directory / "..data")
    if not (directory / "tenants.yaml").is_symlink():
        (directory / "tenants.yaml").symlink_to("..data/tenants.yaml")


@asynccontextmanager
async def watching(sources: list[Path]) -> AsyncIterator[asyncio.Queue[None]]:
    """Each burst of changes the watch reports, as one item."""
    bursts: asyncio.Queue[None] = asyncio.Queue()
    stop = asyncio.Event()
    task = asyncio.create_task(watch_sources(sources, lambda: bursts.put_nowait(None), stop))
    try:
        yield bursts
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def _seen_after(bursts: asyncio.Queue[None], change: Callable[[], None]) -> bool:
    """Whether the watch reported the change. The watch starts on a thread, with no sign
    that it is ready: the change is made again until it is seen, for up to 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        change()
        try:
            await asyncio.wait_for(bursts.get(), timeout=1)
        except TimeoutError:
            continue
        while not bursts.empty():
            bursts.get_nowait()
        return True
    return False


async def test_a_rename_over_the_file_is_seen(tmp_path: Path) -> None:
    file = tmp_path / "tenants.yaml"
    file.write_text("version: 1\n")
    async with watching([file]) as bursts:
        before = fingerprint([file])
        assert await _seen_after(bursts, lambda: _replace(file, "version: 1\ntenants: []\n"))
        assert fingerprint([file]) != before
        again = fingerprint([file])
        assert await _seen_after(bursts, lambda: _replace(file, "version: 1\n"))
        assert fingerprint([file]) != again


async def test_a_config_map_swap_is_seen(tmp_path: Path) -> None:
    _config_map(tmp_path, "version: 1\n")
    file = tmp_path / "tenants.yaml"
    async with watching([file]) as bursts:
        before = fingerprint([file])
        assert await _seen_after(bursts, lambda: _config_map(tmp_path, "changed\n"))
        assert fingerprint([file]) != before
        assert file.read_text() == "changed\n"


def test_the_fingerprint_follows_what_a_reload_reads(tmp_path: Path) -> None:
    file = tmp_path / "tenants.yaml"
    file.write_text("version: 1\n")
    first = fingerprint([file])
    (tmp_path / "unrelated.txt").write_text("x")
    assert fingerprint([file]) == first
    os.utime(file)  # touched, not changed
    assert fingerprint([file]) == first
    (tmp_path / "tenants.prod.yaml").write_text("tenants: []\n")  # an overlay appears
    with_overlay = fingerprint([file])
    assert with_overlay != first
    file.unlink()
    assert fingerprint([file]) not in (first, with_overlay)


def test_directories_are_watched_not_files(tmp_path: Path) -> None:
    folder = tmp_path / "tenants.d"
    folder.mkdir()
    file = tmp_path / "tenants.yaml"
    assert watched_directories([file, folder, tmp_path / "other.yaml"]) == [tmp_path, folder]


def test_tenants_file_settings() -> None:
    settings = Settings(tenants_file="a.yaml, conf/b.d", environment="prod")
    assert settings.tenants_file == [Path("a.yaml"), Path("conf/b.d")]
    assert Settings().tenants_file == []
    with pytest.raises(ValueError, match="SCIMTENANCY_TENANTS_PRUNE needs"):
        Settings(tenants_prune=True)
    with pytest.raises(ValueError, match="environment"):
        Settings(environment="../prod")


def test_the_fingerprint_neither_blocks_on_a_fifo_nor_reads_a_device(tmp_path: Path) -> None:
    """Run in a child process, so that a regression fails on its timeout instead of hanging."""
    (tmp_path / "tenants.yaml").write_text("version: 1\ntenants: []\n")
    os.mkfifo(tmp_path / "notes")
    (tmp_path / "zero").symlink_to("/dev/zero")
    code = (
        "import sys; from pathlib import Path; "
        "from scimtenancy_server.services.tenant_config.watch import fingerprint; "
        "print(fingerprint([Path(sys.argv[1])]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert len(done.stdout.strip()) == 64, done.stderr
