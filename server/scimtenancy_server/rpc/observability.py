"""What every RPC reports: attributes on its trace span, operation metrics, and the log context
(request id, tenant) of the lines written while it runs. Never credentials, never the values of
resource attributes: only ids, names of operations and types, and outcomes."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from contextvars import Token
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, Status, StatusCode

from scimtenancy_common.logs import (
    REQUEST_ID_KEY,
    SAFE_REQUEST_ID,
    request_id_var,
    tenant_var,
)
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import ResourceTypeRegistry
from scimtenancy_server.rpc.context import RequestContext

UNRESOLVED = "unresolved"
_OPERATIONS = {
    "CreateResource": "create",
    "GetResource": "get",
    "ReplaceResource": "replace",
    "PatchResource": "patch",
    "DeleteResource": "delete",
    "ListResources": "list",
    "SearchResources": "search",
    "ResolveMe": "me",
    "Bulk": "bulk",
    "CheckHealth": "health",
}

# Admin reads that succeed for a tenant that does not (or no longer) exist.
_TENANTLESS_READS = frozenset({"list_audit_events"})

tracer = trace.get_tracer("scimtenancy_server")
rpc_log = logging.getLogger("scimtenancy_server.rpc")


def operation_name(method: str) -> str:
    """`/scimtenancy.resources.v1.ResourceService/GetResource` → `get`; other RPCs keep
    their name in snake case (`GetServiceProviderConfig` → `get_service_provider_config`)."""
    name = method.rsplit("/", 1)[-1]
    return _OPERATIONS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class OperationLabels:
    """The metric attributes of one call; resource types outside `known_types` become
    `other`, so clients cannot grow the label set."""

    tenant_labels: bool
    resource_type_of: Callable[[str], str | None]

    def attributes(
        self, tenant: str, operation: str, resource_type: str, error: ScimError | None
    ) -> dict[str, str]:
        attributes = {
            "scim.operation": operation,
            "scim.resource_type": resource_type,
            "scim.outcome": outcome(error),
            "scim.error_type": error_type(error),
        }
        if self.tenant_labels:
            attributes["tenant.id"] = tenant
        return attributes

    def resource_type(self, request: Any) -> str:
        key = getattr(request, "resource_type", "")
        if not key:
            return ""
        return self.resource_type_of(key) or "other"


def resource_type_name(registry: ResourceTypeRegistry) -> Callable[[str], str | None]:
    """`Users`, `/Users` or `User` → `User`; None for what the registry does not know."""

    def name(key: str) -> str | None:
        try:
            return registry.resolve(key).name
        except ScimError:
            return None

    return name


def outcome(error: ScimError | None) -> str:
    if error is None:
        return "ok"
    return "server_error" if error.status >= 500 else "client_error"


def error_type(error: ScimError | None) -> str:
    if error is None:
        return ""
    return error.scim_type or str(error.status)


class OperationMetrics:
    def __init__(self, labels: OperationLabels) -> None:
        meter = metrics.get_meter("scimtenancy_server")
        self.labels = labels
        self._count = meter.create_counter(
            "scim.operations", unit="{operation}", description="SCIM operations served"
        )
        self._duration = meter.create_histogram(
            "scim.operation.duration", unit="s", description="time to serve a SCIM operation"
        )

    def record(self, attributes: Mapping[str, str], seconds: float) -> None:
        self._count.add(1, attributes)
        self._duration.record(seconds, attributes)


@dataclass
class Observation:
    """One RPC from arrival to its answer.

    Its tenant label is only ever a tenant the server resolved, so strangers cannot grow the
    label set: the credential's tenant, or for an admin call (which names its tenant in the
    request) the named one once the admin token was accepted and the call succeeded, which
    proves the tenant exists, except for reading the audit log (events outlive their tenant).
    Anything else counts as `unresolved`."""

    metrics: OperationMetrics
    operation: str
    resource_type: str
    span: Span
    tenant: str = ""
    named_tenant: str = ""
    admitted: bool = False
    started: float = field(default_factory=time.perf_counter)
    _tokens: list[Token[str]] = field(default_factory=list)

    @classmethod
    def begin(
        cls, method: str, request: Any, metadata: Mapping[str, str], metrics: OperationMetrics
    ) -> Observation:
        request_id = metadata.get(REQUEST_ID_KEY, "")
        observation = cls(
            metrics,
            operation_name(method),
            metrics.labels.resource_type(request),
            trace.get_current_span(),
            named_tenant=getattr(request, "tenant_id", "") or "",
        )
        if SAFE_REQUEST_ID.fullmatch(request_id):
            observation._tokens.append(request_id_var.set(request_id))
            observation.span.set_attribute("scim.request_id", request_id)
        observation.span.set_attribute("scim.operation", observation.operation)
        if observation.resource_type:
            observation.span.set_attribute("scim.resource_type", observation.resource_type)
        return observation

    def resolved(self, context: RequestContext | None) -> None:
        """The guard let the call in: with the credential's tenant, or (None) as an admin."""
        if context is not None:
            self.resolved_tenant(context.tenant.tenant_id)
            return
        self.admitted = True
        if self.named_tenant:
            self.resolved_tenant(self.named_tenant)

    def resolved_tenant(self, tenant: str) -> None:
        self.tenant = tenant
        self._tokens.append(tenant_var.set(tenant))
        self.span.set_attribute("tenant.id", tenant)

    def tenant_label(self, error: ScimError | None) -> str:
        if not self.admitted:
            return self.tenant or UNRESOLVED
        proven = error is None and self.operation not in _TENANTLESS_READS
        return self.named_tenant if proven and self.named_tenant else UNRESOLVED

    def end(self, error: ScimError | None) -> None:
        seconds = time.perf_counter() - self.started
        self.span.set_attribute("scim.outcome", outcome(error))
        if error is not None:
            self.span.set_attribute("scim.error_type", error_type(error))
            if error.status >= 500:
                self.span.set_status(Status(StatusCode.ERROR, error_type(error)))
        attributes = self.metrics.labels.attributes(
            self.tenant_label(error), self.operation, self.resource_type, error
        )
        self.metrics.record(attributes, seconds)
        if rpc_log.isEnabledFor(logging.DEBUG):  # the transcoder logs each HTTP request at info
            rpc_log.debug(
                "%s %s %s",
                self.operation,
                self.resource_type or "-",
                attributes["scim.outcome"],
                extra={"fields": {**attributes, "duration_ms": round(seconds * 1000, 3)}},
            )
        for token in reversed(self._tokens):
            token.var.reset(token)
