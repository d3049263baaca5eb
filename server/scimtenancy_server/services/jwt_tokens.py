"""Bearer JWTs (RFC 7519) from configured issuers: HS256 with a shared secret, or RS256/ES256
against a JWKS (static, or fetched from a URL and cached). Only the issuer's configured
algorithms are accepted, so `alg: none` and HS/RS confusion are refused; `exp`, `nbf`, `iat`,
`aud` and `iss` are checked with a small leeway. The tenant is the issuer's, or comes from a
claim; permissions and limits come from claims; `sub` is the actor. A claim whose value no
real token carries (a date past year 9999, a limit of 10^400) is refused with 401 like any
other bad token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jwt

from scimtenancy_common.settings import JwtIssuer
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import INT64_MAX
from scimtenancy_server.domain.permissions import ALL_PERMISSIONS, parse_permissions
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.storage.tenants import TenantStore

_SYMMETRIC = frozenset({"HS256", "HS384", "HS512"})
_ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"})
# RFC 7519 §2: a NumericDate counts seconds from 1970; past 9999-12-31T23:59:59Z no date
# (Python's, BSON's) can hold it, and no issuer means it.
_DATE_CLAIMS = ("exp", "nbf", "iat")
_LATEST_DATE = 253_402_300_799
# Key ids are short names (Entra ID's and Okta's are under 50 characters).
_MAX_KID_LENGTH = 256
# Characters of a token's value shown in a refusal.
_SHOWN = 40


def _unauthenticated(detail: str) -> ScimError:
    return ScimError.unauthenticated(f"the bearer token is not accepted: {detail}")


def _shown(value: object) -> str:
    """A value from the token, short enough for an error detail."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"


def _is_date(value: object) -> bool:
    # Range checks, not float(): 10**400 overflows a float, and NaN fails every comparison.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (0 <= value <= _LATEST_DATE)
    )


def _is_limit(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX


def check_header(header: Mapping[str, Any], algorithms: list[str]) -> None:
    if header.get("alg") not in algorithms:
        raise _unauthenticated(f"algorithm {_shown(header.get('alg'))} is not accepted")
    kid = header.get("kid")
    if kid is not None and not (isinstance(kid, str) and len(kid) <= _MAX_KID_LENGTH):
        raise _unauthenticated("its key id is not one an issuer gives")


def check_numeric_claims(claims: Mapping[str, Any], limit_claims: Mapping[str, str]) -> None:
    """Refuses dates and limits no real token carries, before anything computes with them."""
    for name in _DATE_CLAIMS:
        if name in claims and not _is_date(claims[name]):
            raise _unauthenticated(f"claim {name!r} is not a date between 1970 and 9999")
    for name in limit_claims:
        if claims.get(name) is not None and not _is_limit(claims[name]):
            raise _unauthenticated(f"claim {name!r} is not an integer from 0 to {INT64_MAX}")


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


class DuplicateIssuers(ValueError):
    """Issuers named twice: once in `SCIMTENANCY_JWT_ISSUERS` and once in the tenants file,
    or twice in one of them. Which definition would apply is not the service's to guess."""

    def __init__(self, issuers: Iterable[str]) -> None:
        self.issuers = sorted(issuers)
        super().__init__(f"JWT issuers defined twice: {', '.join(self.issuers)}")


def _named_twice(issuers: Sequence[JwtIssuer]) -> set[str]:
    seen: set[str] = set()
    twice: set[str] = set()
    for name in (i.issuer for i in issuers):
        (twice if name in seen else seen).add(name)
    return twice


@dataclass(frozen=True, slots=True)
class IssuerTable:
    """Trusted issuers with their key sources; replaced whole, never changed in place, so a
    request sees one table from its start to its end."""

    issuers: Mapping[str, JwtIssuer]
    clients: Mapping[str, jwt.PyJWKClient]
    static: Mapping[str, jwt.PyJWKSet]

    @classmethod
    def build(cls, issuers: Sequence[JwtIssuer], reuse: IssuerTable | None = None) -> IssuerTable:
        """Raises DuplicateIssuers, or a PyJWKError for a static JWKS that holds no usable
        key. A JWKS client of an unchanged URL is kept with the keys it has fetched."""
        twice = _named_twice(issuers)
        if twice:
            raise DuplicateIssuers(twice)
        kept = reuse.clients if reuse is not None else {}
        clients = {
            i.issuer: _kept_client(kept.get(i.issuer), i.jwks_url) for i in issuers if i.jwks_url
        }
        static = {i.issuer: jwt.PyJWKSet.from_dict(i.jwks) for i in issuers if i.jwks}
        return cls({i.issuer: i for i in issuers}, clients, static)


def _kept_client(client: jwt.PyJWKClient | None, url: str) -> jwt.PyJWKClient:
    if client is not None and client.uri == url:
        return client
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300)


