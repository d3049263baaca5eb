from __future__ import annotations

import pytest

from scimtenancy_server.domain.tenant import RateLimit
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


def test_a_tenant_limit_of_its_own_replaces_the_servers() -> None:
    now = [0.0]
    limiter = TenantRateLimiter(rate=0, burst=100, clock=lambda: now[0])
    own = RateLimit(requests_per_second=1.0, burst=2)
    for _ in range(2):
        limiter.admit("a", own)
    with pytest.raises(RateLimited) as refused:
        limiter.admit("a", own)
    assert refused.value.retry_after == 1
    for _ in range(50):
        limiter.admit("b")  # the server's limit (off) for a tenant without one
    limiter.admit("a")  # back to the server's: off
    now[0] += 0.1
    limiter.admit("a", RateLimit(requests_per_second=1.0, burst=1))  # a fresh bucket
    with pytest.raises(RateLimited):
        limiter.admit("a", RateLimit(requests_per_second=1.0, burst=1))


def test_a_lower_burst_takes_effect_at_once() -> None:
    now = [0.0]
    limiter = TenantRateLimiter(rate=1.0, burst=10, clock=lambda: now[0])
    limiter.admit("a")  # nine tokens left under the server's burst
    limiter.admit("a", RateLimit(requests_per_second=1.0, burst=1))
    with pytest.raises(RateLimited):
        limiter.admit("a", RateLimit(requests_per_second=1.0, burst=1))


def test_the_retry_after_stays_within_an_hour_at_the_slowest_rate() -> None:
    now = [0.0]
    limiter = TenantRateLimiter(0, 1, clock=lambda: now[0])
    slowest = RateLimit(0.0001, 1)  # below what the admin API takes, as stored data might be
    limiter.admit("acme", slowest)
    with pytest.raises(RateLimited) as refused:
        limiter.admit("acme", slowest)
    assert refused.value.retry_after == 3600
