"""The tenants file as data: every tenant the service should have, and how it is configured.

Secrets never live here: API keys are issued by the admin API, and an HS issuer names the
environment variable that holds its secret (`secret_env`), read when the file is loaded."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from scimtenancy_common.settings import JwtIssuer
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import INT64_MAX
from scimtenancy_server.domain.permissions import ALL_PERMISSIONS, Permission
from scimtenancy_server.domain.tenant import (
    Compatibility,
    IsolationLevel,
    validate_tenant_id,
)
from scimtenancy_server.domain.tenant_options import (
    MAX_BURST,
    MAX_DISPLAY_NAME,
    MAX_PAGE_SIZE,
    MAX_REQUESTS_PER_SECOND,
    MAX_SCHEME_DESCRIPTION,
    MAX_SCHEME_NAME,
    MAX_SCHEMES,
    MIN_REQUESTS_PER_SECOND,
    check_text,
    check_uri,
    validate_display_name,
)
from scimtenancy_server.tenants_file.extensions import check_extension_schema

FORMAT_VERSION = 1
MAX_TENANTS = 10_000
INT32_MAX = 2**31 - 1
# Validation context key: the loader runs the cross-tenant checks itself, to place each
# problem on its own line.
DEFER_CROSS_CHECKS = "defer_cross_checks"
SYMMETRIC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
# RFC 7518 §3.2: an HMAC key is at least as long as the hash's output.
MIN_SECRET_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
Algorithm = Literal[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"
]


def _as_value_error(check: Callable[[str], object]) -> Callable[[str], str]:
    """A domain check (the admin API's) as a pydantic validator."""

    def validated(value: str) -> str:
        try:
            check(value)
        except ScimError as error:
            raise ValueError(error.detail) from None
        return value

    return validated


_http_url = _as_value_error(lambda value: check_uri(value, "the URL"))
_display_name = _as_value_error(validate_display_name)


_tenant_id = _as_value_error(validate_tenant_id)


HttpUrl = Annotated[
    str,
    Field(max_length=2048, json_schema_extra={"format": "uri", "pattern": "^https?://"}),
    AfterValidator(_http_url),
]
TenantId = Annotated[
    str,
    Field(json_schema_extra={"pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}),
    AfterValidator(_tenant_id),
]
# The domain's own enums, read from their values (strict mode would want enum instances).
PermissionName = Annotated[Permission, Strict(False)]
Isolation = Annotated[IsolationLevel, Strict(False)]
Profile = Annotated[Compatibility, Strict(False)]
# Absent: the server's rule (the resource, but 204 after a Group's members change).
Answer = Literal["representation", "no_content"]
Name = Annotated[str, Field(min_length=1, max_length=256)]
SchemeType = Literal["oauthbearertoken", "oauth2"]  # as domain.tenant_options.SERVED_SCHEME_TYPES
# Variables that hold something else: the service's own settings (its admin token among them)
# and the shell's, whose values anyone can guess and would make a forgeable HS key.
_NOT_SECRETS = frozenset({"PATH", "HOME", "PWD", "OLDPWD", "USER", "LOGNAME", "SHELL", "HOSTNAME",
                          "LANG", "TERM", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"})  # fmt: skip


def _secret_name(name: str) -> str:
    if name.upper().startswith("SCIMTENANCY_") or name in _NOT_SECRETS:
        raise ValueError(f"{name} is not a variable for a secret: name one of its own")
    return name


EnvName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=256),
    AfterValidator(_secret_name),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LimitsSpec(_Spec):
    """Most resources the tenant may hold; an absent field: no limit."""

    users: int | None = Field(None, ge=0, le=INT64_MAX, description="most Users")
    groups: int | None = Field(None, ge=0, le=INT64_MAX, description="most Groups")


class RateLimitSpec(_Spec):
    """The tenant's own token bucket, per server process."""

    requests_per_second: float = Field(
        ge=MIN_REQUESTS_PER_SECOND,
        le=MAX_REQUESTS_PER_SECOND,
        description="average requests per second",
    )
    burst: int = Field(gt=0, le=MAX_BURST, description="requests the tenant may send at once")

    @field_validator("requests_per_second")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class SchemaExtensionSpec(_Spec):
    """A schema extension (RFC 7643 §7 representation) of one resource type of this tenant
    only; given inline (`schema`) or as a JSON file (`schema_file`, relative to this file)."""

    resource_type: Literal["User", "Group"]
    required: bool = Field(False, description="whether every resource of the type must carry it")
    schema_file: str | None = Field(None, min_length=1, description="a JSON file of the schema")
    schema_document: dict[str, Any] | None = Field(
        None, alias="schema", description="the schema representation inline"
    )

    @field_validator("schema_document")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            check_extension_schema(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.schema_file is None) == (self.schema_document is None):
            raise ValueError("give exactly one of 'schema' and 'schema_file'")
        return self

    @property
    def urn(self) -> str:
        return str((self.schema_document or {}).get("id", ""))


class JwtIssuerSpec(_Spec):
    """A token issuer whose every token belongs to this tenant."""

    issuer: Name = Field(description="the tokens' `iss`")
    audience: str | None = Field(None, min_length=1, description="the tokens' `aud`")
    algorithms: list[Algorithm] = Field(["RS256"], min_length=1, max_length=10)
    secret_env: EnvName | None = Field(
        None, description="environment variable holding the HS secret (never the secret)"
    )
    jwks_url: HttpUrl | None = None
    jwks: dict[str, Any] | None = Field(None, description="a static JWKS (public keys)")
    permissions_claim: Name = "scope"
    default_permissions: list[PermissionName] | None = None
    limit_claims: dict[str, Literal["User", "Group"]] | None = Field(
        None,
        description="claims that set limits for a token's requests; default max_users, max_groups",
    )

    @model_validator(mode="after")
    def _keys_for_algorithms(self) -> Self:
        symmetric = SYMMETRIC_ALGORITHMS.intersection(self.algorithms)
        if symmetric and self.secret_env is None:
            raise ValueError(f"{sorted(symmetric)[0]} needs 'secret_env'")
        if not symmetric and self.secret_env is not None:
            raise ValueError("'secret_env' is only for HS algorithms")
        if set(self.algorithms) - SYMMETRIC_ALGORITHMS and not (self.jwks_url or self.jwks):
            raise ValueError("RS, ES and PS algorithms need 'jwks_url' or 'jwks'")
        return self


class AuthenticationSchemeSpec(_Spec):
    """One ServiceProviderConfig `authenticationSchemes` entry (RFC 7643 §5)."""

    type: SchemeType = Field(description="every credential is a bearer token")
    name: Annotated[
        str,
        Field(min_length=1, max_length=MAX_SCHEME_NAME),
        AfterValidator(_as_value_error(lambda v: check_text(v, "name", MAX_SCHEME_NAME))),
    ]
    description: Annotated[
        str,
        Field(min_length=1, max_length=MAX_SCHEME_DESCRIPTION),
        AfterValidator(
            _as_value_error(lambda v: check_text(v, "description", MAX_SCHEME_DESCRIPTION))
        ),
    ]
    spec_uri: HttpUrl | None = None
    documentation_uri: HttpUrl | None = None
    primary: bool = False


class ResponsesSpec(_Spec):
    """The tenant's ServiceProviderConfig and the optional features it is served; an absent
    field takes the server's default."""

    documentation_uri: HttpUrl | None = None
    authentication_schemes: list[AuthenticationSchemeSpec] = Field(
        default_factory=list, max_length=MAX_SCHEMES
    )
    bulk: bool | None = Field(None, description="whether /Bulk is offered (default: yes)")
    sort: bool | None = Field(None, description="whether sortBy is offered (default: yes)")
    etag: bool | None = Field(None, description="whether ETags are offered (default: yes)")
    filter_max_results: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)
    patch_answer: Answer | None = Field(
        None,
        description="what a PATCH returns (default: the resource, but 204 after a Group's "
        "members change)",
    )

    @field_validator("authentication_schemes")
    @classmethod
    def _one_primary(cls, value: list[AuthenticationSchemeSpec]) -> list[AuthenticationSchemeSpec]:
        if sum(s.primary for s in value) > 1:
            raise ValueError("at most one authentication scheme may be primary")
        return value


class TenantSpec(_Spec):
    """One tenant."""

    id: TenantId
    display_name: Annotated[
        str,
        Field(max_length=MAX_DISPLAY_NAME, description="default: the id"),
        AfterValidator(_display_name),
    ] = ""
    isolation: Isolation | None = Field(
        None, description="default: the server's DEFAULT_ISOLATION when created; never moved"
    )
    compatibility: Profile = Compatibility.STRICT
    permissions: list[PermissionName] = Field(
        default_factory=lambda: sorted(ALL_PERMISSIONS), min_length=1, max_length=5
    )
    limits: LimitsSpec = LimitsSpec()
    rate_limit: RateLimitSpec | None = Field(None, description="default: the server's")
    schema_extensions: list[SchemaExtensionSpec] = Field(default_factory=list, max_length=100)
    jwt_issuers: list[JwtIssuerSpec] = Field(default_factory=list, max_length=100)
    responses: ResponsesSpec = ResponsesSpec()

    @field_validator("permissions")
    @classmethod
    def _distinct(cls, value: list[Permission]) -> list[Permission]:
        if len(set(value)) != len(value):
            raise ValueError("permissions are listed twice")
        return value

    @field_validator("schema_extensions")
    @classmethod
    def _distinct_urns(cls, value: list[SchemaExtensionSpec]) -> list[SchemaExtensionSpec]:
        urns = [e.urn.lower() for e in value if e.urn]
        if len(set(urns)) != len(urns):
            raise ValueError("an extension schema id appears twice")
        return value


Location = tuple[str | int, ...]


def cross_tenant_problems(tenants: list[TenantSpec]) -> list[tuple[Location, str]]:
    """What no single tenant shows: an id or a JWT issuer used twice."""
    problems: list[tuple[Location, str]] = []
    ids: set[str] = set()
    owners: dict[str, str] = {}  # issuer -> the tenant it is bound to
    for index, tenant in enumerate(tenants):
        if tenant.id in ids:
            problems.append((("tenants", index, "id"), f"tenant {tenant.id!r} is defined twice"))
        ids.add(tenant.id)
        for number, spec in enumerate(tenant.jwt_issuers):
            owner = owners.get(spec.issuer)
            if owner is None:
                owners[spec.issuer] = tenant.id
                continue
            where = ("tenants", index, "jwt_issuers", number, "issuer")
            problems.append((where, f"issuer {spec.issuer!r} is already bound to {owner!r}"))
    return problems


class TenantsConfig(_Spec):
    """The whole file: the tenants in file order, ids unique."""

    model_config = ConfigDict(
        title="scim-tenancy tenants file",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    version: Literal[1] = Field(description="the format's version")
    tenants: list[TenantSpec] = Field(default_factory=list, max_length=MAX_TENANTS)
    _secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Self:
        if not (info.context or {}).get(DEFER_CROSS_CHECKS):
            problems = cross_tenant_problems(self.tenants)
            if problems:
                raise ValueError("; ".join(message for _, message in problems))
        return self

    def with_secrets(self, secrets: Mapping[str, str]) -> TenantsConfig:
        """A copy that knows the values of the `secret_env` variables it names."""
        copy = self.model_copy()
        copy._secrets = {name: SecretStr(value) for name, value in secrets.items()}
        return copy

    def tenant(self, tenant_id: str) -> TenantSpec | None:
        return next((t for t in self.tenants if t.id == tenant_id), None)

    def jwt_issuers(self) -> list[JwtIssuer]:
        """The file's issuers, each bound to its tenant, with its secret from the environment."""
        return [_jwt_issuer(t.id, i, self._secrets) for t in self.tenants for i in t.jwt_issuers]


def _jwt_issuer(tenant_id: str, spec: JwtIssuerSpec, secrets: Mapping[str, SecretStr]) -> JwtIssuer:
    optional: dict[str, Any] = {}
    if spec.limit_claims is not None:
        optional["limit_claims"] = spec.limit_claims
    if spec.default_permissions is not None:
        optional["default_permissions"] = [p.value for p in spec.default_permissions]
    return JwtIssuer(
        issuer=spec.issuer,
        audience=spec.audience,
        algorithms=list(spec.algorithms),
        secret=secrets.get(spec.secret_env) if spec.secret_env else None,
        jwks_url=spec.jwks_url,
        jwks=spec.jwks,
        tenant=tenant_id,
        permissions_claim=spec.permissions_claim,
        **optional,
    )


def json_schema_text() -> str:
    """The JSON Schema of the file, as committed in config/tenants.schema.json."""
    return json.dumps(TenantsConfig.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
