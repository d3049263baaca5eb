"""The gRPC listening port: TLS when the settings name a certificate, mutual TLS when they also
name the callers' CA, plaintext otherwise."""

from __future__ import annotations

from typing import Any

import grpc

from scimtenancy_common.grpc_tls import read_pem
from scimtenancy_common.settings import Settings


def server_credentials(settings: Settings) -> Any:
    """grpc.ServerCredentials, or None for plaintext."""
    if not settings.grpc_tls_cert:
        return None
    client_ca = read_pem(settings.grpc_tls_client_ca) if settings.grpc_tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(read_pem(settings.grpc_tls_key), read_pem(settings.grpc_tls_cert))],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def transport_security(settings: Settings) -> str:
    """For the start-up log line."""
    if not settings.grpc_tls_cert:
        return "plaintext"
    return "mutual TLS" if settings.grpc_tls_client_ca else "TLS"


def add_port(server: grpc.aio.Server, settings: Settings) -> int:
    """Binds the configured address; returns the bound port."""
    address = f"{settings.grpc_host}:{settings.grpc_port}"
    credentials = server_credentials(settings)
    if credentials is None:
        port: int = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"cannot bind gRPC to {address}")
    return port
