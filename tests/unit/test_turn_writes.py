"""The transcoder's HTTP connections write each turn's bytes in one write, in order, and lose
nothing when closed."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from scimtenancy_transcoder.http_protocol import TurnWrites, TurnWritesProtocol


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


async def test_the_writes_of_one_turn_are_one_write_at_its_end() -> None:
    transport = RecordingTransport()
    turns = TurnWrites(transport, asyncio.get_running_loop())
    turns.write(b"HTTP/1.1 200 OK\r\n\r\n")
    turns.write(b"body")
    assert transport.writes == []
    assert turns.get_write_buffer_size() == 23
    await asyncio.sleep(0)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    turns.write(b"next")
    await asyncio.sleep(0)
    assert transport.writes[1:] == [b"next"]


async def test_closing_writes_what_waits_first_and_nothing_after() -> None:
    transport = RecordingTransport()
    turns = TurnWrites(transport, asyncio.get_running_loop())
    turns.write(b"last words")
    turns.close()
    assert transport.writes == [b"last words"]
    assert transport.closed
    turns.write(b"too late")
    await asyncio.sleep(0)
    assert transport.writes == [b"last words"]


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await Response(scope["path"].encode() * 100, media_type="text/plain")(scope, receive, send)


async def test_a_real_connection_serves_kept_alive_requests_in_order() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections queue until uvicorn accepts them
    port = sock.getsockname()[1]
    config = uvicorn.Config(_app, http=TurnWritesProtocol, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for path in ("/a", "/bb", "/ccc") * 3:
                answer = await client.get(path)
                assert answer.status_code == 200
                assert answer.content == path.encode() * 100
                assert answer.headers["content-length"] == str(len(path) * 100)
    finally:
        server.should_exit = True
        await serving
        sock.close()
