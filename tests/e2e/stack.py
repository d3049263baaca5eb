"""The whole service on real sockets: gRPC tenancy server + one transcoder per URL strategy."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from helpers import unique_id

from scimtenancy_common.grpc_tls import channel_security
from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application, build_grpc_server
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.storage.mongo import connect
from scimtenancy_transcoder.main import build_server
from scimtenancy_transcoder.rpc_client import ResourceClient

STRATEGIES = ("path", "subdomain", "header")
BASE_DOMAIN = "scim.test"
ADMIN_TOKEN = "test-admin-token"
SCIM_JSON = "application/scim+json"


@dataclass
class Stack:
    app: Application
    grpc_target: str
    origins: dict[str, str]
    http: httpx.AsyncClient

    async def tenant(self, isolation: IsolationLevel, strategy: str = "path") -> ScimClient:
        tenant_id = unique_id()
        await self.app.administration.create_tenant(tenant_id, "E2E tenant", isolation)
        _, api_key = await self.app.administration.issue_api_key(tenant_id)
        return ScimClient(self, strategy, tenant_id, api_key)


@dataclass
class ScimClient:
    """Requests as an identity provider of one tenant would send them."""

    stack: Stack
    strategy: str
    tenant_id: str
    api_key: str
    url_tenant: str | None = None  # the tenant the URL names, when it differs from the key's
    extra_headers: dict[str, str] = field(default_factory=dict)

    def as_tenant_in_url(self, tenant_id: str) -> ScimClient:
        return ScimClient(self.stack, self.strategy, self.tenant_id, self.api_key, tenant_id)

    def with_strategy(self, strategy: str) -> ScimClient:
        return ScimClient(self.stack, strategy, self.tenant_id, self.api_key, self.url_tenant)

    @property
    def base_url(self) -> str:
        """The SCIM base URL a client of this strategy sees."""
        origin = self.stack.origins[self.strategy]
        named = self.url_tenant or self.tenant_id
        if self.strategy == "path":
            return f"{origin}/tenants/{named}/scim/v2"
        if self.strategy == "subdomain":
            port = origin.rsplit(":", 1)[1]
            return f"http://{named}.{BASE_DOMAIN}:{port}/scim/v2"
        return f"{origin}/scim/v2"

    def _target(self, path: str) -> tuple[str, dict[str, str]]:
        origin = self.stack.origins[self.strategy]
        headers = {"Authorization": f"Bearer {self.api_key}", **self.extra_headers}
        named = self.url_tenant or self.tenant_id
        if self.strategy == "path":
            return f"{origin}/tenants/{named}/scim/v2{path}", headers
        if self.strategy == "subdomain":
            headers["Host"] = self.base_url.split("/")[2]
        else:
            headers["X-Tenant-ID"] = named
        return f"{origin}/scim/v2{path}", headers

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        url, base_headers = self._target(path)
        all_headers = {**base_headers, **(headers or {})}
        if body is not None:
            content = httpx.Request("POST", "/", json=body).content
        if content is not None:
            all_headers.setdefault("Content-Type", SCIM_JSON)
        return await self.stack.http.request(
            method, url, content=content, headers=all_headers, params=params
        )

    async def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, body, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def put(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, body, **kwargs)

    async def patch(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, body, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def http_transcoder(settings: Settings, target: str) -> AsyncIterator[str]:
    """A transcoder on a real socket; yields its origin."""
    client = ResourceClient(
        target, settings.rpc_timeout, channel_security(settings), settings.bulk_rpc_timeout
    )
    server = build_server(settings, client)
    sock = _listening_socket()
    config = server.config
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await server.shutdown(sockets=[sock])
        await client.close()
        sock.close()


@asynccontextmanager
async def running_stack(server_settings: Settings, **transcoder: Any) -> AsyncIterator[Stack]:
    app = build_application(server_settings)
    grpc_server, port = await build_grpc_server(app, server_settings)
    await grpc_server.start()
    target = f"127.0.0.1:{port}"
    origins: dict[str, str] = {}
    try:
        async with (
            http_transcoder(Settings(url_strategy="path", **transcoder), target) as p,
            http_transcoder(
                Settings(url_strategy="subdomain", base_domain=BASE_DOMAIN, **transcoder),
                target,
            ) as s,
            http_transcoder(Settings(url_strategy="header", **transcoder), target) as h,
            httpx.AsyncClient(timeout=30) as http,
        ):
            origins.update(path=p, subdomain=s, header=h)
            yield Stack(app, target, origins, http)
    finally:
        await grpc_server.stop(None)
        await app.close()
        if server_settings.storage == "mongodb":
            # The database was made for this stack (see server_settings): drop it.
            client = connect(server_settings.mongodb_uri)
            await client.drop_database(server_settings.mongodb_database)
            client.close()


def server_settings(storage: str, mongodb_uri: str = "") -> Settings:
    return Settings(
        grpc_port=0,
        storage=storage,
        mongodb_uri=mongodb_uri or "mongodb://127.0.0.1:1",
        mongodb_database=f"scimtenancy_e2e_{uuid.uuid4().hex[:8]}",
        admin_token=ADMIN_TOKEN,
    )
