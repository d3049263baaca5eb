"""Noticing that the tenants file changed: the directories holding it are watched, not the
file, because editors and Kubernetes replace files instead of writing them (a rename over the
old file; a ConfigMap's `..data` symlink swapped to a new directory), and a watch on the old
file would see nothing after the first swap. Any change in those directories asks for a
reload; the reloader compares the files' contents (`fingerprint`) and does nothing when they
did not change."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import watchfiles

logger = logging.getLogger(__name__)
# It logs every burst at info; the reloader's own lines say what the burst led to.
logging.getLogger("watchfiles").setLevel(logging.WARNING)

# Changes are gathered until none came for STEP_MS (at most DEBOUNCE_MS), so one save (an
# editor's temporary file, its rename, a backup) is one reload.
STEP_MS = 100
DEBOUNCE_MS = 1000
# After the watch itself fails (a watched directory removed), it is set up again this late.
REWATCH_SECONDS = 5.0
# Bytes of one file the fingerprint reads; a tenants file of 10,000 tenants is a few MB.
# As much as the reader takes (and one byte more, which makes it refuse), of at most twice as
# many files as it reads: the fingerprint never costs more than a read.
MAX_FILE_BYTES = (1 << 20) + 1
MAX_FINGERPRINTED = 128


def watched_directories(sources: Sequence[Path]) -> list[Path]:
    """The directories whose entries name the sources: a directory source itself, a file's
    parent. Paths are made absolute but not resolved: a resolved ConfigMap path names the
    directory that the next swap leaves behind."""
    found: dict[Path, None] = {}
    for source in sources:
        path = source.absolute()
        found[path if path.is_dir() else path.parent] = None
    return list(found)


def _candidates(source: Path) -> Iterable[Path]:
    """The files a source may be read from: a directory's visible files, or the file with
    its overlays beside it (`tenants.yaml`, `tenants.prod.yaml`)."""
    if source.is_dir():
        return sorted(p for p in source.iterdir() if not p.name.startswith("."))
    siblings = source.parent.glob(f"{source.stem}.*") if source.parent.is_dir() else ()
    return sorted({source, *siblings})


def fingerprint(sources: Sequence[Path]) -> str:
    """A digest of every file the sources may be read from (name and content), so that any
    change to what a reload would read changes it. Blocking I/O: call it off the loop."""
    digest = hashlib.sha256()
    paths = [path for source in sources for path in _candidates(source)]
    for path in paths[:MAX_FINGERPRINTED]:
        digest.update(str(path).encode() + b"\0" + _content(path) + b"\0")
    digest.update(str(len(paths)).encode())
    return digest.hexdigest()


def _content(path: Path) -> bytes:
    """What of the file a reload would read; a missing, unreadable or not regular file (a FIFO
    would block, a device not end) as the kind of state it is in."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return b"not a regular file"
        with path.open("rb") as file:
            return file.read(MAX_FILE_BYTES)
    except OSError as error:
        return type(error).__name__.encode()


async def watch_sources(
    sources: Sequence[Path], changed: Callable[[], None], stop: asyncio.Event
) -> None:
    """Calls `changed()` after each burst of changes in the sources' directories, until
    `stop` is set."""
    directories = watched_directories(sources)
    while not stop.is_set():
        try:
            async for _changes in watchfiles.awatch(
                *directories,
                stop_event=stop,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                recursive=False,
            ):
                changed()
        except Exception as error:  # the watch's own failure; the server keeps serving
            logger.warning(
                "cannot watch the tenants file's directories (%s); retrying in %s s",
                error,
                REWATCH_SECONDS,
            )
        if not stop.is_set():  # the watch ended by itself: its directory is gone
            changed()  # what a reload now reads is the truth: it says what is missing
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REWATCH_SECONDS)
