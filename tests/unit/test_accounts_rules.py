"""Pure account rules: IP folding and keyed hashes (SEC-1), the Telegram check (ACC-6), the age gate
(ACC-7), API key parsing (ACC-5), CSRF tokens bound to sessions."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import clock, errors
from chalicelib.domain.accounts import age, api_keys, sessions, telegram
from chalicelib.domain.accounts.abuse import ip_subject
from chalicelib.domain.ports import accounts as hashing
from chalicelib.profile.loader import load_profile

BOT_TOKEN = "123456:unit-test-bot-token"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64"),
        ("2001:db8:aa:bb::ffff", "2001:db8:aa:bb::/64"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
    ],
)
def test_sec1_ipv6_folds_to_its_64_and_ipv4_stays_whole(ip, network):
    assert hashing.network_of(ip) == network


def test_sec1_ip_subject_is_a_keyed_hash_that_depends_on_the_secret():
    first, second = ip_subject("key-a", "203.0.113.9"), ip_subject("key-b", "203.0.113.9")
    assert first != second
    assert "203.0.113.9" not in first
    assert first == hmac.new(b"key-a", b"203.0.113.9", hashlib.sha256).hexdigest()


def test_dsr13_email_hash_is_one_keyed_hash_of_the_normalized_address():
    """DSR-13: case, surrounding space and Unicode compatibility forms make no second person; the hash
    is keyed (an unkeyed SHA-256 of an address is reversed by guessing addresses)."""
    one = hashing.email_hash("key-a", "h2.x@example.org")
    for spelling in (" H2.x@Example.ORG ", "\uff28\uff12.x@example.org", "H2.X@EXAMPLE.ORG"):
        assert hashing.email_hash("key-a", spelling) == one
    assert hashing.email_hash("key-b", "h2.x@example.org") != one
    assert one != hashlib.sha256(b"h2.x@example.org").hexdigest()
    assert one == hmac.new(b"key-a", b"email:h2.x@example.org", hashlib.sha256).hexdigest()


def test_dsr13_user_hash_is_keyed():
    assert hashing.user_hash("key-a", "u1") != hashing.user_hash("key-b", "u1")
    assert "u1" not in hashing.user_hash("key-a", "u1")


def _widget(auth_date: datetime, **changes) -> dict:
    data = {"id": "42", "first_name": "A", "auth_date": str(int(auth_date.timestamp())), **changes}
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    key = hashlib.sha256(BOT_TOKEN.encode()).digest()
    return {**data, "hash": hmac.new(key, check.encode(), hashlib.sha256).hexdigest()}


def test_acc6_telegram_widget_check_accepts_fresh_signed_data(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    assert telegram.verified_telegram_id(_widget(NOW - timedelta(seconds=30)), BOT_TOKEN) == "42"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda w: {**w, "id": "43"},
        lambda w: {**w, "hash": "0" * 64},
        lambda w: {k: v for k, v in w.items() if k != "hash"},
    ],
    ids=["tampered", "forged", "unsigned"],
)
def test_acc6_telegram_widget_check_refuses_bad_signatures(monkeypatch, mutate):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with pytest.raises(errors.Unauthenticated):
        telegram.verified_telegram_id(mutate(_widget(NOW)), BOT_TOKEN)


def test_acc6_telegram_widget_check_refuses_stale_data(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    stale = _widget(NOW - timedelta(seconds=telegram.MAX_AGE_SECONDS + 1))
    with pytest.raises(errors.Unauthenticated):
        telegram.verified_telegram_id(stale, BOT_TOKEN)


@pytest.mark.parametrize("profile_id", ["pixera", "promptpixels", "pixelrender", "kaleipix", "pictomancer"])
def test_acc7_age_gate_uses_the_profiles_minimum(profile_id):
    profile = load_profile(profile_id)
    today = date(2026, 11, 22)
    birthday = today.replace(year=today.year - profile.minimum_age)
    assert age.check_age(profile, birthday, today) == profile.minimum_age
    with pytest.raises(errors.Forbidden):
        age.check_age(profile, birthday + timedelta(days=1), today)


def test_acc5_api_key_parsing_accepts_only_well_formed_keys():
    key = "pk_0123456789_" + "x" * 43
    assert api_keys.parse_key(key) == ("0123456789", key)
    for bad in ("pk_short_" + "x" * 43, "sk_0123456789_" + "x" * 43, "pk_0123456789_tooshort", "pk_0123456789"):
        assert api_keys.parse_key(bad) is None


def test_csrf_token_is_bound_to_its_session():
    assert sessions.csrf_token_for("s_a") == sessions.csrf_token_for("s_a")
    assert sessions.csrf_token_for("s_a") != sessions.csrf_token_for("s_b")
    assert "s_a" not in sessions.csrf_token_for("s_a")
