"""Reading the tenants file as the server will run it: the loader's checks, plus those that
need the server's settings (an issuer the file binds that `SCIMTENANCY_JWT_ISSUERS` already
trusts). Anything wrong is a `TenantsFileInvalid` listing every problem."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from scimtenancy_common.settings import JwtIssuer, Settings
from scimtenancy_server.services.tenant_config.watch import fingerprint
from scimtenancy_server.tenants_file.load import load_tenants_file
from scimtenancy_server.tenants_file.model import TenantsConfig
from scimtenancy_server.tenants_file.problems import Problem, TenantsFileInvalid, field_path


@contextmanager
def _collections_paused() -> Iterator[None]:
    """Reading allocates millions of short-lived objects (YAML events and nodes), which
    trigger full garbage collections that stop every thread, the event loop's included
    (up to a second each at 10,000 tenants). None of them is in a reference cycle, so
    reference counting frees them all; collections resume after the read.

    What is alive then (the new configuration, the server's long-lived state) is frozen
    first (`gc.freeze`), so that later collections skip it: otherwise the next full one,
    which applying 10,000 changes soon triggers, traverses the whole heap with the event
    loop stopped (0.2-0.35 s at 10,000 tenants). The young generation is collected before,
    so that the cycles that requests left while collections were paused are not frozen.
    Reference counting still frees frozen objects, the previous configuration included."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.collect(0)
            gc.freeze()
            gc.enable()


@dataclass(frozen=True, slots=True)
class TenantsFileSource:
    """Where the configuration comes from, as the settings name it."""

    paths: tuple[Path, ...]
    environment: str | None
    configured_issuers: tuple[JwtIssuer, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> TenantsFileSource:
        return cls(
            tuple(settings.tenants_file),
            settings.environment or None,
            tuple(settings.jwt_issuers),
        )

    def read(self, env: Mapping[str, str] | None = None) -> TenantsConfig:
        """The configuration; raises TenantsFileInvalid. Blocking: call it off the loop."""
        with _collections_paused():
            config = load_tenants_file(
                self.paths, self.environment, os.environ if env is None else env
            )
        problems = self._issuer_problems(config)
        if problems:
            raise TenantsFileInvalid(problems)
        return config

    def fingerprint(self) -> str:
        return fingerprint(self.paths)

    def _issuer_problems(self, config: TenantsConfig) -> list[Problem]:
        """Issuers also trusted by the settings, and static key sets the key library
        refuses (a JWKS without one usable key)."""
        configured = {i.issuer for i in self.configured_issuers}
        problems: list[Problem] = []
        for index, tenant in enumerate(config.tenants):
            for number, spec in enumerate(tenant.jwt_issuers):
                where = ("tenants", index, "jwt_issuers", number)
                if spec.issuer in configured:
                    message = (
                        f"issuer {spec.issuer!r} of tenant {tenant.id!r} is also in "
                        "SCIMTENANCY_JWT_ISSUERS; define it in one place"
                    )
                    problems.append(self._problem((*where, "issuer"), message))
                if spec.jwks is not None and (refused := _refused_key_set(spec.jwks)):
                    problems.append(self._problem((*where, "jwks"), refused))
        return problems

    def _problem(self, location: tuple[str | int, ...], message: str) -> Problem:
        return Problem(self._shown(), None, field_path(location), message)

    def _shown(self) -> str:
        return ", ".join(str(p) for p in self.paths)


def _refused_key_set(jwks: dict[str, Any]) -> str:
    try:
        jwt.PyJWKSet.from_dict(jwks)
    except jwt.PyJWTError as error:
        return f"is not a usable JWKS: {error}"
    return ""


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A configuration read, with the fingerprint of the files it was read from."""

    config: TenantsConfig
    fingerprint: str


def read_at_start(source: TenantsFileSource) -> LoadedConfig:
    """The configuration the server starts with; raises TenantsFileInvalid."""
    seen = source.fingerprint()  # first: a change while reading is seen by the first reload
    return LoadedConfig(source.read(), seen)
