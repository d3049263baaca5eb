"""Checks of a tenant's response options and rate limit: what an admin may set, bounded so that
a tenant's discovery documents stay small and say only what the service can serve."""

from __future__ import annotations

import math
from urllib.parse import SplitResult, urlsplit

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import AuthenticationScheme, RateLimit, ResponseOptions

# The most resources one list or search page holds (RFC 7644 §3.4.2.4 lets a service cap
# `count`); a tenant's `filter_max_results` may only lower it.
MAX_PAGE_SIZE = 1000
MAX_DISPLAY_NAME = 256
MAX_URI_LENGTH = 2048
MAX_SCHEMES = 8
MAX_SCHEME_TYPE = 64
MAX_SCHEME_NAME = 256
MAX_SCHEME_DESCRIPTION = 1024
# Every credential is presented as `Authorization: Bearer` (API keys, JWTs of OAuth 2.0
# issuers), so these are the RFC 7643 §5 scheme types a tenant's discovery may name.
SERVED_SCHEME_TYPES = frozenset({"oauthbearertoken", "oauth2"})
MAX_REQUESTS_PER_SECOND = 1_000_000.0
# One request every 1,000 s at the slowest: a slower bucket would ask clients to wait longer
# than any retries for, and its arithmetic would leave the floats.
MIN_REQUESTS_PER_SECOND = 0.001
MAX_BURST = 1_000_000


def validate_display_name(display_name: str) -> str:
    """A display name shown in the tenant's discovery documents."""
    if len(display_name) > MAX_DISPLAY_NAME:
        raise ScimError.invalid_value(
            f"display_name may have at most {MAX_DISPLAY_NAME} characters"
        )
    if not display_name.isprintable():
        raise ScimError.invalid_value("display_name may not hold control characters")
    return display_name


def _split(value: str) -> SplitResult | None:
    if len(value) > MAX_URI_LENGTH or not value.isprintable() or any(c.isspace() for c in value):
        return None
    try:
        return urlsplit(value)
    except ValueError:  # e.g. an unclosed `[` of an IPv6 host
        return None


def check_uri(value: str, name: str) -> None:
    """An absolute http(s) URL without spaces, or empty for none."""
    if not value:
        return
    parts = _split(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ScimError.invalid_value(
            f"{name} must be an http(s) URL of at most {MAX_URI_LENGTH} characters"
        )


def check_text(value: str, name: str, longest: int, *, required: bool = True) -> None:
    if required and not value.strip():
        raise ScimError.invalid_value(f"{name} is required")
    if len(value) > longest or not value.isprintable():
        raise ScimError.invalid_value(
            f"{name} must be printable text of at most {longest} characters"
        )


def _check_scheme(scheme: AuthenticationScheme, index: int) -> None:
    where = f"authentication_schemes[{index}]"
    check_text(scheme.type, f"{where}.type", MAX_SCHEME_TYPE)
    if scheme.type not in SERVED_SCHEME_TYPES:
        raise ScimError.invalid_value(
            f"{where}.type must be one of {sorted(SERVED_SCHEME_TYPES)}: every credential "
            "is a bearer token"
        )
    check_text(scheme.name, f"{where}.name", MAX_SCHEME_NAME)
    check_text(scheme.description, f"{where}.description", MAX_SCHEME_DESCRIPTION)
    check_uri(scheme.spec_uri, f"{where}.spec_uri")
    check_uri(scheme.documentation_uri, f"{where}.documentation_uri")


def validate_response_options(options: ResponseOptions) -> ResponseOptions:
    check_uri(options.documentation_uri, "documentation_uri")
    schemes = options.authentication_schemes
    if len(schemes) > MAX_SCHEMES:
        raise ScimError.invalid_value(f"at most {MAX_SCHEMES} authentication_schemes")
    for index, scheme in enumerate(schemes):
        _check_scheme(scheme, index)
    if sum(s.primary for s in schemes) > 1:
        raise ScimError.invalid_value("at most one authentication scheme may be primary")
    if not 0 <= options.filter_max_results <= MAX_PAGE_SIZE:
        raise ScimError.invalid_value(
            f"filter_max_results must be from 0 (the server's) to {MAX_PAGE_SIZE}"
        )
    return options


def validate_rate_limit(limit: RateLimit) -> RateLimit:
    rate = limit.requests_per_second
    if not (math.isfinite(rate) and MIN_REQUESTS_PER_SECOND <= rate <= MAX_REQUESTS_PER_SECOND):
        raise ScimError.invalid_value(
            f"rate_limit.requests_per_second must be from {MIN_REQUESTS_PER_SECOND} to "
            f"{MAX_REQUESTS_PER_SECOND:.0f}"
        )
    if not 1 <= limit.burst <= MAX_BURST:
        raise ScimError.invalid_value(f"rate_limit.burst must be from 1 to {MAX_BURST}")
    return limit
