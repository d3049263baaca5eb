"""What every RPC reports: attributes on its trace span, operation metrics, and the log context
(request id, tenant) of the lines written while it runs. Never credentials, never the values of
resource attributes: only ids, names of operations and types, and outcomes."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from contextvars import Token
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from scimtenancy_common.logs import (
    REQUEST_ID_KEY,
    SAFE_REQUEST_ID,
    request_id_var,
    tenant_var,
)
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.rpc.context import RequestContext
from scimtenancy_server.rpc.operation_metrics import (
    OperationMetrics,
    error_type,
    outcome,
    request_field,
)

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


class Observation:
    """One RPC from arrival to its answer.

    Its tenant label is only ever a tenant the server resolved, so strangers cannot grow the
    label set: the credential's tenant, or for an admin call (which names its tenant in the
    request) the named one once the admin token was accepted and the call succeeded, which
    proves the tenant exists, except for reading the audit log (events outlive their tenant).
    Anything else counts as `unresolved`.

    `span` is the call's span where the process traces, else None (no span calls at all)."""

    __slots__ = (
        "_tokens",
        "admitted",
        "metrics",
        "named_tenant",
        "operation",
        "resource_type",
        "span",
        "started",
        "tenant",
    )

    def __init__(
        self,
        metrics: OperationMetrics,
        operation: str,
        resource_type: str,
        span: Span | None,
        named_tenant: str = "",
    ) -> None:
        self.metrics = metrics
        self.operation = operation
        self.resource_type = resource_type
        self.span = span
        self.tenant = ""
        self.named_tenant = named_tenant
        self.admitted = False
        self.started = time.perf_counter()
        self._tokens: list[Token[str]] = []

    @classmethod
    def begin(
        cls,
        operation: str,
        request: Any,
        metadata: Mapping[str, str],
        metrics: OperationMetrics,
        traced: bool = True,
    ) -> Observation:
        span = trace.get_current_span() if traced else None
        observation = cls(
            metrics,
            operation,
            metrics.labels.resource_type(request),
            span,
            named_tenant=request_field(request, "tenant_id"),
        )
        request_id = metadata.get(REQUEST_ID_KEY, "")
        if request_id and SAFE_REQUEST_ID.fullmatch(request_id):
            observation._tokens.append(request_id_var.set(request_id))
            if span is not None:
                span.set_attribute("scim.request_id", request_id)
        if span is not None:
            span.set_attribute("scim.operation", operation)
            if observation.resource_type:
                span.set_attribute("scim.resource_type", observation.resource_type)
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
        if self.span is not None:
            self.span.set_attribute("tenant.id", tenant)

    def tenant_label(self, error: ScimError | None) -> str:
        if not self.admitted:
            return self.tenant or UNRESOLVED
        proven = error is None and self.operation not in _TENANTLESS_READS
        return self.named_tenant if proven and self.named_tenant else UNRESOLVED

    def end(self, error: ScimError | None) -> None:
        seconds = time.perf_counter() - self.started
        span = self.span
        if span is not None:
            span.set_attribute("scim.outcome", outcome(error))
            if error is not None:
                span.set_attribute("scim.error_type", error_type(error))
                if error.status >= 500:
                    span.set_status(Status(StatusCode.ERROR, error_type(error)))
        series = self.metrics.labels.series(
            self.tenant_label(error), self.operation, self.resource_type, error
        )
        self.metrics.record(series, seconds)
        if rpc_log.isEnabledFor(logging.DEBUG):  # the transcoder logs each HTTP request at info
            attributes = series.attributes
            rpc_log.debug(
                "%s %s %s",
                self.operation,
                self.resource_type or "-",
                attributes["scim.outcome"],
                extra={"fields": {**attributes, "duration_ms": round(seconds * 1000, 3)}},
            )
        for token in reversed(self._tokens):
            token.var.reset(token)
