"""Records of the breach register (OPS-5), in the requests table: incidents (kept, never expired),
their clock marks (timers whose TTL is the notice clock) and the people each incident affected."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.store.base import Record

REGISTER = "INCIDENTS"


class IncidentRecord(Record):
    """pk = INCIDENTS, sk = INCIDENT#<id>: one entry of the breach register. No TTL: the register
    keeps every incident, reported or not."""

    logical_table = "requests"

    class Meta:
        table_name = "requests"

    SK = "INCIDENT#"

    incident_id = UnicodeAttribute()
    detected_at = UTCDateTimeAttribute()
    window_start = UTCDateTimeAttribute()
    window_end = UTCDateTimeAttribute()
    categories = ListAttribute(of=UnicodeAttribute)
    systems = ListAttribute(of=UnicodeAttribute)
    description = UnicodeAttribute()
    opened_by = UnicodeAttribute()
    notice_due_at = UTCDateTimeAttribute()
    affected_count = NumberAttribute()
    authority_notified_at = UTCDateTimeAttribute(null=True)
    authority_reference = UnicodeAttribute(null=True)
    users_notified_at = UTCDateTimeAttribute(null=True)
    users_notified = NumberAttribute(default=0)
    escalations = ListAttribute(of=UnicodeAttribute, default=list)

    @staticmethod
    def key(incident_id: str) -> tuple[str, str]:
        return REGISTER, f"{IncidentRecord.SK}{incident_id}"


class IncidentClockMark(Record):
    """pk = INCIDENTS, sk = CLOCK#<id>#<mark>: a timer. Its TTL delete is the clock reaching `mark`."""

    logical_table = "requests"

    class Meta:
        table_name = "requests"

    SK_PREFIX = "CLOCK#"

    incident_id = UnicodeAttribute()
    mark = UnicodeAttribute()

    @staticmethod
    def key(incident_id: str, mark: str) -> tuple[str, str]:
        return REGISTER, f"{IncidentClockMark.SK_PREFIX}{incident_id}#{mark}"


class AffectedPerson(Record):
    """pk = INCIDENT#<id>, sk = AFFECTED#<user id>: someone whose data the incident touched. Owned by
    that person, so their erasure removes it."""

    logical_table = "requests"

    class Meta:
        table_name = "requests"

    user_id = UnicodeAttribute()

    @staticmethod
    def key(incident_id: str, user_id: str) -> tuple[str, str]:
        return f"INCIDENT#{incident_id}", f"AFFECTED#{user_id}"
