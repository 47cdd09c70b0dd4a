"""Abuse-control storage on the logs table: fixed-window counters, sign-in signals, usage meters.

Implements `ports.accounts.AbuseStore` (SEC-1..4).
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from pynamodb.exceptions import UpdateError

from chalicelib import clock
from chalicelib.domain.ports.accounts import AbuseSignal as Signal
from chalicelib.domain.ports.accounts import UsageDay
from chalicelib.retention import expiry
from chalicelib.store.models.abuse import AbuseSignal, RateCounter, UsageCounter


class AbuseStore:
    def hit(self, route_class: str, subject_hash: str, window_start: int, *, limit: int, expires_at: datetime) -> bool:
        """Count one request in the window; False (nothing counted) once `limit` is reached.

        One conditional UpdateItem: DynamoDB serializes writes to an item, so exactly `limit` pass."""
        pk, sk = RateCounter.key(route_class, subject_hash, window_start)
        try:
            RateCounter._get_connection().update_item(
                pk,
                range_key=sk,
                actions=[RateCounter.hits.add(1), RateCounter.expires_at.set(expires_at)],
                condition=RateCounter.hits.does_not_exist() | (RateCounter.hits < limit),
            )
        except UpdateError:
            return False
        return True

    def record_signal(self, signal: Signal) -> None:
        AbuseSignal(
            *AbuseSignal.key(signal.ip_hash, signal.sort),
            event=signal.event,
            ip_hash=signal.ip_hash,
            owner_id=signal.owner_id,
            fingerprint_hash=signal.fingerprint_hash,
            user_agent=signal.user_agent,
            accept_language=signal.accept_language,
            created_at=clock.now(),
        ).save()

    def meter(self, key_id: str, owner_id: str, day: date, *, volume_bytes: int, units: int) -> None:
        """Add one request to the key's daily meter; the TTL counts from the day it covers."""
        pk, sk = UsageCounter.key(key_id, day.isoformat())
        actions = [
            UsageCounter.requests.add(1),
            UsageCounter.volume_bytes.add(volume_bytes),
            UsageCounter.units.add(units),
            UsageCounter.key_id.set(key_id),
            UsageCounter.owner_id.set(owner_id),
        ]
        day_start = datetime.combine(day, time.min, tzinfo=timezone.utc)
        expires_at = expiry(UsageCounter._profile, UsageCounter.category, day_start)
        if expires_at is not None:
            actions.append(UsageCounter.expires_at.set(expires_at))
        UsageCounter._get_connection().update_item(pk, range_key=sk, actions=actions)

    def usage(self, key_id: str) -> list[UsageDay]:
        """The key's live daily meters, oldest day first."""
        pk, _ = UsageCounter.key(key_id, "")
        return [
            UsageDay(
                day=date.fromisoformat(c.sk.removeprefix(UsageCounter.SORT_PREFIX)),
                requests=int(c.requests),
                volume_bytes=int(c.volume_bytes),
                units=int(c.units),
            )
            for c in UsageCounter.query_live(pk, UsageCounter.sk.startswith(UsageCounter.SORT_PREFIX))
        ]
