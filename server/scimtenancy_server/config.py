"""Server settings: environment variables `SCIMTENANCY_*`, or command-line flags."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.services.jwt_tokens import JwtIssuer


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCIMTENANCY_", cli_kebab_case=True, cli_implicit_flags=True, extra="ignore"
    )

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
    admin_token: SecretStr = Field(
        SecretStr(""), description="bearer token of the tenant admin API (empty: disabled)"
    )
    default_isolation: IsolationLevel = Field(
        IsolationLevel.STANDARD, description="isolation level of tenants created without one"
    )
    max_filter_scan: int = Field(
        10_000, gt=0, description="value filters examining more resources get 400 tooMany"
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
    tenant_cache_ttl: float = Field(
        30.0, ge=0, description="seconds a resolved credential is cached"
    )

    @classmethod
    def from_argv(cls, argv: list[str]) -> Self:
        """Settings from the environment, overridden by command-line flags."""
        factory: Any = cls  # pydantic-settings takes the flags as a private init argument
        settings: Self = factory(_cli_parse_args=argv)
        return settings
