"""The tenant store port (the control plane) and its in-memory adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace

from scimtenancy_server.domain.credentials import ApiKey
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import Tenant, TenantExtension, TenantStatus


class TenantStore(ABC):
    """Tenants and their API keys. Implementations must pass tests/contract/."""

    @abstractmethod
    async def create(self, tenant: Tenant) -> None:
        """Stores a new tenant; raises a 409 ScimError if the id is taken."""

    @abstractmethod
    async def get(self, tenant_id: str) -> Tenant | None: ...

    @abstractmethod
    async def list_tenants(self, after: str, limit: int) -> list[Tenant]:
        """Tenants with ids greater than `after`, ordered by id."""

    @abstractmethod
    async def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant | None: ...

    @abstractmethod
    async def save(self, tenant: Tenant) -> None:
        """Replaces an existing tenant's record."""

    @abstractmethod
    async def set_extensions(
        self, tenant_id: str, extensions: tuple[TenantExtension, ...]
    ) -> Tenant | None: ...

    @abstractmethod
    async def delete(self, tenant_id: str) -> None:
        """Forgets the tenant and all its keys."""

    @abstractmethod
    async def save_key(self, key: ApiKey) -> None:
        """Stores a key record, replacing the one with the same hash."""

    @abstractmethod
    async def list_keys(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's keys, oldest first."""

    @abstractmethod
    async def find_key(self, key_hash: str) -> ApiKey | None: ...

    async def close(self) -> None:  # noqa: B027 - adapters without resources need nothing
        """Releases connections."""


def tenant_exists(tenant_id: str) -> ScimError:
    return ScimError.conflict(f"tenant {tenant_id!r} already exists")


class InMemoryTenantStore(TenantStore):
    def __init__(self) -> None:
        self._tenants: dict[str, Tenant] = {}
        self._keys: dict[str, ApiKey] = {}

    async def create(self, tenant: Tenant) -> None:
        if tenant.tenant_id in self._tenants:
            raise tenant_exists(tenant.tenant_id)
        self._tenants[tenant.tenant_id] = tenant

    async def get(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    async def list_tenants(self, after: str, limit: int) -> list[Tenant]:
        return sorted(
            (t for t in self._tenants.values() if t.tenant_id > after), key=lambda t: t.tenant_id
        )[:limit]

    async def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant | None:
        tenant = self._tenants.get(tenant_id)
        if tenant is not None:
            tenant = self._tenants[tenant_id] = tenant.with_status(status)
        return tenant

    async def save(self, tenant: Tenant) -> None:
        self._tenants[tenant.tenant_id] = tenant

    async def set_extensions(
        self, tenant_id: str, extensions: tuple[TenantExtension, ...]
    ) -> Tenant | None:
        tenant = self._tenants.get(tenant_id)
        if tenant is not None:
            tenant = self._tenants[tenant_id] = replace(tenant, extensions=extensions)
        return tenant

    async def delete(self, tenant_id: str) -> None:
        self._tenants.pop(tenant_id, None)
        self._keys = {h: k for h, k in self._keys.items() if k.tenant_id != tenant_id}

    async def save_key(self, key: ApiKey) -> None:
        self._keys[key.key_hash] = key

    async def list_keys(self, tenant_id: str) -> list[ApiKey]:
        found = [k for k in self._keys.values() if k.tenant_id == tenant_id]
        return sorted(found, key=lambda k: (k.created, k.key_id))

    async def find_key(self, key_hash: str) -> ApiKey | None:
        return self._keys.get(key_hash)
