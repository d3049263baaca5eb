"""TLS on the channel to the tenancy server, as the settings ask: the transcoder, the
development command and the admin CLI dial through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from scimtenancy_common.settings import Settings

# Checks the certificate for this name instead of the target's host (e.g. dialling an IP).
SERVER_NAME_OPTION = "grpc.ssl_target_name_override"


def read_pem(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


@dataclass(frozen=True)
class ChannelSecurity:
    """How to dial: credentials None is plaintext."""

    credentials: Any = None  # grpc.ChannelCredentials
    options: tuple[tuple[str, str | int], ...] = ()

    def aio_channel(
        self,
        target: str,
        interceptors: Sequence[Any] = (),
        options: Sequence[tuple[str, str | int]] = (),
    ) -> grpc.aio.Channel:
        every_option = (*self.options, *options)
        if self.credentials is None:
            return grpc.aio.insecure_channel(target, every_option, interceptors=interceptors)
        return grpc.aio.secure_channel(
            target, self.credentials, every_option, interceptors=interceptors
        )

    def channel(self, target: str) -> grpc.Channel:
        if self.credentials is None:
            return grpc.insecure_channel(target)
        return grpc.secure_channel(target, self.credentials, self.options)


PLAINTEXT = ChannelSecurity()


def channel_security(settings: Settings) -> ChannelSecurity:
    """TLS when `grpc_tls`, `grpc_tls_ca` or a client certificate is set; else plaintext."""
    if not (settings.grpc_tls or settings.grpc_tls_ca or settings.grpc_tls_client_cert):
        return PLAINTEXT
    client_cert = settings.grpc_tls_client_cert
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_pem(settings.grpc_tls_ca) if settings.grpc_tls_ca else None,
        private_key=read_pem(settings.grpc_tls_client_key) if client_cert else None,
        certificate_chain=read_pem(client_cert) if client_cert else None,
    )
    name = settings.grpc_tls_server_name
    return ChannelSecurity(credentials, ((SERVER_NAME_OPTION, name),) if name else ())
