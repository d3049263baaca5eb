"""A tenant of the file as the admin API's messages, and the values compared with the
server's tenants, normalised so that "unset" and "the server's default" compare equal."""

from __future__ import annotations

from typing import Any, cast

import orjson

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_server.domain.permissions import ALL_PERMISSIONS
from scimtenancy_server.domain.tenant import Compatibility, IsolationLevel
from scimtenancy_server.tenants_file.model import (
    LimitsSpec,
    RateLimitSpec,
    ResponsesSpec,
    SchemaExtensionSpec,
    TenantSpec,
)


def isolation_message(level: IsolationLevel | None) -> pb.IsolationLevel:
    if level is None:
        return pb.ISOLATION_LEVEL_UNSPECIFIED
    return cast(pb.IsolationLevel, pb.IsolationLevel.Value(f"ISOLATION_LEVEL_{level.name}"))


def isolation_name(level: pb.IsolationLevel) -> str:
    return pb.IsolationLevel.Name(level).removeprefix("ISOLATION_LEVEL_").lower()


def compatibility_message(profile: Compatibility) -> pb.Compatibility:
    return cast(pb.Compatibility, pb.Compatibility.Value(f"COMPATIBILITY_{profile.name}"))


def limits_message(limits: LimitsSpec) -> pb.Limits:
    return pb.Limits(max_users=limits.users, max_groups=limits.groups)


def rate_limit_message(rate: RateLimitSpec | None) -> pb.RateLimit | None:
    if rate is None:
        return None
    return pb.RateLimit(requests_per_second=rate.requests_per_second, burst=rate.burst)


def responses_message(responses: ResponsesSpec) -> pb.ResponseOptions:
    answer = responses.patch_answer
    return pb.ResponseOptions(
        documentation_uri=responses.documentation_uri or "",
        authentication_schemes=[
            pb.AuthenticationScheme(
                type=s.type,
                name=s.name,
                description=s.description,
                spec_uri=s.spec_uri or "",
                documentation_uri=s.documentation_uri or "",
                primary=s.primary,
            )
            for s in responses.authentication_schemes
        ],
        bulk=responses.bulk,
        sort=responses.sort,
        etag=responses.etag,
        filter_max_results=responses.filter_max_results or 0,
        patch_answer=_patch_answer(answer),
    )


_PATCH_ANSWERS: dict[str, pb.PatchAnswer] = {
    "representation": pb.PATCH_ANSWER_REPRESENTATION,
    "no_content": pb.PATCH_ANSWER_NO_CONTENT,
}
_PATCH_ANSWER_NAMES = {v: k for k, v in _PATCH_ANSWERS.items()}


def _patch_answer(answer: str | None) -> pb.PatchAnswer:
    """Unset: the server's rule."""
    return pb.PATCH_ANSWER_UNSPECIFIED if answer is None else _PATCH_ANSWERS[answer]


def permission_names(spec: TenantSpec) -> list[str]:
    return sorted(p.value for p in spec.permissions)


def create_request(spec: TenantSpec) -> pb.CreateTenantRequest:
    return pb.CreateTenantRequest(
        tenant_id=spec.id,
        display_name=spec.display_name or spec.id,
        isolation_level=isolation_message(spec.isolation),
        limits=limits_message(spec.limits),
        permissions=permission_names(spec),
        compatibility=compatibility_message(spec.compatibility),
        response_options=responses_message(spec.responses),
        rate_limit=rate_limit_message(spec.rate_limit),
    )


def extension_request(
    tenant_id: str, spec: SchemaExtensionSpec
) -> pb.RegisterSchemaExtensionRequest:
    return pb.RegisterSchemaExtensionRequest(
        tenant_id=tenant_id,
        resource_type=spec.resource_type,
        schema_json=orjson.dumps(spec.schema_document),
        required=spec.required,
    )


# -- values as compared and shown


def limits_value(limits: pb.Limits) -> dict[str, int]:
    return {f.name: v for f, v in limits.ListFields()}


def rate_limit_value(tenant: pb.Tenant | pb.CreateTenantRequest) -> tuple[float, int] | None:
    if not tenant.HasField("rate_limit") or tenant.rate_limit.requests_per_second <= 0:
        return None
    return tenant.rate_limit.requests_per_second, tenant.rate_limit.burst


def responses_value(options: pb.ResponseOptions) -> dict[str, Any]:
    """Each option as the server applies it: unset is the default."""
    return {
        "documentation_uri": options.documentation_uri,
        "authentication_schemes": [
            (s.type, s.name, s.description, s.spec_uri, s.documentation_uri, s.primary)
            for s in options.authentication_schemes
        ],
        "bulk": options.bulk if options.HasField("bulk") else True,
        "sort": options.sort if options.HasField("sort") else True,
        "etag": options.etag if options.HasField("etag") else True,
        "filter_max_results": options.filter_max_results,
        "patch_answer": _PATCH_ANSWER_NAMES.get(options.patch_answer, "default"),
    }


def permissions_value(names: list[str]) -> list[str]:
    return sorted(names) if names else sorted(p.value for p in ALL_PERMISSIONS)
