"""The operation metrics: `scim.operations` (a counter) and `scim.operation.duration` (a
histogram), both labelled by operation, resource type, outcome, error type and (unless
switched off) tenant.

A label set is made once and reused (`OperationLabels.series`). The counts are kept here, one
integer per label set for the whole process, and exported through an observable counter,
which the metric readers see as the same cumulative, monotonic sum a synchronous counter
gives: counting in the SDK cost about as much as a small request's own work."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions
from opentelemetry.metrics import Observation as Measured

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import ResourceTypeRegistry

COUNT_NAME = "scim.operations"
DURATION_NAME = "scim.operation.duration"


class OperationSeries:
    """One label set, and the operations it counted in this process."""

    __slots__ = ("attributes", "count")

    def __init__(self, attributes: Mapping[str, str]) -> None:
        self.attributes = attributes
        self.count = 0


# Every label set the process counted, by its sorted items: servers built in one process
# (tests, the development command) share one count per label set, as they share the SDK's.
_SERIES: dict[tuple[tuple[str, str], ...], OperationSeries] = {}


def _series(attributes: Mapping[str, str]) -> OperationSeries:
    key = tuple(sorted(attributes.items()))
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = OperationSeries(attributes)
    return found


def _observe_counts(options: CallbackOptions) -> Iterable[Measured]:
    # `list` copies at once, so a label set added meanwhile (the serving thread) is harmless.
    return [Measured(s.count, s.attributes) for s in list(_SERIES.values()) if s.count]


# The field names of each request message type seen (None: not a protobuf message).
_FIELDS: dict[type, frozenset[str] | None] = {}


def request_field(request: Any, name: str) -> str:
    """The request's string field `name`, or "" if its message type has none: found in the
    type's descriptor, since looking up an attribute a message lacks raises (a microsecond
    and a half a call)."""
    kind = type(request)
    try:
        names = _FIELDS[kind]
    except KeyError:
        descriptor = getattr(kind, "DESCRIPTOR", None)
        names = _FIELDS[kind] = None if descriptor is None else frozenset(descriptor.fields_by_name)
    if names is None:
        return getattr(request, name, "") or ""
    return (getattr(request, name) or "") if name in names else ""


def outcome(error: ScimError | None) -> str:
    if error is None:
        return "ok"
    return "server_error" if error.status >= 500 else "client_error"


def error_type(error: ScimError | None) -> str:
    if error is None:
        return ""
    return error.scim_type or str(error.status)


# Label sets looked up by their values; past this many (never in practice: tenants,
# operations, types and outcomes are few) the lookup starts again (the counts stay).
_MAX_LOOKUPS = 10_000
LabelKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class OperationLabels:
    """The metric attributes of one call; resource types outside `known_types` become
    `other`, so clients cannot grow the label set."""

    tenant_labels: bool
    resource_type_of: Callable[[str], str | None]
    _made: dict[LabelKey, OperationSeries] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def series(
        self, tenant: str, operation: str, resource_type: str, error: ScimError | None
    ) -> OperationSeries:
        """The label set of a call, the same object for every call with the same labels."""
        key = (tenant, operation, resource_type, outcome(error), error_type(error))
        found = self._made.get(key)
        if found is None:
            if len(self._made) >= _MAX_LOOKUPS:
                self._made.clear()
            found = self._made[key] = _series(self._attributes(*key))
        return found

    def _attributes(
        self, tenant: str, operation: str, resource_type: str, outcome: str, error_type: str
    ) -> dict[str, str]:
        attributes = {
            "scim.operation": operation,
            "scim.resource_type": resource_type,
            "scim.outcome": outcome,
            "scim.error_type": error_type,
        }
        if self.tenant_labels:
            attributes["tenant.id"] = tenant
        return attributes

    def resource_type(self, request: Any) -> str:
        key = request_field(request, "resource_type")
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


# The process's one observable counter (a second one of the same name would be refused).
_counters: list[Any] = []


class OperationMetrics:
    def __init__(self, labels: OperationLabels) -> None:
        meter = metrics.get_meter("scimtenancy_server")
        self.labels = labels
        if not _counters:
            _counters.append(
                meter.create_observable_counter(
                    COUNT_NAME,
                    callbacks=[_observe_counts],
                    unit="{operation}",
                    description="SCIM operations served",
                )
            )
        self._duration = meter.create_histogram(
            DURATION_NAME, unit="s", description="time to serve a SCIM operation"
        )

    def record(self, series: OperationSeries, seconds: float) -> None:
        series.count += 1
        self._duration.record(seconds, series.attributes)
