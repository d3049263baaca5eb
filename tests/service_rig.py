"""The service layer on embedded storage, wired by `build_application` exactly as the gRPC
server runs it, and the request bodies its in-memory tests send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.audit import AuditEvent
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import IsolationLevel, TenantContext

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BASE_URL = "https://scim.example/acme"


@asynccontextmanager
async def memory_application(**settings: Any) -> AsyncIterator[Application]:
    # No credential caching: a test sees each admin change at once, and a move waits for none.
    configured = {"storage": "memory", "admin_token": "unit", "tenant_cache_ttl": 0, **settings}
    application = build_application(Settings(**configured))
    try:
        yield application
    finally:
        await application.close()


def user(name: str, **attributes: Any) -> bytes:
    return orjson.dumps({"schemas": [USER], "userName": name, **attributes})


def group(name: str, *member_ids: str) -> bytes:
    members = [{"value": member} for member in member_ids]
    return orjson.dumps({"schemas": [GROUP], "displayName": name, "members": members})


def patch(*operations: dict[str, Any]) -> bytes:
    return orjson.dumps({"schemas": [PATCH_OP], "Operations": list(operations)})


def bulk(*operations: dict[str, Any], **options: Any) -> bytes:
    return orjson.dumps({"schemas": [BULK_REQUEST], "Operations": list(operations), **options})


def post_user(name: str, **attributes: Any) -> dict[str, Any]:
    """A /Bulk POST of a User; its bulkId is its userName (RFC 7644 §3.7 needs one)."""
    data = {"schemas": [USER], "userName": name, **attributes}
    return {"method": "POST", "path": "/Users", "bulkId": name, "data": data}


async def tenant(
    app: Application,
    tenant_id: str,
    isolation: IsolationLevel = IsolationLevel.STANDARD,
    **limits: int,
) -> TenantContext:
    created = await app.administration.create_tenant(
        tenant_id, tenant_id.title(), isolation, limits
    )
    return TenantContext(created, actor=f"key-{tenant_id}")


async def error_of(call: Any) -> ScimError:
    with pytest.raises(ScimError) as caught:
        await call
    return caught.value


async def audit_events(app: Application, tenant_id: str) -> list[AuditEvent]:
    """Every event of the tenant, once the final stages under way are stored."""
    await app.audit.drain()
    events, _ = await app.audit.list_events(tenant_id, None, None, 1000, "")
    return events
