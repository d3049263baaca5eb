"""The tenant store in MongoDB: `tenants` and `api_keys` collections (keys by hash only)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument

from scimtenancy_server.domain.credentials import ApiKey
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.permissions import ALL_PERMISSIONS, parse_permissions
from scimtenancy_server.domain.schema import Schema
from scimtenancy_server.domain.tenant import (
    DEFAULT_RESPONSES,
    AuthenticationScheme,
    Compatibility,
    IsolationLevel,
    PatchAnswer,
    RateLimit,
    ResponseOptions,
    Tenant,
    TenantExtension,
    TenantStatus,
)
from scimtenancy_server.storage.mongo_driver import MongoDatabase
from scimtenancy_server.storage.mongo_errors import database_errors
from scimtenancy_server.storage.tenants import TenantStore, tenant_exists


def _tenant(document: dict[str, Any]) -> Tenant:
    return Tenant(
        tenant_id=document["_id"],
        display_name=document["display_name"],
        isolation=IsolationLevel(document["isolation"]),
        status=TenantStatus(document["status"]),
        created=document["created"],
        limits=dict(document.get("limits") or {}),
        extensions=tuple(
            TenantExtension(e["resource_type"], Schema.from_json(e["schema"]), e["required"])
            for e in document.get("extensions") or ()
        ),
        permissions=parse_permissions(document["permissions"])
        if "permissions" in document
        else ALL_PERMISSIONS,
        # Tenants stored before the profile existed keep today's behaviour.
        compatibility=Compatibility(document.get("compatibility", Compatibility.STRICT)),
        responses=_responses(document.get("responses")),
        rate_limit=_rate_limit(document.get("rate_limit")),
    )


def _responses(document: dict[str, Any] | None) -> ResponseOptions:
    """Tenants stored before response options existed, or before one of them did, get the
    defaults for what their record lacks."""
    if not document:
        return DEFAULT_RESPONSES
    defaults = DEFAULT_RESPONSES
    return ResponseOptions(
        documentation_uri=document.get("documentation_uri", defaults.documentation_uri),
        authentication_schemes=tuple(
            AuthenticationScheme(**scheme) for scheme in document.get("authentication_schemes", ())
        ),
        bulk=document.get("bulk", defaults.bulk),
        sort=document.get("sort", defaults.sort),
        etag=document.get("etag", defaults.etag),
        filter_max_results=document.get("filter_max_results", defaults.filter_max_results),
        patch_answer=PatchAnswer(document.get("patch_answer", defaults.patch_answer)),
    )


def _responses_document(options: ResponseOptions) -> dict[str, Any]:
    return {
        "documentation_uri": options.documentation_uri,
        "authentication_schemes": [
            {
                "type": s.type,
                "name": s.name,
                "description": s.description,
                "spec_uri": s.spec_uri,
                "documentation_uri": s.documentation_uri,
                "primary": s.primary,
            }
            for s in options.authentication_schemes
        ],
        "bulk": options.bulk,
        "sort": options.sort,
        "etag": options.etag,
        "filter_max_results": options.filter_max_results,
        "patch_answer": options.patch_answer.value,
    }


def _rate_limit(document: dict[str, Any] | None) -> RateLimit | None:
    if not document:
        return None
    return RateLimit(float(document["requests_per_second"]), int(document["burst"]))


def _rate_limit_document(limit: RateLimit | None) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {"requests_per_second": limit.requests_per_second, "burst": limit.burst}


def _document(tenant: Tenant) -> dict[str, Any]:
    return {
        "_id": tenant.tenant_id,
        "display_name": tenant.display_name,
        "isolation": tenant.isolation.value,
        "status": tenant.status.value,
        "created": tenant.created,
        "limits": dict(tenant.limits),
        "extensions": _extension_documents(tenant.extensions),
        "permissions": sorted(p.value for p in tenant.permissions),
        "compatibility": tenant.compatibility.value,
        "responses": _responses_document(tenant.responses),
        "rate_limit": _rate_limit_document(tenant.rate_limit),
    }


def _extension_documents(extensions: tuple[TenantExtension, ...]) -> list[dict[str, Any]]:
    return [
        {"resource_type": e.resource_type, "required": e.required, "schema": e.schema.document}
        for e in extensions
    ]


def _api_key(document: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_hash=document["_id"],
        key_id=document["key_id"],
        tenant_id=document["tenant_id"],
        created=document["created"],
        revoked=document["revoked"],
        expires=document.get("expires"),
        last_used=document.get("last_used"),
    )


class MongoTenantStore(TenantStore):
    def __init__(self, database: MongoDatabase) -> None:
        self._tenants = database["tenants"]
        self._keys = database["api_keys"]

    async def create(self, tenant: Tenant) -> None:
        document = _document(tenant)
        try:
            with database_errors():
                await self._tenants.insert_one(document)
        except ScimError as error:
            if error.scim_type == "uniqueness":
                raise tenant_exists(tenant.tenant_id) from None
            raise

    async def save(self, tenant: Tenant) -> None:
        with database_errors():
            await self._tenants.replace_one({"_id": tenant.tenant_id}, _document(tenant))

    async def get(self, tenant_id: str) -> Tenant | None:
        with database_errors():
            document = await self._tenants.find_one({"_id": tenant_id})
        return None if document is None else _tenant(document)

    async def list_tenants(self, after: str, limit: int) -> list[Tenant]:
        with database_errors():
            cursor = self._tenants.find({"_id": {"$gt": after}}).sort("_id", ASCENDING)
            return [_tenant(d) async for d in cursor.limit(limit)]

    async def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant | None:
        with database_errors():
            document = await self._tenants.find_one_and_update(
                {"_id": tenant_id},
                {"$set": {"status": status.value}},
                return_document=ReturnDocument.AFTER,
            )
        return None if document is None else _tenant(document)

    async def set_extensions(
        self, tenant_id: str, extensions: tuple[TenantExtension, ...]
    ) -> Tenant | None:
        with database_errors():
            document = await self._tenants.find_one_and_update(
                {"_id": tenant_id},
                {"$set": {"extensions": _extension_documents(extensions)}},
                return_document=ReturnDocument.AFTER,
            )
        return None if document is None else _tenant(document)

    async def delete(self, tenant_id: str) -> None:
        with database_errors():
            await self._keys.delete_many({"tenant_id": tenant_id})
            await self._tenants.delete_one({"_id": tenant_id})

    async def save_key(self, key: ApiKey) -> None:
        document = {
            "_id": key.key_hash,
            "key_id": key.key_id,
            "tenant_id": key.tenant_id,
            "created": key.created,
            "revoked": key.revoked,
            "expires": key.expires,
            "last_used": key.last_used,
        }
        with database_errors():
            await self._keys.replace_one({"_id": key.key_hash}, document, upsert=True)

    async def list_keys(self, tenant_id: str) -> list[ApiKey]:
        with database_errors():
            cursor = self._keys.find({"tenant_id": tenant_id}).sort([("created", 1), ("key_id", 1)])
            return [_api_key(d) async for d in cursor]

    async def find_key(self, key_hash: str) -> ApiKey | None:
        with database_errors():
            document = await self._keys.find_one({"_id": key_hash})
        return None if document is None else _api_key(document)