class JwtResolver:
    """Tokens of the configured issuers (`SCIMTENANCY_JWT_ISSUERS`) and of those the tenants
    file binds to its tenants, which a reload replaces (`prepare_file_issuers`, then `use`)."""

    def __init__(self, issuers: list[JwtIssuer], store: TenantStore) -> None:
        self._configured = tuple(issuers)
        self._table = IssuerTable.build(self._configured)
        self._store = store

    def prepare_file_issuers(self, bound: Sequence[JwtIssuer]) -> IssuerTable:
        """The table with `bound` in place of the file's previous issuers, not yet in use;
        raises DuplicateIssuers when one is also configured, or a PyJWKError."""
        return IssuerTable.build([*self._configured, *bound], reuse=self._table)

    def use(self, table: IssuerTable) -> None:
        """New requests check tokens against `table` from now on."""
        self._table = table

    def accepts(self, token: str) -> bool:
        return bool(self._table.issuers) and looks_like_jwt(token)

    async def load(self, token: str) -> tuple[TenantContext, float | None] | None:
        table = self._table
        issuer, header = self._issuer_of(token, table)
        key = await self._key(issuer, header, table)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=issuer.algorithms,
                audience=issuer.audience,
                issuer=issuer.issuer,
                leeway=issuer.leeway,
                options={"require": ["exp", "iat", "iss"], "verify_aud": bool(issuer.audience)},
            )
        except jwt.PyJWTError as error:
            raise _unauthenticated(str(error)) from None
        tenant_id = issuer.tenant or claims.get(issuer.tenant_claim)
        tenant = await self._store.get(tenant_id) if isinstance(tenant_id, str) else None
        if tenant is None:
            raise _unauthenticated("it names no tenant of this service")
        limits = {
            rt: value
            for claim, rt in issuer.limit_claims.items()
            if (value := claims.get(claim)) is not None  # checked by check_numeric_claims
        }
        if limits:
            tenant = replace(tenant, limits={**tenant.limits, **limits})
        default = issuer.default_permissions
        if default is None:
            default = sorted(p.value for p in ALL_PERMISSIONS)
        raw = claims.get(issuer.permissions_claim, default)
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        granted = parse_permissions(raw) & tenant.permissions  # the tenant caps every token
        context = TenantContext(tenant, f"jwt:{subject or '?'}", granted, subject)
        return context, float(claims["exp"])

    def _issuer_of(self, token: str, table: IssuerTable) -> tuple[JwtIssuer, dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _unauthenticated("it is not a well-formed JWT") from None
        issuer = table.issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise _unauthenticated("its issuer is not trusted")
        check_header(header, issuer.algorithms)
        check_numeric_claims(unverified, issuer.limit_claims)
        return issuer, header

    async def _key(self, issuer: JwtIssuer, header: dict[str, Any], table: IssuerTable) -> Any:
        algorithm = header["alg"]
        if algorithm in _SYMMETRIC:
            if issuer.secret is None:
                raise _unauthenticated("the issuer has no shared secret")
            return issuer.secret.get_secret_value().encode()
        if algorithm not in _ASYMMETRIC:
            raise _unauthenticated(f"algorithm {_shown(algorithm)} is not supported")
        kid = header.get("kid")
        try:
            if issuer.issuer in table.static:
                return table.static[issuer.issuer][str(kid)].key
            client = table.clients.get(issuer.issuer)
            if client is None:
                raise _unauthenticated("the issuer has no keys")
            # PyJWKClient fetches with blocking I/O; keep it off the event loop.
            signing_key = await asyncio.to_thread(client.get_signing_key, str(kid))
        except (KeyError, jwt.PyJWKClientError):
            raise _unauthenticated(f"no key {_shown(kid)} is known for the issuer") from None
        return signing_key.key
