"""The accounts and abuse ports (chalicelib/domain/ports/accounts.py), one behaviour per test, run
against the in-memory fakes and the DynamoDB stores alike."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import clock, errors
from chalicelib.domain.ports.accounts import LoginCode, NewAccount, NewApiKey, Preferences, ProfileCorrection

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def now(monkeypatch):
    """A clock the test moves: `now.move(timedelta)`."""

    class Clock:
        at = NOW

        def move(self, delta: timedelta) -> None:
            self.at += delta

    moved = Clock()
    monkeypatch.setattr(clock, "now", lambda: moved.at)
    return moved


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request, now):
    """(accounts store, abuse store) of one implementation."""
    if request.param == "fake":
        from tests.fakes.accounts import FakeAbuseStore, FakeAccountStore

        return FakeAccountStore(), FakeAbuseStore()
    request.getfixturevalue("aws")
    from chalicelib.store.abuse import AbuseStore
    from chalicelib.store.accounts import AccountsStore

    return AccountsStore(), AbuseStore()


@pytest.fixture
def store(stores):
    return stores[0]


@pytest.fixture
def abuse(stores):
    return stores[1]


def _user(store, user_id: str = "u1", email: str = "Ada@Example.com", **fields) -> str:
    store.create_user(NewAccount(user_id, email, email_verified=False, minimum_age_attested=18, **fields))
    return user_id


# -- users and claims ------------------------------------------------------------------------------


def test_a_new_user_reads_back_active_with_a_normalized_address(store):
    _user(store, display_name="Ada", password_hash="argon2-hash")
    user = store.get_user("u1", consistent=True)
    assert (user.user_id, user.email, user.status, user.email_verified) == ("u1", "ada@example.com", "active", False)
    assert (user.display_name, user.password_hash, user.minimum_age_attested) == ("Ada", "argon2-hash", 18)
    assert user.created_at == user.age_attested_at == NOW
    assert user.objections == frozenset()
    assert user.preferences is None
    assert store.find_user_id_by_email(" ADA@example.COM ") == "u1"
    assert store.get_user("nobody") is None
    assert store.find_user_id_by_email("other@example.com") is None


def test_an_address_belongs_to_one_user(store):
    _user(store)
    with pytest.raises(errors.Conflict):
        _user(store, "u2", "ada@example.com")
    assert store.get_user("u2") is None


def test_flag_updates_move_the_version(store):
    _user(store, password_hash="unconfirmed")
    before = store.get_user("u1", consistent=True).version
    store.set_status("u1", "disabled")
    store.set_processing_flags("u1", restricted=True, objections={"marketing"})
    store.mark_email_verified("u1", revoke_password=True)
    user = store.get_user("u1", consistent=True)
    assert (user.status, user.processing_restricted, user.objections) == ("disabled", True, frozenset({"marketing"}))
    assert user.email_verified
    assert user.password_hash is None
    assert user.version == before + 3
    store.set_processing_flags("u1", objections=set())
    store.set_password_hash("u1", "new-hash")
    user = store.get_user("u1", consistent=True)
    assert (user.objections, user.password_hash) == (frozenset(), "new-hash")


def test_updating_a_missing_user_is_not_found_and_a_bad_status_is_refused(store):
    with pytest.raises(errors.NotFound):
        store.set_status("nobody", "active")
    _user(store)
    with pytest.raises(ValueError, match="sleeping"):
        store.set_status("u1", "sleeping")


def test_a_profile_correction_applies_and_claims_the_username(store):
    _user(store)
    preferences = Preferences(language="de", theme="dark", notifications=(("billing", False),))
    store.update_profile(
        store.get_user("u1", consistent=True),
        ProfileCorrection(username="Ada_L", display_name="Ada L", preferences=preferences),
    )
    user = store.get_user("u1", consistent=True)
    assert (user.username, user.display_name, user.preferences) == ("Ada_L", "Ada L", preferences)
    _user(store, "u2", "bob@example.com")
    with pytest.raises(errors.Conflict):
        store.update_profile(store.get_user("u2", consistent=True), ProfileCorrection(username="ada_l"))
    store.update_profile(store.get_user("u1", consistent=True), ProfileCorrection(username="ada_2"))
    store.update_profile(store.get_user("u2", consistent=True), ProfileCorrection(username="ADA_L"))
    assert store.get_user("u2", consistent=True).username == "ADA_L"


def test_a_correction_from_a_stale_read_is_a_conflict(store):
    _user(store)
    stale = store.get_user("u1", consistent=True)
    store.set_status("u1", "active")
    with pytest.raises(errors.Conflict):
        store.update_profile(stale, ProfileCorrection(display_name="Late"))
    assert store.get_user("u1", consistent=True).display_name is None


def test_a_telegram_id_links_to_one_user_and_unlinks(store):
    _user(store)
    _user(store, "u2", "bob@example.com")
    store.link_telegram(store.get_user("u1", consistent=True), "42")
    assert store.find_user_id_by_telegram("42") == "u1"
    assert store.get_user("u1", consistent=True).telegram_id == "42"
    with pytest.raises(errors.Conflict):
        store.link_telegram(store.get_user("u2", consistent=True), "42")
    store.link_telegram(store.get_user("u1", consistent=True), "43")
    assert (store.find_user_id_by_telegram("42"), store.find_user_id_by_telegram("43")) == (None, "u1")
    store.unlink_telegram(store.get_user("u1", consistent=True))
    assert store.find_user_id_by_telegram("43") is None
    assert store.get_user("u1", consistent=True).telegram_id is None


# -- login codes, nonces, sessions -----------------------------------------------------------------


def test_a_login_code_has_counted_attempts_and_is_deleted_once(store):
    store.put_login_code(LoginCode("h1", "code-hash", 2), expires_at=NOW + timedelta(minutes=10))
    assert store.get_login_code("h1") == LoginCode("h1", "code-hash", 2)
    assert store.spend_login_attempt("h1")
    assert store.get_login_code("h1").attempts_left == 1
    assert store.spend_login_attempt("h1")
    assert not store.spend_login_attempt("h1")
    assert store.delete_login_code("h1")
    assert not store.delete_login_code("h1")
    assert not store.spend_login_attempt("h1")
    assert store.get_login_code("h1") is None


def test_an_expired_login_code_reads_as_absent(store, now):
    store.put_login_code(LoginCode("h1", "code-hash", 5), expires_at=NOW + timedelta(minutes=10))
    now.move(timedelta(minutes=11))
    assert store.get_login_code("h1") is None


def test_a_nonce_is_taken_once_for_its_purpose_while_live(store, now):
    store.put_nonce("n1", "google", NOW + timedelta(minutes=10))
    assert not store.take_nonce("n1", "other")
    assert store.take_nonce("n1", "google")
    assert not store.take_nonce("n1", "google")
    store.put_nonce("n2", "google", NOW + timedelta(minutes=10))
    now.move(timedelta(minutes=11))
    assert not store.take_nonce("n2", "google")


def test_sessions_live_until_deleted_or_expired(store, now):
    store.create_session("t1", "u1", NOW + timedelta(days=1))
    store.create_session("t2", "u1", NOW + timedelta(days=30))
    store.create_session("t3", "u2", NOW + timedelta(days=30))
    assert store.get_session("t1").user_id == "u1"
    store.delete_session("t3")
    assert store.get_session("t3") is None
    now.move(timedelta(days=2))
    assert store.get_session("t1") is None
    assert store.get_session("t2").user_id == "u1"
    store.delete_sessions_of("u1")
    assert store.get_session("t2") is None


def test_log_out_everywhere_counts_the_sessions_closed(store):
    store.create_session("t1", "u1", NOW + timedelta(days=1))
    store.create_session("t2", "u1", NOW + timedelta(days=1))
    assert store.delete_sessions_of("u1") == 2
    assert store.delete_sessions_of("u1") == 0


# -- API keys ------------------------------------------------------------------------------------------


def test_an_api_key_reads_back_and_its_id_is_unique(store):
    store.put_api_key(NewApiKey("k1", "u1", "secret-hash", frozenset({"generate"}), "ci"))
    key = store.get_api_key("k1")
    assert (key.key_id, key.user_id, key.secret_hash, key.scopes, key.name) == (
        "k1",
        "u1",
        "secret-hash",
        frozenset({"generate"}),
        "ci",
    )
    assert (key.created_at, key.last_used_at, key.revoked_at) == (NOW, None, None)
    with pytest.raises(errors.Conflict):
        store.put_api_key(NewApiKey("k1", "u2", "other", frozenset()))
    assert store.get_api_key("nope") is None


def test_api_keys_are_listed_per_owner_and_revoked_only_by_it(store, now):
    store.put_api_key(NewApiKey("k1", "u1", "h1", frozenset({"generate"})))
    store.put_api_key(NewApiKey("k2", "u1", "h2", frozenset({"usage"})))
    store.put_api_key(NewApiKey("k3", "u2", "h3", frozenset({"usage"})))
    assert sorted(k.key_id for k in store.api_keys_of("u1")) == ["k1", "k2"]
    with pytest.raises(errors.NotFound):
        store.revoke_api_key("u2", "k1")
    with pytest.raises(errors.NotFound):
        store.revoke_api_key("u1", "missing")
    now.move(timedelta(minutes=5))
    store.revoke_api_key("u1", "k1")
    store.touch_api_key("k2", NOW + timedelta(minutes=6))
    assert store.get_api_key("k1").revoked_at == NOW + timedelta(minutes=5)
    assert store.get_api_key("k2").last_used_at == NOW + timedelta(minutes=6)


# -- abuse counters and meters ---------------------------------------------------------------------------


def test_a_window_counter_lets_exactly_the_limit_through(abuse):
    expires = NOW + timedelta(hours=1)
    assert [abuse.hit("sign_in", "ip", 100, limit=3, expires_at=expires) for _ in range(4)] == [True] * 3 + [False]
    assert abuse.hit("sign_in", "ip", 160, limit=3, expires_at=expires)
    assert abuse.hit("sign_in", "other-ip", 100, limit=3, expires_at=expires)
    assert abuse.hit("password", "ip", 100, limit=3, expires_at=expires)


@pytest.mark.parametrize("profile_name", ["pictomancer"])  # a profile that keeps usage logs (SEC-4)
def test_usage_is_summed_per_key_and_day(abuse, profile_name):
    first, second = date(2026, 11, 21), date(2026, 11, 22)
    abuse.meter("k1", "u1", second, volume_bytes=10, units=1)
    abuse.meter("k1", "u1", second, volume_bytes=5, units=2)
    abuse.meter("k1", "u1", first, volume_bytes=0, units=1)
    abuse.meter("k2", "u1", second, volume_bytes=99, units=9)
    assert [(u.day, u.requests, u.volume_bytes, u.units) for u in abuse.usage("k1")] == [
        (first, 1, 0, 1),
        (second, 2, 15, 3),
    ]
    assert abuse.usage("none") == []


def test_acc2_closing_the_other_sessions_keeps_the_one_named(store):
    for token, user in (("t1", "u1"), ("t2", "u1"), ("t3", "u1"), ("t4", "u2")):
        store.create_session(token, user, NOW + timedelta(days=1))
    assert store.delete_sessions_of("u1", keep="t2") == 2
    assert [store.get_session(t) is not None for t in ("t1", "t2", "t3", "t4")] == [False, True, False, True]
