"""One tenant's identity provider, as tests drive it through a transcoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from helpers import user_body


@dataclass
class IdpTenant:
    tenant_id: str
    api_key: str
    base: str
    http: httpx.AsyncClient

    async def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return await self.http.request(method, self.base + path, json=body, headers=headers)

    async def create_user(self, user_name: str) -> httpx.Response:
        return await self.request("POST", "/Users", user_body(user_name))

    async def user_names(self) -> list[str]:
        listed = await self.request("GET", "/Users?count=1000&attributes=userName")
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert page["totalResults"] == len(page.get("Resources", []))
        return [user["userName"] for user in page.get("Resources", [])]

    async def find(self, user_name: str) -> list[dict[str, Any]]:
        found = await self.request("GET", f'/Users?filter=userName eq "{user_name}"')
        assert found.status_code == 200, found.text
        users: list[dict[str, Any]] = found.json().get("Resources", [])
        return users
