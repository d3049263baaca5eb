"""One settings model for both processes: environment variables `SCIMTENANCY_*`, or flags.

The server reads its fields, the transcoder its own, and the development command both; a bad
value stops either process at start with one line per value naming the variable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IsolationName = Literal["strict", "standard", "shared"]
UrlStrategyName = Literal["path", "subdomain", "header"]
ENV_PREFIX = "SCIMTENANCY_"
MAX_TENANTS_FILES = 32
# Values of these settings are never echoed back in error messages.
SECRET_SETTINGS = frozenset({"admin_token", "jwt_issuers", "dev_api_key"})
TLS_FILE_SETTINGS = (
    "grpc_tls_cert",
    "grpc_tls_key",
    "grpc_tls_client_ca",
    "grpc_tls_ca",
    "grpc_tls_client_cert",
    "grpc_tls_client_key",
)


# The name of an environment whose tenants-file overlays are read (`tenants.<name>.yaml`).
ENVIRONMENT_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"


class JwtIssuer(BaseModel):
    """One trusted token issuer, e.g. an Entra ID tenant `https://sts.windows.net/<id>/`."""

    issuer: str
    audience: str | None = None
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    secret: SecretStr | None = None
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    tenant: str | None = None  # every token of this issuer belongs to this tenant
    tenant_claim: str = "tenant_id"  # otherwise the tenant is this claim's value
    permissions_claim: str = "scope"
    # Claims that set the tenant's limits for requests with this token (e.g. "max_users").
    limit_claims: dict[str, str] = Field(
        default_factory=lambda: {"max_users": "User", "max_groups": "Group"}
    )
    # Permissions of tokens without the claim; None: all of them.
    default_permissions: list[str] | None = None
    leeway: float = 30.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, cli_kebab_case=True, cli_implicit_flags=True, extra="ignore"
    )

    # -- tenancy server
    grpc_host: str = Field("127.0.0.1", description="address the gRPC server binds")
    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC port (0: any free port)")
    storage: Literal["memory", "mongodb"] = Field(
        "memory", description="'memory' (embedded, lost at exit) or 'mongodb'"
    )
    mongodb_uri: str = Field("mongodb://127.0.0.1:27017", description="MongoDB connection URI")
    mongodb_database: str = Field("scimtenancy", description="MongoDB database name")
    mongodb_timeout_ms: int = Field(
        5000, gt=0, description="per-operation database timeout; past it requests get 503"
    )
    mongodb_driver: Literal["motor", "pymongo"] = Field(
        "motor", description="'motor' or PyMongo's native asyncio client 'pymongo'"
    )
    idempotency_retention_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 30,
        description="hours an Idempotency-Key's first answer is kept for replay",
    )
    admin_token: SecretStr = Field(
        SecretStr(""), description="bearer token of the tenant admin API (empty: disabled)"
    )
    default_isolation: IsolationName = Field(
        "standard", description="isolation level of tenants created without one"
    )
    max_filter_scan: int = Field(
        10_000, gt=0, description="value filters examining more resources get 400 tooMany"
    )
    max_string_length: int = Field(
        8192, gt=0, description="characters of one string value (400 invalidValue past it)"
    )
    max_values: int = Field(
        256, gt=0, description="values of one multi-valued attribute, group members excepted"
    )
    max_resource_bytes: int = Field(
        65_536, gt=0, description="bytes of a resource's JSON, members excepted (413 past it)"
    )
    max_json_depth: int = Field(
        32, gt=0, description="nesting of objects and arrays in a request body"
    )
    max_filter_length: int = Field(4096, gt=0, description="characters of a filter")
    max_filter_terms: int = Field(100, gt=0, description="attribute expressions in a filter")
    max_filter_depth: int = Field(
        16, gt=0, description="nesting of parentheses, not() and [] in a filter"
    )
    max_path_length: int = Field(
        256, gt=0, description="characters of an attribute path (filter, PATCH, sortBy, ...)"
    )
    bulk_max_operations: int = Field(1000, gt=0, description="operations per /Bulk request")
    bulk_max_payload: int = Field(
        1_048_576, gt=0, description="bytes per /Bulk request (keep <= the transcoder's limit)"
    )
    credential_resolvers: list[Literal["jwt", "api_key"]] = Field(
        ["jwt", "api_key"], description="resolvers tried in order for a bearer credential"
    )
    jwt_issuers: list[JwtIssuer] = Field(
        [], description="trusted JWT issuers (JSON list; see the README)"
    )
    shared_namespace: str = Field(
        "", description="tenant whose resources tenants at the shared level may read"
    )
    shared_resource_types: list[str] = Field(
        ["Group"], description="resource types the shared namespace exposes"
    )
    rate_limit: float = Field(
        0.0, ge=0, description="requests per second per tenant and process (0: unlimited)"
    )
    rate_burst: int = Field(100, gt=0, description="requests a tenant may send at once")
    tenant_concurrency: int = Field(
        2,
        ge=0,
        description="requests of one tenant worked on at once per server process; more wait "
        "their turn (0: no bound)",
    )
    tenant_cache_ttl: float = Field(
        30.0, ge=0, description="seconds a resolved credential is cached"
    )
    audit_retention_days: int = Field(
        365, gt=0, le=36_500, description="days audit events are kept (a TTL index on MongoDB)"
    )
    audit_backlog: int = Field(
        10_000,
        gt=0,
        description="audit records kept in memory for retry while the audit store fails; "
        "when full, changes get 503",
    )
    # NoDecode: a comma-separated list of paths, not JSON, from the environment and from flags.
    tenants_file: Annotated[list[Path], NoDecode] = Field(
        [],
        max_length=MAX_TENANTS_FILES,
        description="tenants files or directories of them, separated by commas; applied at "
        "start and again whenever they change (empty: tenants come from the admin API only)",
    )
    environment: str = Field(
        "",
        pattern=f"^({ENVIRONMENT_NAME})?$",
        description="environment whose overlay is read over each tenants file (e.g. 'prod' "
        "reads tenants.prod.yaml after tenants.yaml; empty: none)",
    )
    tenants_prune: bool = Field(
        False,
        description="delete tenants, with their resources, that the tenants file no longer "
        "names when it is applied",
    )

    # -- gRPC transport security (PEM file paths; empty: not used)
    grpc_tls_cert: str = Field(
        "", description="server certificate chain; set with grpc_tls_key, gRPC is served over TLS"
    )
    grpc_tls_key: str = Field("", description="private key of grpc_tls_cert")
    grpc_tls_client_ca: str = Field(
        "", description="CA certificates of callers; set: every caller needs a client certificate"
    )
    grpc_tls: bool = Field(
        False, description="dial the tenancy server over TLS (implied by the two below)"
    )
    grpc_tls_ca: str = Field(
        "", description="CA certificates trusted for the server (empty: the system's roots)"
    )
    grpc_tls_client_cert: str = Field(
        "", description="certificate chain presented to a server that requires one"
    )
    grpc_tls_client_key: str = Field("", description="private key of grpc_tls_client_cert")
    grpc_tls_server_name: str = Field(
        "", description="name checked in the server's certificate (empty: the target's host)"
    )

    # -- both processes: lifecycle
    shutdown_grace: int = Field(
        10, ge=0, description="seconds in-flight requests get to finish after SIGTERM"
    )

    # -- transcoder
    http_host: str = Field("127.0.0.1", description="address the HTTP transcoder binds")
    http_port: int = Field(8080, ge=0, le=65535, description="HTTP port")
    grpc_target: str = Field(
        "127.0.0.1:50051",
        description="the tenancy server's address: host:port, several separated by commas "
        "(balanced round-robin), or a gRPC name such as dns:///scim-server:50051",
    )
    url_strategy: UrlStrategyName = Field(
        "path",
        description="tenant URLs: 'path' (/tenants/{tenant}/scim/v2), 'subdomain' "
        "({tenant}.{base domain}/scim/v2) or 'header' (/scim/v2 with X-Tenant-ID)",
    )
    base_domain: str = Field("localhost", description="base domain of the subdomain strategy")
    public_url: str = Field(
        "",
        description="scheme://host[:port] that rendered URLs (Location, meta.location, $ref) "
        "start with; empty: the request's Host, if it is trusted",
    )
    trusted_hosts: list[str] = Field(
        ["localhost", "127.0.0.1", "::1"],
        description="Host names served when public_url is empty ('*.example.com' for a "
        "domain's subdomains; the subdomain strategy adds '*.' + base_domain)",
    )
    max_body_bytes: int = Field(1_048_576, gt=0, description="largest accepted request body")
    rpc_timeout: float = Field(10.0, gt=0, description="seconds before an RPC gives 503")
    bulk_rpc_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="seconds a /Bulk request may run; operations not started by "
        "then answer 503 each inside the BulkResponse",
    )

    # -- both processes
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="lowest level logged"
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="'json' (one object per line) or 'text'"
    )
    metrics_host: str = Field("127.0.0.1", description="address of the Prometheus /metrics server")
    metrics_port: int = Field(
        0, ge=0, le=65535, description="port of the Prometheus /metrics server (0: not served)"
    )
    metrics_tenant_labels: bool = Field(
        True, description="label metrics by tenant (switch off for very large fleets)"
    )
    metrics_refresh_seconds: float = Field(
        30.0, gt=0, description="how often resource-count and limit gauges are recounted"
    )

    # -- development command
    dev_tenant: str = Field("dev", description="id of the development tenant")
    dev_api_key: str = Field("dev-api-key", description="API key of the development tenant")

    @field_validator("jwt_issuers")
    @classmethod
    def _distinct_issuers(cls, issuers: list[JwtIssuer]) -> list[JwtIssuer]:
        names = [i.issuer for i in issuers]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"issuers listed twice: {', '.join(twice)}")
        return issuers

    @field_validator("tenants_file", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_tenants_file(self) -> Self:
        if self.tenants_prune and not self.tenants_file:
            raise ValueError(
                f"{_variable('tenants_prune')} needs {_variable('tenants_file')}: only "
                "tenants absent from a tenants file are pruned"
            )
        return self

    @model_validator(mode="after")
    def _check_tls_files(self) -> Self:
        problems = [*_unpaired(self, "grpc_tls_cert", "grpc_tls_key")]
        problems += _unpaired(self, "grpc_tls_client_cert", "grpc_tls_client_key")
        if self.grpc_tls_client_ca and not self.grpc_tls_cert:
            problems.append(
                f"{_variable('grpc_tls_client_ca')} needs {_variable('grpc_tls_cert')}: "
                "client certificates are checked only over TLS"
            )
        for name in TLS_FILE_SETTINGS:
            path = getattr(self, name)
            if path and not Path(path).is_file():
                problems.append(f"{_variable(name)}: no such file {path!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def from_argv(cls, argv: list[str]) -> Self:
        """Settings from the environment, overridden by command-line flags."""
        factory: Any = cls  # pydantic-settings takes the flags as a private init argument
        settings: Self = factory(_cli_parse_args=argv)
        return settings


def _variable(name: str) -> str:
    return f"{ENV_PREFIX}{name.upper()}"


def _unpaired(settings: Settings, first: str, second: str) -> list[str]:
    if bool(getattr(settings, first)) == bool(getattr(settings, second)):
        return []
    return [f"{_variable(first)} and {_variable(second)} are set together, or neither"]


def describe_errors(error: ValidationError) -> list[str]:
    """One line per bad value, naming its environment variable; secrets are not echoed."""
    lines = []
    for problem in error.errors():
        if not problem["loc"]:  # a rule across settings: its message names them, no input echoed
            lines.append(problem["msg"].removeprefix("Value error, "))
            continue
        field = str(problem["loc"][0])
        where = ".".join(str(part) for part in problem["loc"][1:])
        name = f"{ENV_PREFIX}{field.upper()}" + (f" ({where})" if where else "")
        got = "" if field in SECRET_SETTINGS else f" (got {problem.get('input')!r})"
        lines.append(f"{name}: {problem['msg']}{got}")
    return lines


def load_settings(argv: list[str] | None = None) -> Settings:
    """The process's settings, or exit status 2 with a clear message per bad value."""
    try:
        return Settings.from_argv(sys.argv[1:] if argv is None else argv)
    except ValidationError as error:
        print("invalid settings:", *describe_errors(error), sep="\n  ", file=sys.stderr)
        raise SystemExit(2) from None
