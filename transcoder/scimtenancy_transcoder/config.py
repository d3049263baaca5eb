"""Transcoder settings: environment variables `SCIMTENANCY_*`, or command-line flags."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

UrlStrategyName = Literal["path", "subdomain", "header"]


class TranscoderSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCIMTENANCY_", cli_kebab_case=True, cli_implicit_flags=True, extra="ignore"
    )

    http_host: str = Field("127.0.0.1", description="address the HTTP transcoder binds")
    http_port: int = Field(8080, ge=0, le=65535, description="HTTP port")
    grpc_target: str = Field("127.0.0.1:50051", description="the tenancy server's address")
    url_strategy: UrlStrategyName = Field(
        "path",
        description="tenant URLs: 'path' (/tenants/{tenant}/scim/v2), 'subdomain' "
        "({tenant}.{base domain}/scim/v2) or 'header' (/scim/v2 with X-Tenant-ID)",
    )
    base_domain: str = Field("localhost", description="base domain of the subdomain strategy")
    max_body_bytes: int = Field(1_048_576, gt=0, description="largest accepted request body")
    rpc_timeout: float = Field(10.0, gt=0, description="seconds before an RPC gives 503")

    @classmethod
    def from_argv(cls, argv: list[str]) -> Self:
        """Settings from the environment, overridden by command-line flags."""
        factory: Any = cls  # pydantic-settings takes the flags as a private init argument
        settings: Self = factory(_cli_parse_args=argv)
        return settings
