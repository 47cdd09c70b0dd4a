"""SEC-1: fixed-window rate limits keyed by HMAC(secret, IP), 429 with Retry-After; SEC-2/SEC-3 signals."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib import clock, errors
from chalicelib.profile.schema import Category
from tests.support.auth import ADULT_BIRTH_DATE, post_json, secrets_at_rest
from tests.support.mail import allow_sending, last_code_for


@pytest.fixture
def mail(aws):
    allow_sending(aws)


def test_sec1_route_answers_429_with_retry_after_past_its_limit(client, mail):
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS

    limit = ROUTE_LIMITS["login_code"].requests
    statuses = [post_json(client, "/auth/email/code", {"email": f"u{i}@example.com"}).status_code for i in range(limit)]
    assert statuses == [202] * limit
    refused = post_json(client, "/auth/email/code", {"email": "one-more@example.com"})
    assert refused.status_code == 429
    assert refused.json_body["error"]["code"] == "rate_limited"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= ROUTE_LIMITS["login_code"].window_seconds


def test_sec1_counters_hold_only_a_keyed_hash_of_the_ip(aws):
    from chalicelib import wiring
    from chalicelib.domain.accounts.abuse import ip_subject
    from chalicelib.store.models.abuse import RateCounter
    from chalicelib.store.secrets import secret

    ip = "203.0.113.45"
    wiring.rate_limiter().check("probe", ip, limit=5, window_seconds=60)
    (counter,) = RateCounter.scan(RateCounter.pk.startswith("RATE#probe#"))
    assert ip_subject(secret("ip-hash-key"), ip) in counter.pk
    assert secrets_at_rest(aws, [ip, "203.0.113"]) == []
    assert counter.expires_at <= clock.now() + timedelta(seconds=60) + timedelta(hours=1)


def test_sec1_concurrent_requests_admit_exactly_the_limit(aws, serialized_dynamodb):
    """N parallel requests against a limit of L: exactly L pass (one conditional update each)."""
    from chalicelib import wiring

    limiter, requests, limit = wiring.rate_limiter(), 16, 5
    start = threading.Barrier(requests)

    def attempt(_):
        start.wait()
        try:
            limiter.check("burst", "192.0.2.99", limit=limit, window_seconds=3600)
        except errors.RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=requests) as pool:
        outcomes = list(pool.map(attempt, range(requests)))
    assert outcomes.count(True) == limit


def test_sec2_sec3_sign_in_signals_keep_hashes_and_headers_for_the_profiles_period(client, mail, aws):
    from chalicelib import wiring
    from chalicelib.store.models.abuse import AbuseSignal

    fingerprint = "canvas:3f9a-webgl:77b1-fonts:19"
    headers = {"User-Agent": "Mozilla/5.0 TestBrowser", "Accept-Language": "de-DE,de;q=0.9"}
    email = "signals@example.com"
    post_json(client, "/auth/email/code", {"email": email})

    body = {"email": email, "code": last_code_for(email), "birth_date": ADULT_BIRTH_DATE}
    response = post_json(client, "/auth/email/verify", body, {**headers, "X-Client-Fingerprint": fingerprint})
    assert response.status_code == 200
    (signal,) = AbuseSignal.scan(AbuseSignal.pk.startswith("SIGNAL#"))
    assert signal.user_agent == headers["User-Agent"]
    assert signal.accept_language == headers["Accept-Language"]
    assert signal.fingerprint_hash
    assert fingerprint not in signal.fingerprint_hash
    assert signal.owner_id == response.json_body["user_id"]
    days = wiring.profile().category(Category.ABUSE_SIGNALS).retention.days
    assert signal.expires_at == (signal.created_at + timedelta(days=days)).replace(microsecond=0)
    assert secrets_at_rest(aws, [fingerprint, "127.0.0.1"]) == []


@pytest.mark.parametrize("profile_name", ["kaleipix", "pictomancer"])
def test_sec1_abuse_signal_ttl_follows_the_profile(aws, profile_name):
    from chalicelib import wiring
    from chalicelib.domain.accounts.abuse import AbuseSignals, ClientTraits
    from chalicelib.store.models.abuse import AbuseSignal

    signals = AbuseSignals(wiring.abuse_store(), wiring.profile(), lambda: "ip-hash-key")
    assert signals.record("probe", ClientTraits(ip="192.0.2.1"), None)
    (signal,) = AbuseSignal.scan(AbuseSignal.pk.startswith("SIGNAL#"))
    days = wiring.profile().category(Category.ABUSE_SIGNALS).retention.days
    assert days <= 90
    assert signal.expires_at == (signal.created_at + timedelta(days=days)).replace(microsecond=0)


def test_sec1_one_address_cannot_be_flooded_with_codes(client, mail):
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS

    limit = ROUTE_LIMITS["login_code_email"].requests
    statuses = [post_json(client, "/auth/email/code", {"email": "flood@example.com"}).status_code for _ in range(limit)]
    assert statuses == [202] * limit
    assert post_json(client, "/auth/email/code", {"email": "flood@example.com"}).status_code == 429
    assert post_json(client, "/auth/email/code", {"email": "other@example.com"}).status_code == 202
