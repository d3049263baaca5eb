"""The admin API's response options and rate limits: bad values are refused with a SCIM
error and change nothing; good ones read back as set."""

from __future__ import annotations

import grpc
import orjson
import pytest
from e2e.test_admin_rpc import ADMIN, channel, scim_error
from helpers import unique_id

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc

__all__ = ["channel"]  # the fixture, shared


def _scheme(**changes: object) -> admin_pb2.AuthenticationScheme:
    fields: dict[str, object] = {
        "type": "oauthbearertoken",
        "name": "Bearer",
        "description": "An API key",
        **changes,
    }
    return admin_pb2.AuthenticationScheme(**fields)  # type: ignore[arg-type]


_BAD_OPTIONS: dict[str, tuple[admin_pb2.ResponseOptions, str]] = {
    "documentation uri scheme": (
        admin_pb2.ResponseOptions(documentation_uri="ftp://docs.example.com"),
        "documentation_uri must be an http(s) URL",
    ),
    "documentation uri relative": (
        admin_pb2.ResponseOptions(documentation_uri="/docs"),
        "documentation_uri must be an http(s) URL",
    ),
    "documentation uri long": (
        admin_pb2.ResponseOptions(documentation_uri="https://x.example/" + "a" * 2048),
        "at most 2048 characters",
    ),
    "spec uri": (
        admin_pb2.ResponseOptions(authentication_schemes=[_scheme(spec_uri="javascript:x")]),
        "authentication_schemes[0].spec_uri must be an http(s) URL",
    ),
    "unclosed IPv6 host": (
        admin_pb2.ResponseOptions(documentation_uri="https://["),
        "documentation_uri must be an http(s) URL",
    ),
    "spaces": (
        admin_pb2.ResponseOptions(documentation_uri="https://a b/c d"),
        "documentation_uri must be an http(s) URL",
    ),
    "scheme type not served": (
        admin_pb2.ResponseOptions(authentication_schemes=[_scheme(type="httpbasic")]),
        "authentication_schemes[0].type must be one of",
    ),
    "scheme name missing": (
        admin_pb2.ResponseOptions(authentication_schemes=[_scheme(name="")]),
        "authentication_schemes[0].name is required",
    ),
    "scheme description long": (
        admin_pb2.ResponseOptions(authentication_schemes=[_scheme(description="d" * 1025)]),
        "at most 1024 characters",
    ),
    "too many schemes": (
        admin_pb2.ResponseOptions(authentication_schemes=[_scheme() for _ in range(9)]),
        "at most 8 authentication_schemes",
    ),
    "two primaries": (
        admin_pb2.ResponseOptions(
            authentication_schemes=[_scheme(primary=True), _scheme(primary=True)]
        ),
        "at most one authentication scheme may be primary",
    ),
    "max results negative": (
        admin_pb2.ResponseOptions(filter_max_results=-1),
        "filter_max_results must be from 0",
    ),
    "max results past the server's": (
        admin_pb2.ResponseOptions(filter_max_results=1001),
        "filter_max_results must be from 0 (the server's) to 1000",
    ),
    "unknown patch answer": (
        admin_pb2.ResponseOptions(patch_answer=7),  # type: ignore[arg-type]
        "unknown patch_answer 7",
    ),
}
_BAD_RATES: dict[str, tuple[admin_pb2.RateLimit, str]] = {
    "negative rate": (admin_pb2.RateLimit(requests_per_second=-1, burst=5), "from 0.001"),
    "infinite rate": (
        admin_pb2.RateLimit(requests_per_second=float("inf"), burst=5),
        "from 0.001",
    ),
    "denormal rate": (  # its Retry-After would be infinite
        admin_pb2.RateLimit(requests_per_second=5e-324, burst=1),
        "from 0.001",
    ),
    "no burst": (admin_pb2.RateLimit(requests_per_second=5), "rate_limit.burst must be from 1"),
    "huge burst": (
        admin_pb2.RateLimit(requests_per_second=5, burst=2_000_000),
        "rate_limit.burst must be from 1 to 1000000",
    ),
}


