"""Per-tenant request rate limits: a token bucket per tenant and server process.

Each tenant may send `rate` requests per second on average, in bursts of up to `burst`.
Past that, requests get 429 with a Retry-After. Buckets live in the process (every replica
enforces the limit on the traffic it receives), so N replicas admit up to N times the rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from scimtenancy_server.domain.errors import ScimError


class RateLimited(ScimError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, f"too many requests for this tenant; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TenantRateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def admit(self, tenant_id: str) -> None:
        """Takes one token from the tenant's bucket, or raises RateLimited."""
        if not self.enabled:
            return
        now = self._clock()
        bucket = self._buckets.setdefault(tenant_id, _Bucket(self._burst, now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1:
            raise RateLimited(max(1, math.ceil((1 - bucket.tokens) / self._rate)))
        bucket.tokens -= 1
