"""Legal holds (DSR-12): the hold record and, beside the person, a marker per hold in force and per
erasure a hold paused. Records stay here: methods take and return `chalicelib.domain.ports.rights`
types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.domain.ports import rights as ports
from chalicelib.store.models.holds import HoldMarker, LegalHold


def _hold(record: LegalHold) -> ports.LegalHold:
    return ports.LegalHold(
        hold_id=record.hold_id,
        user_id=record.user_id or "",  # "" once an erasure after the release detached it (DSR-13)
        reason=record.reason,
        reference=record.reference,
        placed_by=record.placed_by,
        placed_at=record.placed_at,
        until=record.until,
        status=record.status,
        released_by=record.released_by,
        released_at=record.released_at,
        cursors=record.cursors or {},
    )


class HoldStore:
    """Legal holds (DSR-12): the hold, and beside the person a marker per hold in force and per
    erasure a hold paused. Placing and releasing write the hold and its marker in one transaction."""

    @staticmethod
    def _in_force(user_id: str, hold_id: str, *, add: bool) -> tuple[HoldMarker, list]:
        """The person's in-force item and the update adding or removing one hold id; its own expiry
        waits aside like the rest while it exists (DSR-12)."""
        ids = HoldMarker.hold_ids.add({hold_id}) if add else HoldMarker.hold_ids.delete({hold_id})
        actions = [ids, HoldMarker.held_expires_at.set(expiry_after_release(clock.now()))]
        return HoldMarker(*HoldMarker.key(user_id)), actions

    def place_hold(self, hold: ports.LegalHold) -> None:
        record = LegalHold(
            *LegalHold.key(hold.hold_id),
            hold_id=hold.hold_id,
            user_id=hold.user_id,
            # owned, so an erasure after the release detaches it like the audit entries (DSR-13)
            owner_id=hold.user_id,
            reason=hold.reason,
            reference=hold.reference,
            placed_by=hold.placed_by,
            placed_at=hold.placed_at,
            until=hold.until,
        )
        marker, actions = self._in_force(hold.user_id, hold.hold_id, add=True)
        with TransactWrite(connection=LegalHold._get_connection().connection) as transaction:
            transaction.save(record, condition=LegalHold.pk.does_not_exist())
            transaction.update(marker, actions=actions)

    def get_hold(self, hold_id: str) -> ports.LegalHold | None:
        record = LegalHold.get_live(*LegalHold.key(hold_id), consistent_read=True)
        return _hold(record) if record is not None else None

    def holds(self) -> list[ports.LegalHold]:
        return [_hold(r) for r in LegalHold.query_live(LegalHold.PARTITION, LegalHold.sk.startswith("HOLD#"))]

    def holds_in_force(self, user_id: str) -> list[str]:
        try:
            marker = HoldMarker.get(*HoldMarker.key(user_id), consistent_read=True)
        except HoldMarker.DoesNotExist:
            return []
        return sorted(marker.hold_ids or ())

    def release_hold(self, hold_id: str, *, by: str, at: datetime) -> ports.LegalHold | None:
        """None when the hold is not in force (unknown, or released already). Its own expiry is
        restored, counted from the release."""
        hold = self.get_hold(hold_id)
        if hold is None or hold.status != "held":
            return None
        record = LegalHold(*LegalHold.key(hold_id))
        expires = expiry_after_release(at)
        marker, actions = self._in_force(hold.user_id, hold_id, add=False)
        try:
            with TransactWrite(connection=LegalHold._get_connection().connection) as transaction:
                transaction.update(
                    record,
                    actions=[
                        LegalHold.status.set("released"),
                        LegalHold.released_by.set(by),
                        LegalHold.released_at.set(at),
                        LegalHold.expires_at.set(expires),
                        LegalHold.held_expires_at.remove(),
                    ],
                    condition=LegalHold.status == "held",
                )
                transaction.update(marker, actions=actions)
        except TransactWriteError:
            return None
        return self.get_hold(hold_id)

    def update_hold(self, hold_id: str, **values: Any) -> None:
        LegalHold(*LegalHold.key(hold_id)).update(
            actions=[getattr(LegalHold, name).set(value) for name, value in values.items()]
        )

    def forget_holds(self, user_id: str) -> bool:
        """The in-force item, once no hold is left in it: its key names the person (DSR-13)."""
        try:
            HoldMarker(*HoldMarker.key(user_id)).delete(condition=HoldMarker.hold_ids.does_not_exist())
        except DeleteError:
            return False
        return True

    def pause_erasure(self, user_id: str, erasure_id: str) -> None:
        HoldMarker(*HoldMarker.key(user_id, f"ERASURE#{erasure_id}"), created_at=clock.now()).save()

    def paused_erasures(self, user_id: str) -> list[str]:
        found = HoldMarker.query(f"HELD#{user_id}", HoldMarker.sk.startswith("ERASURE#"), consistent_read=True)
        return [marker.sk.removeprefix("ERASURE#") for marker in found]

    def resume_erasure(self, user_id: str, erasure_id: str) -> None:
        HoldMarker(*HoldMarker.key(user_id, f"ERASURE#{erasure_id}")).delete()


def expiry_after_release(at: datetime) -> datetime | None:
    from chalicelib.retention import expiry

    return expiry(LegalHold._profile, LegalHold.category, at) if LegalHold._profile else None
