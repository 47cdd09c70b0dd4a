"""Accounts rules on the in-memory ports: sign-in by each method, the age gate, unconfirmed passwords,
the authorizer (sessions, CSRF, API-key scopes), API keys, profile corrections, rate limits."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import clock, errors
from chalicelib.domain.accounts.abuse import ClientTraits, RateLimiter
from chalicelib.domain.accounts.authorizer import Credentials
from chalicelib.domain.accounts.service import AccountsService
from chalicelib.domain.accounts.sessions import csrf_token_for
from chalicelib.domain.ports.accounts import NewAccount
from chalicelib.profile.loader import load_profile
from tests.fakes.accounts import FakeAbuseStore, FakeAccountStore, FakeGoogle, FakeMailer

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
ADULT = date(1990, 1, 1)
CHILD = date(2020, 1, 1)
CLIENT = ClientTraits(ip="203.0.113.9", user_agent="test-agent")
SECRETS = {"login-code-key": "code-key", "telegram-bot-token": "123:bot", "ip-hash-key": "ip-key"}


class World:
    def __init__(self, profile_name: str) -> None:
        from argon2 import PasswordHasher

        self.store, self.abuse, self.mail = FakeAccountStore(), FakeAbuseStore(), FakeMailer()
        self.profile = load_profile(profile_name)
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # fast, still argon2id
        ip_key = lambda: SECRETS["ip-hash-key"]  # noqa: E731
        self.service = AccountsService(
            store=self.store,
            abuse=self.abuse,
            limiter=RateLimiter(self.abuse, ip_key),
            profile=self.profile,
            secrets=SECRETS.__getitem__,
            ip_key=ip_key,
            mail=lambda: self.mail,
            hasher=lambda: hasher,
            google_verifier=FakeGoogle,
        )

    def code_sign_in(self, email: str = "ada@example.com", birth_date: date | None = ADULT):
        self.service.request_login_code(email, CLIENT.ip)
        return self.service.sign_in_with_code(email, self.mail.last_code_for(email), birth_date, CLIENT)

    def bearer(self, token: str, needs: str | None = "signed_in", method: str = "GET"):
        return self.service.authenticate(Credentials(bearer=token, method=method, needs=needs), volume_bytes=0)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def world(request) -> World:
    return World(getattr(request, "param", "pixera"))


# -- emailed codes (ACC-1, ACC-7, ACC-10) -------------------------------------------------------------


def test_acc1_a_code_signs_up_a_verified_adult_and_opens_a_session(world):
    signed_in = world.code_sign_in()
    user = world.store.get_user(signed_in.user_id)
    assert (user.email, user.email_verified, user.minimum_age_attested) == ("ada@example.com", True, 18)
    assert world.bearer(signed_in.session.token).user.user_id == signed_in.user_id
    assert world.abuse.signals[-1].event == "sign_in:email_code"
    assert CLIENT.ip not in world.abuse.signals[-1].ip_hash


def test_acc1_a_wrong_code_spends_attempts_and_the_last_one_kills_the_code(world):
    world.service.request_login_code("ada@example.com", CLIENT.ip)
    code = world.mail.last_code_for("ada@example.com")
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    for _ in range(5):
        with pytest.raises(errors.Unauthenticated):
            world.service.sign_in_with_code("ada@example.com", wrong, ADULT, CLIENT)
    with pytest.raises(errors.Unauthenticated):
        world.service.sign_in_with_code("ada@example.com", code, ADULT, CLIENT)
    assert world.store.users == {}


def test_acc7_an_underage_sign_up_stores_nothing_and_spends_the_code(world):
    world.service.request_login_code("kid@example.com", CLIENT.ip)
    code = world.mail.last_code_for("kid@example.com")
    with pytest.raises(errors.Forbidden):
        world.service.sign_in_with_code("kid@example.com", code, CHILD, CLIENT)
    assert world.store.users == {}
    with pytest.raises(errors.Unauthenticated):
        world.service.sign_in_with_code("kid@example.com", code, ADULT, CLIENT)


def test_acc7_a_missing_birth_date_leaves_the_code_usable(world):
    world.service.request_login_code("ada@example.com", CLIENT.ip)
    code = world.mail.last_code_for("ada@example.com")
    with pytest.raises(errors.InvalidInput):
        world.service.sign_in_with_code("ada@example.com", code, None, CLIENT)
    assert world.service.sign_in_with_code("ada@example.com", code, ADULT, CLIENT).user_id


# -- passwords (ACC-2, ACC-10) -----------------------------------------------------------------------------


def test_acc10_no_session_until_the_password_sign_up_code_is_redeemed(world):
    world.service.sign_up_with_password("pw@example.com", "correct horse battery", ADULT, CLIENT.ip)
    with pytest.raises(errors.Forbidden):
        world.service.sign_in_with_password("pw@example.com", "correct horse battery", CLIENT)
    code = world.mail.last_code_for("pw@example.com")
    world.service.sign_in_with_code("pw@example.com", code, None, CLIENT)
    assert world.service.sign_in_with_password("pw@example.com", "correct horse battery", CLIENT).user_id


def test_acc10_a_plain_sign_in_code_revokes_a_password_someone_else_set(world):
    world.service.sign_up_with_password("pw@example.com", "attacker password", ADULT, CLIENT.ip)
    world.service.request_login_code("pw@example.com", CLIENT.ip)  # the owner asks for a plain code
    signed_in = world.service.sign_in_with_code(
        "pw@example.com", world.mail.last_code_for("pw@example.com"), None, CLIENT
    )
    assert world.store.get_user(signed_in.user_id).password_hash is None
    with pytest.raises(errors.Unauthenticated):
        world.service.sign_in_with_password("pw@example.com", "attacker password", CLIENT)


def test_acc2_a_second_sign_up_leaves_the_password_alone(world):
    world.service.sign_up_with_password("pw@example.com", "first password!", ADULT, CLIENT.ip)
    world.service.sign_in_with_code("pw@example.com", world.mail.last_code_for("pw@example.com"), None, CLIENT)
    world.service.sign_up_with_password("pw@example.com", "second password", ADULT, CLIENT.ip)
    assert world.service.sign_in_with_password("pw@example.com", "first password!", CLIENT).user_id
    with pytest.raises(errors.Unauthenticated):
        world.service.sign_in_with_password("pw@example.com", "second password", CLIENT)


@pytest.mark.parametrize("world", ["kaleipix"], indirect=True)
def test_acc2_a_profile_without_passwords_refuses_them(world):
    with pytest.raises(errors.NotFound):
        world.service.require_method("password")


# -- Google (ACC-3) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("world", ["promptpixels"], indirect=True)
def test_acc3_a_google_nonce_signs_in_once(world):
    nonce = world.service.issue_google_nonce(CLIENT.ip)
    token = f"gina@example.com|{nonce}"
    first = world.service.sign_in_with_google(token, nonce, ADULT, CLIENT)
    assert world.store.get_user(first.user_id).display_name == "G"
    with pytest.raises(errors.Unauthenticated):
        world.service.sign_in_with_google(token, nonce, ADULT, CLIENT)


@pytest.mark.parametrize("world", ["promptpixels"], indirect=True)
def test_acc3_an_address_google_has_not_verified_is_refused(world):
    nonce = world.service.issue_google_nonce(CLIENT.ip)
    with pytest.raises(errors.Forbidden):
        world.service.sign_in_with_google(f"unverified@example.com|{nonce}", nonce, ADULT, CLIENT)
    assert world.store.users == {}


# -- the authorizer (ACC-9) ------------------------------------------------------------------------------


def test_acc9_a_cookie_session_needs_the_csrf_token_to_change_state(world):
    token = world.code_sign_in().session.token
    csrf = csrf_token_for(token)
    base = {"session_cookie": token, "method": "POST", "needs": "signed_in"}
    with pytest.raises(errors.Forbidden, match=world.service.cookies.csrf):
        world.service.authenticate(Credentials(**base), volume_bytes=0)
    done = world.service.authenticate(Credentials(**base, csrf_cookie=csrf, csrf_header=csrf), volume_bytes=0)
    assert done.via == "session"


def test_acc9_a_route_that_declares_nothing_is_closed(world):
    token = world.code_sign_in().session.token
    with pytest.raises(errors.Forbidden):
        world.bearer(token, needs=None)


def test_acc9_sessions_end_on_logout_and_for_disabled_accounts(world):
    first, second = world.code_sign_in(), world.code_sign_in()
    world.service.log_out(world.bearer(first.session.token))
    with pytest.raises(errors.Unauthenticated):
        world.bearer(first.session.token)
    world.store.set_status(second.user_id, "disabled")
    with pytest.raises(errors.Unauthenticated):
        world.bearer(second.session.token)


# -- API keys (ACC-4, ACC-5, SEC-4) ----------------------------------------------------------------------


@pytest.mark.parametrize("world", ["pictomancer"], indirect=True)
def test_acc5_a_key_reaches_only_its_scopes_and_each_call_is_metered(world):
    signed_in = world.code_sign_in()
    user = world.store.get_user(signed_in.user_id)
    created = world.service.create_api_key(user, name="ci", scopes=["generate", "usage"])
    assert world.store.get_api_key(created["id"]).secret_hash != created["key"]
    api = Credentials(api_key=created["key"], method="POST", needs="generate")
    assert world.service.authenticate(api, volume_bytes=7).api_key_id == created["id"]
    with pytest.raises(errors.Forbidden, match="gallery"):
        world.service.authenticate(Credentials(api_key=created["key"], needs="gallery"), volume_bytes=0)
    with pytest.raises(errors.Forbidden):
        world.service.authenticate(Credentials(api_key=created["key"], needs="signed_in"), volume_bytes=0)
    usage = world.service.api_key_usage(user.user_id, created["id"])
    assert usage == [{"day": "2026-11-22", "requests": 1, "volume_bytes": 7, "units": 1}]


@pytest.mark.parametrize("world", ["pictomancer"], indirect=True)
def test_acc5_a_revoked_key_and_someone_elses_usage_are_refused(world):
    owner = world.store.get_user(world.code_sign_in().user_id)
    other = world.code_sign_in("bob@example.com").user_id
    created = world.service.create_api_key(owner, name=None, scopes=None)
    with pytest.raises(errors.NotFound):
        world.service.api_key_usage(other, created["id"])
    world.service.revoke_api_key(owner.user_id, created["id"])
    with pytest.raises(errors.Unauthenticated):
        world.service.authenticate(Credentials(api_key=created["key"], needs="generate"), volume_bytes=0)
    assert world.service.list_api_keys(owner.user_id)[0]["revoked"] is True


@pytest.mark.parametrize("world", ["pictomancer"], indirect=True)
def test_acc4_keys_need_a_verified_address_and_known_scopes(world):
    world.store.create_user(NewAccount("u1", "new@example.com", email_verified=False, minimum_age_attested=18))
    with pytest.raises(errors.Forbidden):
        world.service.create_api_key(world.store.get_user("u1"), name=None, scopes=None)
    world.store.mark_email_verified("u1")
    with pytest.raises(errors.InvalidInput):
        world.service.create_api_key(world.store.get_user("u1"), name=None, scopes=["admin"])


# -- profile and Telegram (ACC-6, ACC-8, DSR-3) ---------------------------------------------------------


def test_acc8_preferences_merge_and_unknown_notifications_are_refused(world):
    user_id = world.code_sign_in().user_id
    world.service.correct_profile(user_id, language="de", notifications={"billing": False})
    view = world.service.correct_profile(user_id, theme="dark", notifications={"product_updates": True})
    assert view["preferences"] == {
        "language": "de",
        "theme": "dark",
        "notifications": {"billing": False, "product_updates": True},
    }
    with pytest.raises(errors.InvalidInput):
        world.service.correct_profile(user_id, notifications={"spam": True})


def test_dsr3_a_username_belongs_to_one_account(world):
    first, second = world.code_sign_in().user_id, world.code_sign_in("bob@example.com").user_id
    world.service.correct_profile(first, username="ada")
    with pytest.raises(errors.Conflict):
        world.service.correct_profile(second, username="ADA")


@pytest.mark.parametrize("world", ["kaleipix"], indirect=True)
def test_acc6_a_linked_telegram_account_signs_in_until_unlinked(world):
    import hashlib
    import hmac

    data = {"id": "42", "first_name": "T", "auth_date": str(int(NOW.timestamp()))}
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    secret = hashlib.sha256(SECRETS["telegram-bot-token"].encode()).digest()
    widget = {**data, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}
    user_id = world.code_sign_in().user_id
    assert world.service.link_telegram(user_id, widget)["telegram_linked"] is True
    assert world.service.sign_in_with_telegram(widget, CLIENT).user_id == user_id
    assert world.service.unlink_telegram(user_id)["telegram_linked"] is False
    with pytest.raises(errors.Unauthenticated):
        world.service.sign_in_with_telegram(widget, CLIENT)


# -- rate limits (SEC-1) ---------------------------------------------------------------------------


def test_sec1_an_address_gets_a_limited_number_of_codes(world):
    for _ in range(5):
        world.service.request_login_code("flood@example.com", f"203.0.113.{_}")
    with pytest.raises(errors.RateLimited):
        world.service.request_login_code("flood@example.com", "198.51.100.1")
    world.service.request_login_code("other@example.com", "198.51.100.1")


def test_sessions_expire_after_the_profiles_session_days(world, monkeypatch):
    signed_in = world.code_sign_in()
    days = world.profile.sign_in.session_days
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(days=days, seconds=1))
    with pytest.raises(errors.Unauthenticated):
        world.bearer(signed_in.session.token)


@pytest.mark.parametrize("profile_name", ["pixera", "promptpixels", "pixelrender", "kaleipix", "pictomancer"])
def test_ops3_session_cookies_carry_the_names_the_policy_declares(profile_name):
    world = World(profile_name)
    declared = {c.role: c.name for c in world.profile.cookies if c.storage == "cookie"}
    assert (world.service.cookies.session, world.service.cookies.csrf) == (declared["session"], declared["csrf"])
