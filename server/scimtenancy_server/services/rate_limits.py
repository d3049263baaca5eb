"""Per-tenant request rate limits: a token bucket per tenant and server process.

Each tenant may send `rate` requests per second on average, in bursts of up to `burst`: the
server's `RATE_LIMIT` and `RATE_BURST`, or the tenant's own rate limit.
Past that, requests get 429 with a Retry-After. Buckets live in the process (every replica
enforces the limit on the traffic it receives), so N replicas admit up to N times the rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import RateLimit

# A Retry-After past this says nothing a client can use (rates are at least 0.001 per second).
MAX_RETRY_AFTER = 3600


class RateLimited(ScimError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, f"too many requests for this tenant; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TenantRateLimiter:
    """The server's `rate` and `burst` for every tenant, unless the tenant has its own limit
    (the tenant record's, as last resolved: a change applies once the tenant cache has it)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._server = RateLimit(rate, burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        """Whether the server's own limit is on (tenants with their own are limited anyway)."""
        return self._server.requests_per_second > 0

    def admit(self, tenant_id: str, own: RateLimit | None = None) -> None:
        """Takes one token from the tenant's bucket, or raises RateLimited."""
        limit = own or self._server
        rate, burst = limit.requests_per_second, float(limit.burst)
        if rate <= 0:
            self._buckets.pop(tenant_id, None)
            return
        now = self._clock()
        bucket = self._buckets.setdefault(tenant_id, _Bucket(burst, now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens < 1:
            wait = min((1 - bucket.tokens) / rate, MAX_RETRY_AFTER)
            raise RateLimited(max(1, math.ceil(wait)))
        bucket.tokens -= 1
