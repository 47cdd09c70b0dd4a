"""Records of legal holds (DSR-12): the holds, and the marker every authenticated request reads
beside its session, so they are a module of their own that a first request loads without the rest
of the rights work's records."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute

from chalicelib.profile.schema import Category
from chalicelib.store import hold_state
from chalicelib.store.base import Record


class HeldAside(Record):
    """A record of the legal-hold work itself: while the hold is in force its own expiry waits aside
    too (DSR-12), so neither the hold nor its markers can lapse under it."""

    logical_table = ""

    def stamp_expiry(self) -> None:
        if self.expires_at is None and self.held_expires_at is None and self.category is not None:
            super().stamp_expiry()
            self.held_expires_at, self.expires_at = self.expires_at, None


class LegalHold(HeldAside):
    """pk = HOLDS, sk = HOLD#<hold id>: an operator's legal hold on a person (DSR-12). One partition,
    so the operators' list is one query; released, its expiry is restored like the person's. Owned by
    the person: an erasure after the release keeps it detached (`user_id` dropped, DSR-13)."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS
    personal_fields = ("user_id", "cursors")
    pk_prefix = "HOLDS"
    sk_prefix = "HOLD#"

    class Meta:
        table_name = "requests"

    PARTITION = "HOLDS"

    hold_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    reference = UnicodeAttribute()
    placed_by = UnicodeAttribute()
    placed_at = UTCDateTimeAttribute()
    until = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute(default="held")  # held | released
    released_by = UnicodeAttribute(null=True)
    released_at = UTCDateTimeAttribute(null=True)
    cursors = JSONAttribute(default=dict)  # where each paged step's next page starts (P3): store keys

    def event_time(self):
        return self.released_at or self.placed_at

    @staticmethod
    def key(hold_id: str) -> tuple[str, str]:
        return LegalHold.PARTITION, f"HOLD#{hold_id}"


class HoldMarker(HeldAside):
    """pk = HELD#<user id>: sk = IN_FORCE holds the ids of the holds in force on the person (DSR-12),
    one item that the authorizer's one TransactGetItems reads beside the session and the user, and a
    workflow step reads strongly consistent; sk = ERASURE#<erasure id> is an erasure a hold paused."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS
    personal_fields = ()
    pk_prefix = "HELD#"

    class Meta:
        table_name = "requests"

    hold_ids = UnicodeSetAttribute(null=True)  # DynamoDB drops an emptied set: no attribute, no hold
    created_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(user_id: str, what: str | None = None) -> tuple[str, str]:
        return hold_state.in_force_key(user_id) if what is None else (f"HELD#{user_id}", what)

    @classmethod
    def subject_keys(cls, subject):
        return [(f"HELD#{subject.user_id}", None)]
