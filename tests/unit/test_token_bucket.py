from __future__ import annotations

import pytest

from scimtenancy_server.services.rate_limits import RateLimited, TenantRateLimiter


def test_token_bucket_per_tenant() -> None:
    now = [0.0]
    limiter = TenantRateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    for _ in range(3):
        limiter.admit("a")
    with pytest.raises(RateLimited) as refused:
        limiter.admit("a")
    assert (refused.value.status, refused.value.retry_after) == (429, 1)
    limiter.admit("b")  # another tenant has its own bucket
    now[0] += 0.5  # one token back at 2 per second
    limiter.admit("a")
    with pytest.raises(RateLimited):
        limiter.admit("a")
    now[0] += 100  # refills up to the burst, no further
    for _ in range(3):
        limiter.admit("a")
    with pytest.raises(RateLimited):
        limiter.admit("a")


def test_zero_rate_means_unlimited() -> None:
    limiter = TenantRateLimiter(rate=0, burst=1)
    for _ in range(1000):
        limiter.admit("a")
