"""The TenantAdminService servicer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy.admin.v1 import admin_pb2_grpc
from scimtenancy_server.domain.audit import AuditEvent, Outcome
from scimtenancy_server.domain.credentials import ApiKey
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.permissions import ALL_PERMISSIONS, Permission, parse_permissions
from scimtenancy_server.domain.resource import parse_json_object
from scimtenancy_server.domain.tenant import Compatibility, IsolationLevel, Tenant, TenantStatus
from scimtenancy_server.rpc.tenant_options import (
    extension_messages,
    rate_limit_from,
    rate_limit_message,
    response_options_from,
    response_options_message,
)
from scimtenancy_server.services.audit import AuditLog
from scimtenancy_server.services.tenants import KEEP, TenantAdministration

_ISOLATION_TO_PB = {
    IsolationLevel.STRICT: pb.ISOLATION_LEVEL_STRICT,
    IsolationLevel.STANDARD: pb.ISOLATION_LEVEL_STANDARD,
    IsolationLevel.SHARED: pb.ISOLATION_LEVEL_SHARED,
}
_ISOLATION_FROM_PB = {v: k for k, v in _ISOLATION_TO_PB.items()}
_COMPATIBILITY_TO_PB = {
    Compatibility.STRICT: pb.COMPATIBILITY_STRICT,
    Compatibility.LENIENT: pb.COMPATIBILITY_LENIENT,
}
_COMPATIBILITY_FROM_PB = {v: k for k, v in _COMPATIBILITY_TO_PB.items()}
_STATUS_TO_PB = {
    TenantStatus.ACTIVE: pb.TENANT_STATUS_ACTIVE,
    TenantStatus.SUSPENDED: pb.TENANT_STATUS_SUSPENDED,
    TenantStatus.MOVING: pb.TENANT_STATUS_MOVING,
}


_OUTCOME_TO_PB = {
    Outcome.PENDING: pb.AUDIT_OUTCOME_PENDING,
    Outcome.SUCCESS: pb.AUDIT_OUTCOME_SUCCESS,
    Outcome.FAILURE: pb.AUDIT_OUTCOME_FAILURE,
}


_LIMIT_FIELDS = {"User": "max_users", "Group": "max_groups"}


def limits_from(message: pb.Limits) -> dict[str, int]:
    return {rt: getattr(message, f) for rt, f in _LIMIT_FIELDS.items() if message.HasField(f)}


def limits_message(limits: Mapping[str, int]) -> pb.Limits:
    return pb.Limits(**{f: limits[rt] for rt, f in _LIMIT_FIELDS.items() if rt in limits})


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def key_message(key: ApiKey) -> pb.ApiKey:
    return pb.ApiKey(
        key_id=key.key_id,
        create_time=_timestamp(key.created),
        expire_time=_timestamp(key.expires),
        revoked=key.revoked,
        last_use_time=_timestamp(key.last_used),
    )


def _permissions(values: Iterable[str]) -> frozenset[Permission]:
    granted = parse_permissions(list(values))
    unknown = set(values) - {p.value for p in granted}
    if unknown:
        raise ScimError.invalid_value(f"unknown permissions {sorted(unknown)}")
    return granted


def _compatibility(value: pb.Compatibility) -> Compatibility | None:
    """The profile a request names; None when it names none (unspecified)."""
    found = _COMPATIBILITY_FROM_PB.get(value)
    if found is None and value != pb.COMPATIBILITY_UNSPECIFIED:
        raise ScimError.invalid_value(f"unknown compatibility profile {value}")
    return found


def tenant_message(tenant: Tenant) -> pb.Tenant:
    return pb.Tenant(
        tenant_id=tenant.tenant_id,
        display_name=tenant.display_name,
        isolation_level=_ISOLATION_TO_PB[tenant.isolation],
        status=_STATUS_TO_PB[tenant.status],
        create_time=_timestamp(tenant.created),
        limits=limits_message(tenant.limits),
        permissions=sorted(p.value for p in tenant.permissions),
        compatibility=_COMPATIBILITY_TO_PB[tenant.compatibility],
        response_options=response_options_message(tenant.responses),
        rate_limit=rate_limit_message(tenant.rate_limit),
        extensions=extension_messages(tenant.extensions),
    )


def audit_message(event: AuditEvent) -> pb.AuditEvent:
    return pb.AuditEvent(
        event_id=event.event_id,
        tenant_id=event.tenant_id,
        time=_timestamp(event.time),
        actor=event.actor,
        operation=event.operation,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        outcome=_OUTCOME_TO_PB[event.outcome],
        version_before=event.version_before,
        version_after=event.version_after,
        error_status=event.error_status or 0,
        error_type=event.error_type,
        bulk=event.bulk,
    )


def _time(message: pb.ListAuditEventsRequest, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


class TenantAdminServicer(admin_pb2_grpc.TenantAdminServiceServicer):
    def __init__(self, administration: TenantAdministration, audit: AuditLog) -> None:
        self._admin = administration
        self._audit = audit

    async def CreateTenant(
        self, request: pb.CreateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTenantResponse:
        tenant = await self._admin.create_tenant(
            request.tenant_id,
            request.display_name,
            _ISOLATION_FROM_PB.get(request.isolation_level),
            limits_from(request.limits),
            _permissions(request.permissions) if request.permissions else ALL_PERMISSIONS,
            _compatibility(request.compatibility) or Compatibility.STRICT,
            response_options_from(request.response_options),
            rate_limit_from(request.rate_limit),
        )
        return pb.CreateTenantResponse(tenant=tenant_message(tenant))

    async def GetTenant(
        self, request: pb.GetTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTenantResponse:
        tenant = await self._admin.get_tenant(request.tenant_id)
        return pb.GetTenantResponse(tenant=tenant_message(tenant))

    async def ListTenants(
        self, request: pb.ListTenantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTenantsResponse:
        tenants, token = await self._admin.list_tenants(request.page_size, request.page_token)
        return pb.ListTenantsResponse(
            tenants=[tenant_message(t) for t in tenants], next_page_token=token
        )

    async def IssueApiKey(
        self, request: pb.IssueApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueApiKeyResponse:
        key_id, secret = await self._admin.issue_api_key(request.tenant_id)
        return pb.IssueApiKeyResponse(key_id=key_id, api_key=secret)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        keys = await self._admin.list_api_keys(request.tenant_id)
        return pb.ListApiKeysResponse(keys=[key_message(k) for k in keys])

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeApiKeyResponse:
        key = await self._admin.revoke_api_key(request.tenant_id, request.key_id)
        return pb.RevokeApiKeyResponse(key=key_message(key))

    async def RotateApiKey(
        self, request: pb.RotateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateApiKeyResponse:
        key_id, secret = await self._admin.rotate_api_key(
            request.tenant_id, request.key_id, request.overlap.ToTimedelta()
        )
        return pb.RotateApiKeyResponse(key_id=key_id, api_key=secret)

    async def SuspendTenant(
        self, request: pb.SuspendTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuspendTenantResponse:
        tenant = await self._admin.set_status(request.tenant_id, TenantStatus.SUSPENDED)
        return pb.SuspendTenantResponse(tenant=tenant_message(tenant))

    async def ActivateTenant(
        self, request: pb.ActivateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.ActivateTenantResponse:
        tenant = await self._admin.set_status(request.tenant_id, TenantStatus.ACTIVE)
        return pb.ActivateTenantResponse(tenant=tenant_message(tenant))

    async def DeleteTenant(
        self, request: pb.DeleteTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteTenantResponse:
        await self._admin.delete_tenant(request.tenant_id)
        return pb.DeleteTenantResponse()

    async def RegisterSchemaExtension(
        self, request: pb.RegisterSchemaExtensionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterSchemaExtensionResponse:
        document = parse_json_object(request.schema_json, "schema_json")
        await self._admin.register_extension(
            request.tenant_id, request.resource_type, document, request.required
        )
        return pb.RegisterSchemaExtensionResponse()

    async def MoveTenant(
        self, request: pb.MoveTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.MoveTenantResponse:
        level = _ISOLATION_FROM_PB.get(request.isolation_level)
        if level is None:
            raise ScimError.invalid_value("name the isolation level to move to")
        tenant = await self._admin.move_tenant(request.tenant_id, level)
        return pb.MoveTenantResponse(tenant=tenant_message(tenant))

    async def UpdateTenant(
        self, request: pb.UpdateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateTenantResponse:
        tenant = await self._admin.update_tenant(
            request.tenant_id,
            display_name=request.display_name if request.HasField("display_name") else None,
            limits=limits_from(request.limits) if request.HasField("limits") else None,
            permissions=_permissions(request.permissions) if request.update_permissions else None,
            compatibility=_compatibility(request.compatibility),
            responses=response_options_from(request.response_options)
            if request.HasField("response_options")
            else None,
            rate_limit=rate_limit_from(request.rate_limit)
            if request.HasField("rate_limit")
            else KEEP,
        )
        return pb.UpdateTenantResponse(tenant=tenant_message(tenant))

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEventsResponse:
        events, token = await self._audit.list_events(
            request.tenant_id,
            _time(request, "start_time"),
            _time(request, "end_time"),
            request.page_size,
            request.page_token,
        )
        return pb.ListAuditEventsResponse(
            events=[audit_message(e) for e in events], next_page_token=token
        )

    async def GetServerStats(
        self, request: pb.GetServerStatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetServerStatsResponse:
        hits, misses = self._admin.cache_counters()
        return pb.GetServerStatsResponse(credential_cache_hits=hits, credential_cache_misses=misses)
