"""Rate limits, abuse signals and usage metering (SEC-1..4).

The IP address is only ever used as HMAC(secret, IP), with IPv6 folded to its /64, and an e-mail
address as HMAC(secret, normalized address); neither is stored or logged raw. Other areas call
`wiring.rate_limiter().check(route_class, ip)`, `.check_address(route_class, email)`,
`.check_person(route_class, user_id)` or `.check_subject(route_class, subject)`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chalicelib import clock
from chalicelib.domain.ports.accounts import AbuseSignal, AbuseStore, keyed_hash, network_of, normalize_email
from chalicelib.errors import RateLimited
from chalicelib.profile.schema import Category, Profile

COUNTER_GRACE = timedelta(hours=1)  # a counter outlives its window only briefly
MAX_HEADER_CHARS = 512


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    window_seconds: int


ROUTE_LIMITS: dict[str, Limit] = {
    "login_code": Limit(10, 900),
    "login_code_email": Limit(5, 900),
    "sign_in": Limit(20, 900),
    "password": Limit(10, 900),
    "password_account": Limit(10, 900),  # per account, whichever IPs the guesses come from
    "password_change": Limit(10, 3600),  # current-password guesses of a signed-in person (ACC-2)
    "api_key": Limit(600, 60),
    "upload": Limit(60, 60),
    "generation": Limit(30, 60),
    "rights_request": Limit(10, 3600),
    "rights_request_email": Limit(5, 86400),  # confirmation mails to one address (DSR-7)
    "rights_code_guess": Limit(10, 86400),  # code guesses for one address, across all its requests
    "export": Limit(5, 86400),  # exports a person starts a day: each runs a workflow and mails a link (DSR-1)
    "default": Limit(120, 60),
}


def ip_subject(key: str, ip: str) -> str:
    try:
        network = network_of(ip)
    except ValueError:
        network = ip.strip()
    return keyed_hash(key, network)


def address_subject(key: str, email: str) -> str:
    return keyed_hash(key, "email:" + normalize_email(email))


class RateLimiter:
    """Fixed-window counters per route class and subject; an IP counts only as its keyed hash (SEC-1)."""

    def __init__(self, store: AbuseStore, ip_key: Callable[[], str], limits: dict[str, Limit] | None = None) -> None:
        self._store = store
        self._ip_key = ip_key
        self._limits = limits or ROUTE_LIMITS

    def check(self, route_class: str, ip: str, *, limit: int | None = None, window_seconds: int | None = None) -> None:
        """Count a request from `ip` for `route_class`; RateLimited (429 + Retry-After) past the limit."""
        self.check_subject(route_class, ip_subject(self._ip_key(), ip), limit=limit, window_seconds=window_seconds)

    def check_address(self, route_class: str, email: str) -> None:
        """The same per e-mail address, whichever IPs the requests come from."""
        self.check_subject(route_class, address_subject(self._ip_key(), email))

    def check_person(self, route_class: str, user_id: str) -> None:
        """The same per person, counted under a keyed hash of their id: no raw id in a key (DSR-13)."""
        self.check_subject(route_class, keyed_hash(self._ip_key(), "user:" + user_id))

    def check_subject(
        self, route_class: str, subject: str, *, limit: int | None = None, window_seconds: int | None = None
    ) -> None:
        """The same for a non-personal subject (an API key id, a user id)."""
        configured = self._limits.get(route_class, self._limits["default"])
        allowed = limit or configured.requests
        window = window_seconds or configured.window_seconds
        now = int(clock.now().timestamp())
        start = now - now % window
        end = start + window
        expires = datetime.fromtimestamp(end, timezone.utc) + COUNTER_GRACE
        if not self._store.hit(route_class, subject, start, limit=allowed, expires_at=expires):
            retry_after = max(1, end - now)
            raise RateLimited(f"Too many requests; try again in {retry_after} seconds.", retry_after=retry_after)


@dataclass(frozen=True, slots=True)
class ClientTraits:
    ip: str
    user_agent: str | None = None
    accept_language: str | None = None
    fingerprint: str | None = None


class AbuseSignals:
    """Sign-in signals for multi-account and bot detection, where the profile keeps them (SEC-1..3)."""

    def __init__(self, store: AbuseStore, profile: Profile, ip_key: Callable[[], str]) -> None:
        self._store = store
        self._profile = profile
        self._ip_key = ip_key

    def record(self, event: str, client: ClientTraits, user_id: str | None) -> bool:
        """Keep the signals the profile lists, and only those (OPS-1): an unlisted header is dropped."""
        listed = (
            set(self._profile.category(Category.ABUSE_SIGNALS).signals)
            if self._profile.stores(Category.ABUSE_SIGNALS)
            else set()
        )
        if "ip_hash" not in listed:
            return False
        key = self._ip_key()
        fingerprint = client.fingerprint if "fingerprint_hash" in listed else None
        self._store.record_signal(
            AbuseSignal(
                event=event,
                ip_hash=ip_subject(key, client.ip),
                sort=f"{clock.now().isoformat()}#{event}#{secrets.token_hex(4)}",
                owner_id=user_id,
                fingerprint_hash=keyed_hash(key, "fp:" + fingerprint) if fingerprint else None,
                user_agent=_header(client.user_agent) if "user_agent" in listed else None,
                accept_language=_header(client.accept_language) if "accept_language" in listed else None,
            )
        )
        return True


def _header(value: str | None) -> str | None:
    return (value or "")[:MAX_HEADER_CHARS] or None


class UsageMeter:
    """Per-API-key daily counters (SEC-4), kept as long as the profile's usage_logs say."""

    def __init__(self, store: AbuseStore, profile: Profile) -> None:
        self._store = store
        self._profile = profile

    def record(self, key_id: str, owner_id: str, *, volume_bytes: int = 0, units: int = 1) -> bool:
        if not self._profile.stores(Category.USAGE_LOGS):
            return False
        self._store.meter(key_id, owner_id, clock.now().date(), volume_bytes=volume_bytes, units=units)
        return True

    def usage(self, key_id: str) -> list[dict]:
        return [
            {"day": d.day.isoformat(), "requests": d.requests, "volume_bytes": d.volume_bytes, "units": d.units}
            for d in self._store.usage(key_id)
        ]
