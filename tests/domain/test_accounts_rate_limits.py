"""SEC-1: fixed-window rate limits keyed by HMAC(secret, IP), on the in-memory abuse store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock, errors
from chalicelib.domain.accounts.abuse import RateLimiter
from tests.fakes.accounts import FakeAbuseStore


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter(FakeAbuseStore(), lambda: "ip-hash-key")


def test_sec1_the_next_window_admits_again(limiter, monkeypatch):
    for _ in range(3):
        limiter.check("probe", "198.51.100.7", limit=3, window_seconds=60)
    with pytest.raises(errors.RateLimited) as refused:
        limiter.check("probe", "198.51.100.7", limit=3, window_seconds=60)
    assert 1 <= refused.value.retry_after <= 60
    later = clock.now() + timedelta(seconds=refused.value.retry_after)
    monkeypatch.setattr(clock, "now", lambda: later)
    limiter.check("probe", "198.51.100.7", limit=3, window_seconds=60)


def test_sec1_other_addresses_keep_their_own_count(limiter):
    for _ in range(3):
        limiter.check("probe", "198.51.100.7", limit=3, window_seconds=60)
    limiter.check("probe", "198.51.100.8", limit=3, window_seconds=60)


def test_sec1_ipv6_addresses_of_one_64_share_a_counter(limiter):
    limiter.check("probe6", "2001:db8:1:2::1", limit=2, window_seconds=60)
    limiter.check("probe6", "2001:db8:1:2:ffff::9", limit=2, window_seconds=60)
    with pytest.raises(errors.RateLimited):
        limiter.check("probe6", "2001:db8:1:2:abcd::1", limit=2, window_seconds=60)
    limiter.check("probe6", "2001:db8:1:3::1", limit=2, window_seconds=60)  # another /64
