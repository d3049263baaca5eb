"""uvicorn's HTTP/1.1 protocol, writing each turn's bytes of a connection in one write.

uvicorn writes a response's status line and headers, then its body, as two writes of the
transport; each is a system call and, on TCP, a segment of its own. The bytes one turn of the
event loop writes to a connection are joined here and written at the end of the turn: one
system call and one segment for a whole small response, in the same order, and nothing held
past the turn."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class TurnWrites:
    """A transport whose writes of one turn are written together at the turn's end; closing
    it writes what waits first. Everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._waiting: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._waiting:
            self._loop.call_soon(self.flush)
        self._waiting.append(data)

    def flush(self) -> None:
        if not self._waiting:
            return
        data = b"".join(self._waiting)
        self._waiting.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._waiting))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class TurnWritesProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a `TurnWrites` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(TurnWrites(transport, asyncio.get_running_loop()))  # type: ignore[arg-type]
