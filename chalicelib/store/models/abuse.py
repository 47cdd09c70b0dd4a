"""Records of the 'logs' table kept for abuse control and metering: rate-limit counters, abuse
signals (SEC-1..3) and per-key usage (SEC-4). No raw IP address is ever stored: only its keyed hash."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.profile.schema import Category
from chalicelib.store.base import Record


class RateCounter(Record):
    """pk = RATE#<route class>#<keyed hash of the client>, sk = WINDOW#<window start, epoch s>.

    Lives only until shortly after its window closes (explicit TTL)."""

    logical_table = "logs"
    category = Category.ABUSE_SIGNALS

    personal_fields = ()
    pk_prefix = "RATE#"
    sk_prefix = "WINDOW#"

    class Meta:
        table_name = "logs"

    hits = NumberAttribute(default=0)

    @classmethod
    def subject_keys(cls, subject):
        hashes = [h for h in (subject.email_hash, subject.user_hash) if h]
        return [(f"RATE#{route}#{h}", None) for route in subject.rate_route_classes for h in hashes]

    @staticmethod
    def key(route_class: str, subject_hash: str, window_start: int) -> tuple[str, str]:
        return f"RATE#{route_class}#{subject_hash}", f"WINDOW#{window_start}"


class AbuseSignal(Record):
    """pk = SIGNAL#<keyed IP hash>, sk = <ISO time>#<event>: what a sign-in looked like (SEC-1..3)."""

    logical_table = "logs"
    category = Category.ABUSE_SIGNALS

    personal_fields = ("ip_hash", "fingerprint_hash", "user_agent", "accept_language")
    pk_prefix = "SIGNAL#"

    class Meta:
        table_name = "logs"

    event = UnicodeAttribute()
    ip_hash = UnicodeAttribute()
    fingerprint_hash = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    accept_language = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(ip_hash: str, sort: str) -> tuple[str, str]:
        return f"SIGNAL#{ip_hash}", sort


class UsageCounter(Record):
    """pk = USAGE#<API key id>, sk = DAY#<YYYY-MM-DD>: requests, bytes and units metered (SEC-4)."""

    logical_table = "logs"
    category = Category.USAGE_LOGS

    personal_fields = ("key_id",)
    pk_prefix = "USAGE#"
    sk_prefix = "DAY#"

    class Meta:
        table_name = "logs"

    key_id = UnicodeAttribute(null=True)
    requests = NumberAttribute(default=0)
    volume_bytes = NumberAttribute(default=0)
    units = NumberAttribute(default=0)

    SORT_PREFIX = "DAY#"

    @classmethod
    def key(cls, key_id: str, day: str) -> tuple[str, str]:
        return f"USAGE#{key_id}", f"{cls.SORT_PREFIX}{day}"
