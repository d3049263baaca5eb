"""A private toxiproxy server (github.com/Shopify/toxiproxy, installed by scripts/install-tools)
and a small client of its HTTP API: proxies, toxics (latency, timeout, reset_peer), enable and
disable. Everything listens on 127.0.0.1."""

from __future__ import annotations

import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from e2e.ferretdb_process import launch, require_tool
from helpers import free_port

# A toxic on the downstream acts on what the database sends back: the request has reached it,
# so a write may have been made although its answer never arrives.
DOWNSTREAM = "downstream"
UPSTREAM = "upstream"


@dataclass
class Proxy:
    api: httpx.AsyncClient
    name: str
    listen: str  # host:port the proxy accepts connections on

    async def add_toxic(
        self, name: str, kind: str, stream: str = DOWNSTREAM, **attributes: int
    ) -> None:
        await self._call(
            "POST",
            f"/proxies/{self.name}/toxics",
            {
                "name": name,
                "type": kind,
                "stream": stream,
                "toxicity": 1.0,
                "attributes": attributes,
            },
        )

    async def latency(self, name: str, ms: int, stream: str = DOWNSTREAM) -> None:
        await self.add_toxic(name, "latency", stream, latency=ms, jitter=0)

    async def stall(self, name: str, stream: str = DOWNSTREAM) -> None:
        """Data stops flowing; the connections stay open (the `timeout` toxic, timeout 0)."""
        await self.add_toxic(name, "timeout", stream, timeout=0)

    async def reset_peer(self, name: str, after_ms: int = 0, stream: str = DOWNSTREAM) -> None:
        """Each connection is reset (TCP RST) `after_ms` after data first comes its way."""
        await self.add_toxic(name, "reset_peer", stream, timeout=after_ms)

    async def remove_toxic(self, name: str) -> None:
        await self._call("DELETE", f"/proxies/{self.name}/toxics/{name}")

    async def set_enabled(self, enabled: bool) -> None:
        """Disabled, the proxy closes every connection and refuses new ones."""
        await self._call("POST", f"/proxies/{self.name}", {"enabled": enabled})

    async def heal(self) -> None:
        """Enabled, without any toxic."""
        toxics = await self._call("GET", f"/proxies/{self.name}/toxics")
        for toxic in toxics or []:
            await self.remove_toxic(toxic["name"])
        await self.set_enabled(True)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.api.request(method, path, json=body)
        assert response.is_success, f"toxiproxy {method} {path}: {response.text}"
        return response.json() if response.content else None


@dataclass
class Toxiproxy:
    api: httpx.AsyncClient

    async def proxy(self, name: str, upstream: str) -> Proxy:
        """A new proxy on a free loopback port to `upstream` (host:port)."""
        created = await self.api.post(
            "/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": upstream}
        )
        assert created.status_code == 201, created.text
        return Proxy(self.api, name, created.json()["listen"])


@asynccontextmanager
async def toxiproxy() -> AsyncIterator[Toxiproxy]:
    binary = require_tool("toxiproxy-server")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="scimtenancy-toxiproxy-") as directory:
        launched = await launch(
            [str(binary), "-host", "127.0.0.1", "-port", str(port)],
            Path(directory) / "toxiproxy.log",
            env={"LOG_LEVEL": "warn"},
        )
        try:
            await launched.wait_until_listening(port)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
                yield Toxiproxy(api)
        finally:
            await launched.end(signal.SIGTERM)
