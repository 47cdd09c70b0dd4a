"""The breach register and the people an incident affected, on DynamoDB and S3 (OPS-5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain.ports.incidents import ClockMark, Incident
from chalicelib.profile.schema import Category
from chalicelib.settings import Settings
from chalicelib.store import layout
from chalicelib.store.base import record_classes
from chalicelib.store.models.incidents import REGISTER, AffectedPerson, IncidentClockMark, IncidentRecord


def _incident(record: IncidentRecord) -> Incident:
    return Incident(
        incident_id=record.incident_id,
        detected_at=record.detected_at,
        window_start=record.window_start,
        window_end=record.window_end,
        categories=tuple(record.categories or ()),
        systems=tuple(record.systems or ()),
        description=record.description,
        opened_by=record.opened_by,
        notice_due_at=record.notice_due_at,
        affected_count=int(record.affected_count),
        authority_notified_at=record.authority_notified_at,
        authority_reference=record.authority_reference,
        users_notified_at=record.users_notified_at,
        users_notified=int(record.users_notified or 0),
        escalations=tuple(record.escalations or ()),
    )


def _record(incident: Incident) -> IncidentRecord:
    pk, sk = IncidentRecord.key(incident.incident_id)
    return IncidentRecord(
        pk,
        sk,
        incident_id=incident.incident_id,
        detected_at=incident.detected_at,
        window_start=incident.window_start,
        window_end=incident.window_end,
        categories=list(incident.categories),
        systems=list(incident.systems),
        description=incident.description,
        opened_by=incident.opened_by,
        notice_due_at=incident.notice_due_at,
        affected_count=incident.affected_count,
        authority_notified_at=incident.authority_notified_at,
        authority_reference=incident.authority_reference,
        users_notified_at=incident.users_notified_at,
        users_notified=incident.users_notified,
        escalations=list(incident.escalations),
    )


class IncidentStore:
    def create(self, incident: Incident, affected_user_ids: set[str], marks: list[ClockMark]) -> None:
        # The incident and its clock together: a register entry never lacks its timers.
        with TransactWrite(connection=IncidentRecord._get_connection().connection) as transaction:
            transaction.save(_record(incident))
            for mark in marks:
                pk, sk = IncidentClockMark.key(mark.incident_id, mark.mark)
                timer = IncidentClockMark(pk, sk, incident_id=mark.incident_id, mark=mark.mark)
                timer.expires_at = mark.at
                transaction.save(timer)
        with AffectedPerson.batch_write() as batch:
            for user_id in sorted(affected_user_ids):
                pk, sk = AffectedPerson.key(incident.incident_id, user_id)
                batch.save(AffectedPerson(pk, sk, user_id=user_id, owner_id=user_id))

    def get(self, incident_id: str) -> Incident | None:
        record = IncidentRecord.get_live(*IncidentRecord.key(incident_id), consistent_read=True)
        return _incident(record) if record else None

    def put(self, incident: Incident) -> None:
        _record(incident).save()

    def register(self) -> list[Incident]:
        return [
            _incident(r) for r in IncidentRecord.query_live(REGISTER, IncidentRecord.sk.startswith(IncidentRecord.SK))
        ]

    def affected(self, incident_id: str) -> list[str]:
        return [p.user_id for p in AffectedPerson.query_live(f"INCIDENT#{incident_id}")]


class StoredPeople:
    """Who had data of some categories during a time window: every table holding those categories is
    scanned for owned items that existed then, and the categories' object prefixes are listed.

    Within a table the match is by table, not by record kind: someone with any record there counts.
    For a breach notice, telling one person too many beats missing one."""

    def __init__(self, *, dynamodb: Any, s3: Any, settings: Settings) -> None:
        self._dynamodb = dynamodb
        self._s3 = s3
        self._settings = settings

    def owners_during(self, categories: set[str], start: datetime, end: datetime) -> set[str]:
        wanted = {Category(c) for c in categories}
        tables = sorted({cls.logical_table for cls in record_classes() if cls.category in wanted})
        owners = {owner for table in tables for owner in self._table_owners(table, start, end)}
        for category, (bucket, prefix) in layout.OBJECT_PREFIXES.items():
            if category in wanted:
                owners |= set(self._object_owners(bucket, prefix, end))
        return owners

    def _table_owners(self, table: str, start: datetime, end: datetime) -> Iterator[str]:
        paginator = self._dynamodb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._settings.table_name(table),
            FilterExpression="attribute_exists(owner_id)",
            ProjectionExpression="owner_id, created_at, expires_at",
        ):
            for item in page["Items"]:
                created = item.get("created_at", {}).get("S")
                expires = item.get("expires_at", {}).get("N")
                if created and datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%f%z") > end:
                    continue
                if expires and float(expires) < start.timestamp():
                    continue
                yield item["owner_id"]["S"]

    def _object_owners(self, bucket: str, prefix: str, end: datetime) -> Iterator[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._settings.bucket_name(bucket), Prefix=prefix):
            for obj in page.get("Contents", []):
                owner = obj["Key"].removeprefix(prefix).split("/", 1)[0]
                if owner and obj["LastModified"] <= end:
                    yield owner


class AccountAddresses:
    """An affected person's current e-mail address, if their account still exists."""

    def __init__(self, accounts: Any) -> None:
        self._accounts = accounts

    def email_of(self, user_id: str) -> str | None:
        user = self._accounts.get_user(user_id, consistent=True)
        return user.email if user else None
