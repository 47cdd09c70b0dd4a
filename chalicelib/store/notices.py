"""Policy change notices on DynamoDB (OPS-2): each person's receipts beside their account, each
version's announcement in the requests table, and the accounts read a bounded page at a time."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.domain.ports import rights as ports
from chalicelib.store.models.accounts import NoticeReceipt, User
from chalicelib.store.models.rights import PolicyAnnouncement


def _addressee(user: User) -> ports.Addressee:
    return ports.Addressee(
        user_id=user.user_id, email=user.email, signed_up_at=user.created_at, active=user.status == "active"
    )


def _announcement(record: PolicyAnnouncement) -> ports.Announcement:
    return ports.Announcement(
        version=record.version,
        run_id=record.run_id,
        started_by=record.started_by,
        started_at=record.started_at,
        status=record.status,
        sent=int(record.sent or 0),
        cursors=dict(record.cursors or {}),
        finished_at=record.finished_at,
    )


class NoticeStore:
    def receipts(self, user_id: str) -> list[ports.NoticeReceipt]:
        pk, _ = NoticeReceipt.key(user_id, "")
        return [
            ports.NoticeReceipt(version=r.version, emailed_at=r.emailed_at, acknowledged_at=r.acknowledged_at)
            for r in NoticeReceipt.query_live(pk, NoticeReceipt.sk.startswith("NOTICE#"), consistent_read=True)
        ]

    def _mark(self, user_id: str, version: str, attribute: Any, at: datetime) -> bool:
        """Sets `attribute` once (creating the receipt if need be); False if it was set already."""
        record = NoticeReceipt(*NoticeReceipt.key(user_id, version))
        try:
            record.update(
                actions=[
                    attribute.set(at),
                    NoticeReceipt.version.set(version),
                    NoticeReceipt.owner_id.set(user_id),
                ],
                condition=attribute.does_not_exist(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def acknowledge(self, user_id: str, version: str, at: datetime) -> bool:
        return self._mark(user_id, version, NoticeReceipt.acknowledged_at, at)

    def claim_email(self, user_id: str, version: str, at: datetime) -> bool:
        return self._mark(user_id, version, NoticeReceipt.emailed_at, at)

    def release_email(self, user_id: str, version: str) -> None:
        NoticeReceipt(*NoticeReceipt.key(user_id, version)).update(actions=[NoticeReceipt.emailed_at.remove()])

    def addressee(self, user_id: str) -> ports.Addressee | None:
        user = User.get_live(*User.key(user_id), consistent_read=True)
        return _addressee(user) if user else None

    def addressees_page(self, cursor: str | None, limit: int) -> ports.Page[ports.Addressee]:
        """One Scan call reading at most `limit` items of the accounts table (P3); the user records among them."""
        start = json.loads(cursor) if cursor else None
        response = User._get_connection().scan(
            filter_condition=User.sk == "PROFILE", limit=limit, exclusive_start_key=start
        )
        users = [User.from_raw_data(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return ports.Page(
            tuple(_addressee(u) for u in users if u.is_live()),
            int(response.get("ScannedCount", len(users))),
            json.dumps(last, sort_keys=True) if last else None,
        )

    def start_announcement(self, announcement: ports.Announcement) -> bool:
        record = PolicyAnnouncement(
            *PolicyAnnouncement.key(announcement.version),
            version=announcement.version,
            run_id=announcement.run_id,
            started_by=announcement.started_by,
            started_at=announcement.started_at,
        )
        try:  # a failed run may be started again; a running or finished one may not
            record.save(condition=PolicyAnnouncement.pk.does_not_exist() | (PolicyAnnouncement.status == "failed"))
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_announcement(self, version: str) -> ports.Announcement | None:
        found = PolicyAnnouncement.get_live(*PolicyAnnouncement.key(version), consistent_read=True)
        return _announcement(found) if found else None

    def update_announcement(self, version: str, **values: Any) -> None:
        record = PolicyAnnouncement(*PolicyAnnouncement.key(version))
        record.update(actions=[getattr(PolicyAnnouncement, name).set(value) for name, value in values.items()])
