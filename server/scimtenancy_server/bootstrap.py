"""Wires the ports to their adapters and the services to the gRPC server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import grpc

from scimtenancy.admin.v1 import admin_pb2_grpc
from scimtenancy.discovery.v1 import discovery_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2_grpc
from scimtenancy_common.settings import Settings
from scimtenancy_server.deadlines import as_outcome
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import InputLimits
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant
from scimtenancy_server.rpc.admin import TenantAdminServicer
from scimtenancy_server.rpc.discovery import DiscoveryServicer
from scimtenancy_server.rpc.errors import grpc_code
from scimtenancy_server.rpc.guards import AdminGuard, TenantGuard
from scimtenancy_server.rpc.health import StorageAwareHealth, add_health_and_reflection
from scimtenancy_server.rpc.operation_metrics import (
    OperationLabels,
    OperationMetrics,
    resource_type_name,
)
from scimtenancy_server.rpc.resources import ResourceServicer
from scimtenancy_server.rpc.tls import add_port
from scimtenancy_server.rpc.tracing import (
    instrument_mongodb_driver,
    span_interceptors,
)
from scimtenancy_server.services.audit import AuditLog
from scimtenancy_server.services.bulk import BulkService
from scimtenancy_server.services.fair_share import TenantFairShare
from scimtenancy_server.services.idempotency import IdempotencyService, lease_for
from scimtenancy_server.services.jwt_tokens import JwtResolver
from scimtenancy_server.services.rate_limits import TenantRateLimiter
from scimtenancy_server.services.resolution import (
    ApiKeyResolver,
    CredentialResolver,
    TenantResolver,
)
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.services.shared_namespace import SharedNamespace
from scimtenancy_server.services.tenant_config.reading import TenantsFileSource
from scimtenancy_server.services.tenant_config.reloader import Targets, TenantConfigReloader
from scimtenancy_server.services.tenants import TenantAdministration
from scimtenancy_server.services.usage_gauges import UsageGauges
from scimtenancy_server.storage.audit import AuditStore
from scimtenancy_server.storage.audit_memory import InMemoryAuditStore
from scimtenancy_server.storage.idempotency import IdempotencyStore, InMemoryIdempotencyStore
from scimtenancy_server.storage.memory import InMemoryResourceRepository
from scimtenancy_server.storage.mongo_driver import close as close_client
from scimtenancy_server.storage.repository import ResourceRepository
from scimtenancy_server.storage.tenants import InMemoryTenantStore, TenantStore
from scimtenancy_server.tenants_file.admin_port import ServicerAdmin


@dataclass
class Application:
    repository: ResourceRepository
    tenant_store: TenantStore
    resolver: TenantResolver
    resources: ResourceService
    bulk: BulkService
    audit: AuditLog
    administration: TenantAdministration
    usage_gauges: UsageGauges
    idempotency: IdempotencyService
    admin: TenantAdminServicer
    jwt: JwtResolver  # also when the resolver chain leaves it out: the file binds issuers
    health: StorageAwareHealth | None = None  # set when the gRPC server is built
    _client: Any = field(default=None, repr=False)

    async def close(self) -> None:
        await self.audit.close()  # stores what it still holds before the client goes
        await self.idempotency.close()
        if self._client is not None:
            await close_client(self._client)


def _storage(settings: Settings) -> tuple[ResourceRepository, TenantStore, Any]:
    if settings.storage == "memory":
        return InMemoryResourceRepository(), InMemoryTenantStore(), None
    from scimtenancy_server.storage.mongo import MongoResourceRepository
    from scimtenancy_server.storage.mongo_driver import connect
    from scimtenancy_server.storage.mongo_tenants import MongoTenantStore

    instrument_mongodb_driver()
    client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms, settings.mongodb_driver)
    database = client[settings.mongodb_database]
    return MongoResourceRepository(database), MongoTenantStore(database), client


def _audit_store(settings: Settings, client: Any) -> AuditStore:
    retention = timedelta(days=settings.audit_retention_days)
    if client is None:
        return InMemoryAuditStore(retention)
    from scimtenancy_server.storage.audit_mongo import MongoAuditStore

    return MongoAuditStore(client[settings.mongodb_database], retention)


def _idempotency_store(settings: Settings, client: Any) -> IdempotencyStore:
    if client is None:
        return InMemoryIdempotencyStore()
    from scimtenancy_server.storage.mongo_idempotency import MongoIdempotencyStore

    return MongoIdempotencyStore(client[settings.mongodb_database])


def nothing_done(error: ScimError) -> bool:
    """Whether the request's error will reach its caller as a gRPC UNAVAILABLE, which
    promises that nothing was done."""
    return grpc_code(as_outcome(error)) is grpc.StatusCode.UNAVAILABLE


def input_limits(settings: Settings) -> InputLimits:
    """The input limits the settings name (the rest keep their defaults)."""
    return InputLimits(
        max_string_length=settings.max_string_length,
        max_values=settings.max_values,
        max_resource_bytes=settings.max_resource_bytes,
        max_json_depth=settings.max_json_depth,
        max_filter_length=settings.max_filter_length,
        max_filter_terms=settings.max_filter_terms,
        max_filter_depth=settings.max_filter_depth,
        max_path_length=settings.max_path_length,
    )


def build_application(settings: Settings) -> Application:
    repository, tenant_store, client = _storage(settings)
    audit = AuditLog(_audit_store(settings, client), backlog=settings.audit_backlog)
    jwt_resolver = JwtResolver(settings.jwt_issuers, tenant_store)
    available: dict[str, CredentialResolver] = {
        "jwt": jwt_resolver,
        "api_key": ApiKeyResolver(tenant_store),
    }
    chain = [available[name] for name in settings.credential_resolvers]
    resolver = TenantResolver(chain, ttl=settings.tenant_cache_ttl)

    async def namespace() -> Tenant | None:
        if not settings.shared_namespace:
            return None
        return await tenant_store.get(settings.shared_namespace)

    shared = SharedNamespace(repository, namespace, frozenset(settings.shared_resource_types))
    resources = ResourceService(
        repository,
        DEFAULT_REGISTRY,
        max_filter_scan=settings.max_filter_scan,
        shared=shared,
        audit=audit,
        limits=input_limits(settings),
    )
    idempotency = IdempotencyService(
        _idempotency_store(settings, client),
        timedelta(hours=settings.idempotency_retention_hours),
        nothing_done,
        lease=lease_for(settings.bulk_rpc_timeout),
    )
    administration = TenantAdministration(
        tenant_store,
        repository,
        DEFAULT_REGISTRY,
        resolver,
        IsolationLevel(settings.default_isolation),
        shared_available=bool(settings.shared_namespace),
        move_settle=settings.tenant_cache_ttl,
        audit=audit,
        idempotency=idempotency.store,
    )
    return Application(
        repository=repository,
        tenant_store=tenant_store,
        resolver=resolver,
        resources=resources,
        bulk=BulkService(resources, audit, settings.bulk_max_operations, settings.bulk_max_payload),
        usage_gauges=UsageGauges(
            tenant_store,
            resources,
            resolver,
            settings.metrics_tenant_labels,
            storage_ping=repository.ping,
            audit=audit,
        ),
        administration=administration,
        audit=audit,
        idempotency=idempotency,
        admin=TenantAdminServicer(administration, audit),
        jwt=jwt_resolver,
        _client=client,
    )


# Metadata carries credentials (up to the transcoder's 16 KiB) and a few short values;
# gRPC's default limit (8 KiB) would refuse large tokens with an error that names no cause.
MAX_METADATA_BYTES = 32_768
GRPC_SERVER_OPTIONS = (
    ("grpc.max_metadata_size", MAX_METADATA_BYTES),
    ("grpc.absolute_max_metadata_size", 2 * MAX_METADATA_BYTES),
)


async def build_grpc_server(app: Application, settings: Settings) -> tuple[grpc.aio.Server, int]:
    """Returns the server (not started) and the port it is bound to."""
    metrics = OperationMetrics(
        OperationLabels(settings.metrics_tenant_labels, resource_type_name(DEFAULT_REGISTRY))
    )
    # The guards wrap each method once, here; only tracing's span interceptor runs per call.
    server = grpc.aio.server(options=GRPC_SERVER_OPTIONS, interceptors=span_interceptors() or None)
    tenant_guard = TenantGuard(
        app.resolver,
        TenantRateLimiter(settings.rate_limit, settings.rate_burst),
        metrics,
        TenantFairShare(settings.tenant_concurrency),
    )
    tenant_guard.register(
        server,
        resources_pb2_grpc.add_ResourceServiceServicer_to_server,
        ResourceServicer(app.resources, app.bulk, app.idempotency),
    )
    AdminGuard(settings.admin_token.get_secret_value(), metrics).register(
        server, admin_pb2_grpc.add_TenantAdminServiceServicer_to_server, app.admin
    )
    discovery = DiscoveryServicer(
        app.bulk, DEFAULT_REGISTRY, app.resources.max_count, app.resources.default_count
    )
    tenant_guard.register(
        server, discovery_pb2_grpc.add_DiscoveryServiceServicer_to_server, discovery
    )
    app.health = await add_health_and_reflection(server, app.repository.ping)
    return server, add_port(server, settings)


def build_tenant_config(app: Application, settings: Settings) -> TenantConfigReloader:
    """The reloader of the tenants file the settings name; it applies through the admin
    servicer in process, so a change is validated and audited as an admin call is."""
    source = TenantsFileSource.from_settings(settings)

    async def report(current: bool) -> None:
        if app.health is not None:
            await app.health.report_tenant_config(current)

    targets = Targets(ServicerAdmin(app.admin), app.jwt, app.resolver)
    return TenantConfigReloader(source, targets, prune=settings.tenants_prune, report=report)
