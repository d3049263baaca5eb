"""Tenant administration: provisioning, credentials, suspension."""

from __future__ import annotations

from collections.abc import Mapping

from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.credentials import api_key_from_secret, new_api_key
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import ResourceTypeRegistry
from scimtenancy_server.domain.tenant import (
    IsolationLevel,
    Tenant,
    TenantStatus,
    validate_tenant_id,
)
from scimtenancy_server.services.resolution import TenantResolver
from scimtenancy_server.storage.repository import ResourceRepository
from scimtenancy_server.storage.tenants import TenantStore

MAX_PAGE_SIZE = 500


class TenantAdministration:
    def __init__(
        self,
        store: TenantStore,
        repository: ResourceRepository,
        registry: ResourceTypeRegistry,
        resolver: TenantResolver,
        default_isolation: IsolationLevel = IsolationLevel.STANDARD,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._repository = repository
        self._registry = registry
        self._resolver = resolver
        self._default_isolation = default_isolation
        self._clock = clock

    async def create_tenant(
        self,
        tenant_id: str,
        display_name: str,
        isolation: IsolationLevel | None,
        limits: Mapping[str, int] | None = None,
    ) -> Tenant:
        validate_tenant_id(tenant_id)
        if any(value < 0 for value in (limits or {}).values()):
            raise ScimError.invalid_value("limits cannot be negative")
        level = isolation or self._default_isolation
        if level is IsolationLevel.SHARED:
            raise ScimError.invalid_value("the shared isolation level is not available yet")
        tenant = Tenant(
            tenant_id,
            display_name or tenant_id,
            level,
            TenantStatus.ACTIVE,
            self._clock(),
            dict(limits or {}),
        )
        # Provisioning is idempotent, so it runs first: a tenant is never visible without storage.
        await self._repository.provision(tenant, self._registry.all())
        await self._store.create(tenant)
        return tenant

    async def get_tenant(self, tenant_id: str) -> Tenant:
        tenant = await self._store.get(tenant_id)
        if tenant is None:
            raise ScimError.not_found(f"tenant {tenant_id!r} not found")
        return tenant

    async def list_tenants(self, page_size: int, page_token: str) -> tuple[list[Tenant], str]:
        size = MAX_PAGE_SIZE if page_size <= 0 else min(page_size, MAX_PAGE_SIZE)
        tenants = await self._store.list(page_token, size + 1)
        more = len(tenants) > size
        page = tenants[:size]
        return page, page[-1].tenant_id if more else ""

    async def issue_api_key(self, tenant_id: str) -> tuple[str, str]:
        """Returns the key's id and its secret; only the secret's hash is stored."""
        await self.get_tenant(tenant_id)
        key, secret = new_api_key(tenant_id, self._clock())
        await self._store.add_key(key)
        return key.key_id, secret

    async def register_api_key(self, tenant_id: str, secret: str) -> None:
        """Stores a configured secret (the development tenant's key) as a hash."""
        await self.get_tenant(tenant_id)
        await self._store.add_key(api_key_from_secret(secret, tenant_id, self._clock()))

    async def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant:
        tenant = await self._store.set_status(tenant_id, status)
        if tenant is None:
            raise ScimError.not_found(f"tenant {tenant_id!r} not found")
        self._resolver.invalidate_tenant(tenant_id)
        return tenant