async def _refused(call: object, detail: str) -> None:
    assert callable(call)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = scim_error(refused.value)
    assert (error.status, error.scim_type) == (400, "invalidValue")
    assert detail in error.detail, error.detail


@pytest.mark.parametrize("case", [*_BAD_OPTIONS, *_BAD_RATES, "long display name"])
async def test_bad_response_options_and_rate_limits_are_refused(
    channel: grpc.aio.Channel, case: str
) -> None:
    """Refused on create (the tenant is not made) and on update (nothing changes)."""
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    fields: dict[str, object]
    if case in _BAD_OPTIONS:
        options, detail = _BAD_OPTIONS[case]
        fields = {"response_options": options}
    elif case in _BAD_RATES:
        rate, detail = _BAD_RATES[case]
        fields = {"rate_limit": rate}
    else:
        fields, detail = {"display_name": "n" * 257}, "at most 256 characters"
    tenant_id = unique_id()

    async def create() -> None:
        request = admin_pb2.CreateTenantRequest(tenant_id=tenant_id, **fields)  # type: ignore[arg-type]
        await admin.CreateTenant(request, metadata=ADMIN)

    await _refused(create, detail)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await admin.GetTenant(admin_pb2.GetTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    made = await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=ADMIN
    )

    async def change() -> None:
        request = admin_pb2.UpdateTenantRequest(tenant_id=tenant_id, **fields)  # type: ignore[arg-type]
        await admin.UpdateTenant(request, metadata=ADMIN)

    await _refused(change, detail)
    found = await admin.GetTenant(admin_pb2.GetTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    assert found.tenant == made.tenant


async def test_response_options_rate_limit_and_extensions_read_back(
    channel: grpc.aio.Channel,
) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    tenant_id = unique_id()
    options = admin_pb2.ResponseOptions(
        documentation_uri="https://docs.example.com/scim",
        authentication_schemes=[_scheme(spec_uri="https://www.rfc-editor.org/rfc/rfc6750")],
        sort=False,
        filter_max_results=50,
        patch_answer=admin_pb2.PATCH_ANSWER_NO_CONTENT,
    )
    rate = admin_pb2.RateLimit(requests_per_second=2.5, burst=10)
    created = await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(
            tenant_id=tenant_id, response_options=options, rate_limit=rate
        ),
        metadata=ADMIN,
    )
    expected = admin_pb2.ResponseOptions()
    expected.CopyFrom(options)
    expected.bulk, expected.etag = True, True  # unset features read back as offered
    assert created.tenant.response_options == expected
    assert created.tenant.rate_limit == rate
    schema = {
        "id": "urn:example:params:scim:schemas:extension:badge:2.0:User",
        "name": "Badge",
        "attributes": [{"name": "badge", "type": "string", "multiValued": False}],
    }
    await admin.RegisterSchemaExtension(
        admin_pb2.RegisterSchemaExtensionRequest(
            tenant_id=tenant_id, resource_type="User", schema_json=orjson.dumps(schema)
        ),
        metadata=ADMIN,
    )
    found = (
        await admin.GetTenant(admin_pb2.GetTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    ).tenant
    (extension,) = found.extensions
    assert (extension.resource_type, extension.schema_urn, extension.required) == (
        "User",
        schema["id"],
        False,
    )
    assert orjson.loads(extension.schema_json)["attributes"][0]["name"] == "badge"
    assert found.response_options == expected
    kept = await admin.UpdateTenant(
        admin_pb2.UpdateTenantRequest(tenant_id=tenant_id, display_name="Renamed"), metadata=ADMIN
    )
    assert (kept.tenant.response_options, kept.tenant.rate_limit) == (expected, rate)
    plain = await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=unique_id()), metadata=ADMIN
    )
    assert not plain.tenant.HasField("rate_limit")
    defaults = plain.tenant.response_options
    assert (defaults.bulk, defaults.sort, defaults.etag) == (True, True, True)
    assert (defaults.filter_max_results, defaults.patch_answer) == (
        0,
        admin_pb2.PATCH_ANSWER_UNSPECIFIED,
    )
