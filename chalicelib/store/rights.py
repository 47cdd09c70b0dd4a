"""Reads and writes of the rights records, and the starter of the export and erasure workflows.

Records stay here: every method takes and returns the plain types of `chalicelib.domain.ports.rights`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.domain.ports import rights as ports
from chalicelib.errors import Conflict
from chalicelib.store.holds import HoldStore
from chalicelib.store.models.rights import (
    OPEN_QUEUE,
    Consent,
    ContactMessage,
    ErasedSubject,
    ErasureCapture,
    ErasureReceipt,
    ErasureRun,
    ExportRecord,
    MarketingContact,
    OperatorAction,
    RequestEvent,
    RequestReminder,
    RightsRequest,
    Tombstone,
)


def _time_key(moment: datetime) -> str:
    """Fixed-width UTC time, so keys sort in time order."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


# -- records <-> plain types ---------------------------------------------------------------------
def _request(record: RightsRequest) -> ports.RightsRequest:
    return ports.RightsRequest(
        request_id=record.request_id,
        kind=record.kind,
        status=record.status,
        channel=record.channel,
        policy_version=record.policy_version,
        created_at=record.created_at,
        due_at=record.due_at,
        contact_email=record.contact_email,
        verification_hash=record.verification_hash,
        verification_attempts=int(record.verification_attempts or 0),
        owner_id=record.owner_id,
        completed_at=record.completed_at,
        reference=record.reference,
        version=record.version,
        original_due_at=record.original_due_at,
        extension_reason=record.extension_reason,
        refusal_reason=record.refusal_reason,
        reminders_passed=tuple(int(p) for p in record.reminders_passed or ()),
    )


def _request_record(request: ports.RightsRequest) -> RightsRequest:
    """The open-queue index keys are set only while the request is owed an answer (DSR-8)."""
    owed = request.status in ports.OPEN_STATUSES
    record = RightsRequest(
        *RightsRequest.key(request.request_id),
        request_id=request.request_id,
        kind=request.kind,
        status=request.status,
        channel=request.channel,
        contact_email=request.contact_email,
        verification_hash=request.verification_hash,
        verification_attempts=request.verification_attempts,
        owner_id=request.owner_id,
        policy_version=request.policy_version,
        created_at=request.created_at,
        due_at=request.due_at,
        completed_at=request.completed_at,
        reference=request.reference,
        queue=OPEN_QUEUE if owed else None,
        due_key=request.due_at.isoformat() if owed else None,
        original_due_at=request.original_due_at,
        extension_reason=request.extension_reason,
        refusal_reason=request.refusal_reason,
        reminders_passed=list(request.reminders_passed),
    )
    if request.version is not None:  # the optimistic lock: a stale copy fails to save
        record.version = request.version
    return record


def _reminder_record(request_id: str, percent: int, reminder: ports.DeadlineReminder | None) -> RequestReminder:
    record = RequestReminder(*RequestReminder.key(request_id, percent), request_id=request_id, percent=percent)
    if reminder is not None:
        record.armed_for = int(reminder.due_at.timestamp())
        record.expires_at = reminder.at  # the TTL is the reminder: its delete raises it (DSR-11)
    return record


def _tombstone(record: Tombstone) -> ports.Tombstone:
    return ports.Tombstone(
        user_id=record.user_id,
        erasure_id=record.erasure_id,
        request_id=record.request_id,
        cancel_hash=record.cancel_hash,
        created_at=record.created_at,
        expires_at=record.expires_at,
    )


def _export(record: ExportRecord) -> ports.ExportJob:
    return ports.ExportJob(
        user_id=record.owner_id,
        export_id=record.export_id,
        status=record.status,
        created_at=record.created_at,
        items_total=int(record.items_total or 0),
        items_done=int(record.items_done or 0),
        object_key=record.object_key,
        request_id=record.request_id,
        ready_at=record.ready_at,
        cursors=dict(record.cursors or {}),
    )


def _run(record: ErasureRun) -> ports.ErasureRun:
    return ports.ErasureRun(
        erasure_id=record.erasure_id,
        user_id=record.user_id,
        email=record.email,
        pseudonym=record.pseudonym,
        request_id=record.request_id,
        reason=record.reason,
        created_at=record.created_at,
        status=record.status,
        failure=record.failure,
        passes=int(record.passes or 0),
        receipt_id=record.receipt_id,
        captured=bool(record.captured),
        username=record.username,
        telegram_id=record.telegram_id,
        cursors=dict(record.cursors or {}),
    )


def _receipt(record: ErasureReceipt) -> ports.ErasureReceipt:
    return ports.ErasureReceipt(
        receipt_id=record.receipt_id,
        reason=record.reason,
        profile=record.profile,
        policy_version=record.policy_version,
        counts=dict(record.counts or {}),
        started_at=record.started_at,
        completed_at=record.completed_at,
        processors=tuple(dict(ack) for ack in record.processors or ()),
    )


class RightsStore(HoldStore):
    """Implements `ports.RightsRecords` on the requests and accounts tables."""

    # -- requests ledger (DSR-7, DSR-8) ------------------------------------------------------------
    def open_request(
        self, request: ports.RightsRequest, *, reminders: Sequence[ports.DeadlineReminder] | None = None
    ) -> ports.RightsRequest:
        return self.put_request(request, reminders=reminders)

    def put_request(
        self, request: ports.RightsRequest, *, reminders: Sequence[ports.DeadlineReminder] | None = None
    ) -> ports.RightsRequest:
        """Saves `request` if it is the stored version (or new); a stale copy is a Conflict. Given
        `reminders`, the request's reminder items become exactly those, in the same transaction."""
        record = _request_record(request)
        if reminders is None:
            try:
                record.save()
            except PutError as exc:
                raise Conflict("The request changed meanwhile; try again.") from exc
            return _request(record)
        wanted = {r.percent: r for r in reminders if r.request_id == request.request_id}
        try:
            with TransactWrite(connection=RightsRequest._get_connection().connection) as transaction:
                transaction.save(record)
                for percent in ports.REMINDER_PERCENTS:  # a fixed set of keys: put or delete each
                    reminder = _reminder_record(request.request_id, percent, wanted.get(percent))
                    if percent in wanted:
                        transaction.save(reminder)
                    else:
                        transaction.delete(reminder, add_version_condition=False)
        except TransactWriteError as exc:
            raise Conflict("The request changed meanwhile; try again.") from exc
        return _request(record)

    def reminders(self, request_id: str) -> list[ports.DeadlineReminder]:
        pk, _ = RightsRequest.key(request_id)
        return [
            ports.DeadlineReminder(
                request_id=r.request_id,
                percent=int(r.percent),
                at=r.expires_at,
                due_at=datetime.fromtimestamp(int(r.armed_for), timezone.utc),
            )
            for r in RequestReminder.query_live(pk, RequestReminder.sk.startswith(RequestReminder.SK_PREFIX))
        ]

    def get_request(self, request_id: str) -> ports.RightsRequest | None:
        record = RightsRequest.get_live(*RightsRequest.key(request_id), consistent_read=True)
        return _request(record) if record is not None else None

    def open_requests(self, limit: int = 100) -> list[ports.RightsRequest]:
        records = RightsRequest.open_requests.query(OPEN_QUEUE, limit=limit, scan_index_forward=True)
        return [_request(r) for r in records]

    def user_requests(self, user_id: str) -> list[ports.RightsRequest]:
        """The owner index also holds each request's events, exports and messages: keep the META items."""
        _, meta = RightsRequest.key("")
        now = clock.now()
        records = RightsRequest.by_owner.query(user_id, RightsRequest.sk == meta)
        return [_request(r) for r in records if r.is_live(now)]

    def add_event(self, request_id: str, what: str, actor: str, at: datetime, owner_id: str | None) -> None:
        pk, _ = RightsRequest.key(request_id)
        RequestEvent(
            pk,
            f"EVENT#{at.isoformat()}#{uuid.uuid4().hex[:8]}",
            what=what,
            actor=actor,
            created_at=at,
            owner_id=owner_id,
        ).save()

    def events(self, request_id: str) -> list[ports.RequestEvent]:
        pk, _ = RightsRequest.key(request_id)
        return [
            ports.RequestEvent(what=e.what, actor=e.actor, created_at=e.created_at)
            for e in RequestEvent.query_live(pk, RequestEvent.sk.startswith("EVENT#"))
        ]

    # -- operators' audit log (OPS-6) --------------------------------------------------------------
    def audit(self, operator: str, action: str, at: datetime, target: str | None, details: Mapping[str, Any]) -> None:
        OperatorAction(
            f"OPERATOR_AUDIT#{at:%Y-%m}",
            f"{at.isoformat()}#{uuid.uuid4().hex[:8]}",
            operator=operator,
            action=action,
            target=target,
            owner_id=target,
            details=dict(details),
            created_at=at,
        ).save()

    def audit_log(self, month: str) -> list[ports.OperatorAction]:
        return [
            ports.OperatorAction(
                operator=a.operator, action=a.action, target=a.target, details=a.details or {}, created_at=a.created_at
            )
            for a in OperatorAction.query_live(f"OPERATOR_AUDIT#{month}")
        ]

    # -- consent and marketing (DSR-6) ----------------------------------------------------------
    def add_consent(self, user_id: str, purpose: str, granted: bool, policy_version: str, at: datetime) -> None:
        Consent(
            _user_pk(user_id),
            f"CONSENT#{purpose}#{at.isoformat()}",
            purpose=purpose,
            granted=granted,
            policy_version=policy_version,
            created_at=at,
            owner_id=user_id,
        ).save()

    def consents(self, user_id: str) -> list[ports.Consent]:
        return [
            ports.Consent(
                purpose=c.purpose, granted=c.granted, policy_version=c.policy_version, created_at=c.created_at
            )
            for c in Consent.query_live(_user_pk(user_id), Consent.sk.startswith("CONSENT#"))
        ]

    def put_marketing_contact(self, user_id: str, email: str, at: datetime) -> None:
        MarketingContact(_user_pk(user_id), "MARKETING", email=email, created_at=at, owner_id=user_id).save()

    def marketing_contact(self, user_id: str) -> ports.MarketingContact | None:
        record = MarketingContact.get_live(_user_pk(user_id), "MARKETING")
        if record is None:
            return None
        return ports.MarketingContact(email=record.email, created_at=record.created_at, expires_at=record.expires_at)

    def delete_marketing_contact(self, user_id: str) -> None:
        MarketingContact(_user_pk(user_id), "MARKETING").delete()

    # -- contact messages (DSR-10) ----------------------------------------------------------------
    def add_contact_message(
        self, message_id: str, *, email: str, subject: str, body: str, owner_id: str | None, at: datetime
    ) -> None:
        ContactMessage(
            f"CONTACT#{message_id}",
            "MESSAGE",
            message_id=message_id,
            email=email,
            subject=subject,
            body=body,
            owner_id=owner_id,
            created_at=at,
        ).save()

    # -- grace-period tombstone (DSR-9) -----------------------------------------------------------
    def put_tombstone(self, tombstone: ports.Tombstone) -> None:
        """The tombstone's TTL is the end of the grace period; one per account."""
        record = Tombstone(
            *Tombstone.key(tombstone.user_id),
            user_id=tombstone.user_id,
            owner_id=tombstone.user_id,
            erasure_id=tombstone.erasure_id,
            request_id=tombstone.request_id,
            cancel_hash=tombstone.cancel_hash,
            created_at=tombstone.created_at,
            expires_at=tombstone.expires_at,
        )
        try:
            record.save(condition=Tombstone.pk.does_not_exist())
        except PutError as exc:
            raise Conflict("The account is already scheduled for erasure.") from exc

    def get_tombstone(self, user_id: str) -> ports.Tombstone | None:
        record = Tombstone.get_live(*Tombstone.key(user_id), consistent_read=True)
        return _tombstone(record) if record is not None else None

    def delete_tombstone(self, tombstone: ports.Tombstone) -> bool:
        """False when the tombstone is already gone (its TTL fired: erasure has begun)."""
        try:
            Tombstone(*Tombstone.key(tombstone.user_id)).delete(
                condition=Tombstone.cancel_hash == tombstone.cancel_hash
            )
        except DeleteError:
            return False
        return True

    # -- exports (DSR-1) -------------------------------------------------------------------------
    def add_export(self, job: ports.ExportJob) -> None:
        ExportRecord(
            *ExportRecord.key(job.export_id),
            export_id=job.export_id,
            owner_id=job.user_id,
            status=job.status,
            request_id=job.request_id,
            created_at=job.created_at,
        ).save()

    def get_export(self, user_id: str, export_id: str) -> ports.ExportJob | None:
        """The export, if it is `user_id`'s."""
        job = self.find_export(export_id)
        return job if job is not None and job.user_id == user_id else None

    def find_export(self, export_id: str) -> ports.ExportJob | None:
        """By its id alone: the workflow's tasks read the person from here (DSR-13)."""
        record = ExportRecord.get_live(*ExportRecord.key(export_id), consistent_read=True)
        return _export(record) if record is not None else None

    def exports(self, user_id: str) -> list[ports.ExportJob]:
        """The person's exports still kept (a few: they expire with their archives), through the owner
        index: exports are keyed by their opaque id alone (DSR-13)."""
        now = clock.now()
        records = ExportRecord.by_owner.query(user_id, ExportRecord.sk == ExportRecord.sk_prefix)
        return [_export(record) for record in records if record.is_live(now)]

    def update_export(self, user_id: str, export_id: str, **values: Any) -> None:
        record = ExportRecord(*ExportRecord.key(export_id))
        record.update(
            actions=[getattr(ExportRecord, name).set(value) for name, value in values.items()],
            condition=ExportRecord.owner_id == user_id,
        )

    # -- erasure runs and receipts (DSR-4) -------------------------------------------------------
    def create_run(self, run: ports.ErasureRun) -> ports.ErasureRun:
        """The first plan writes the run; a retried plan gets the stored one back unchanged."""
        record = ErasureRun(
            *ErasureRun.key(run.erasure_id),
            erasure_id=run.erasure_id,
            user_id=run.user_id,
            email=run.email,
            pseudonym=run.pseudonym,
            request_id=run.request_id,
            reason=run.reason,
            created_at=run.created_at,
            receipt_id=run.receipt_id,
        )
        try:
            record.save(condition=ErasureRun.pk.does_not_exist())
        except PutError:
            existing = self.get_run(run.erasure_id)
            if existing is None:
                raise
            return existing
        return _run(record)

    def get_run(self, erasure_id: str) -> ports.ErasureRun | None:
        record = ErasureRun.get_live(*ErasureRun.key(erasure_id), consistent_read=True)
        return _run(record) if record is not None else None

    def update_run(self, erasure_id: str, **values: Any) -> None:
        record = ErasureRun(*ErasureRun.key(erasure_id))
        record.update(actions=[getattr(ErasureRun, name).set(value) for name, value in values.items()])

    def keep_captured_page(self, erasure_id: str, page: int, captured: ports.CapturedIds) -> None:
        """The ids one page of the plan found (P3); written again whole, so a retried page is the same."""
        pk, _ = ErasureRun.key(erasure_id)
        lists = {name: list(getattr(captured, name)) for name in ("share_ids", "gen_ids", "provider_request_ids")}
        if max(len(values) for values in lists.values()) > ErasureCapture.PAGE:
            raise ValueError("a plan page found more ids than one capture item holds; lower the page size")
        ErasureCapture(pk, f"CAPTURED#{page:06d}", **lists).save()

    def captured_page(self, erasure_id: str, page: int) -> ports.CapturedIds | None:
        pk, _ = ErasureRun.key(erasure_id)
        found = ErasureCapture.get_live(pk, f"CAPTURED#{page:06d}", consistent_read=True)
        if found is None:
            return None
        names = ("share_ids", "gen_ids", "provider_request_ids")
        return ports.CapturedIds(**{name: tuple(getattr(found, name) or ()) for name in names})

    def delete_run(self, erasure_id: str) -> None:
        pk, _ = ErasureRun.key(erasure_id)
        with ErasureCapture.batch_write() as batch:
            for page in ErasureCapture.query(pk, ErasureCapture.sk.startswith("CAPTURED#")):
                batch.delete(page)
        ErasureRun(*ErasureRun.key(erasure_id)).delete()

    # -- what a restore replays (DSR-13) ------------------------------------------------------------
    def add_erased(self, erased: ports.ErasedSubject, *, keep_days: int) -> None:
        ErasedSubject(
            ErasedSubject.PARTITION,
            f"{_time_key(erased.erased_at)}#{erased.subject_hash}",
            subject_hash=erased.subject_hash,
            erased_at=erased.erased_at,
            expires_at=erased.erased_at + timedelta(days=keep_days),
        ).save()

    def erased_since(self, since: datetime) -> list[ports.ErasedSubject]:
        """Erasures from `since` on (the restored backup's time): the ones a restore would undo."""
        records = ErasedSubject.query(
            ErasedSubject.PARTITION, ErasedSubject.sk >= _time_key(since), consistent_read=True
        )
        return [ports.ErasedSubject(subject_hash=r.subject_hash, erased_at=r.erased_at) for r in records]

    def put_receipt(self, receipt: ports.ErasureReceipt) -> None:
        ErasureReceipt(
            *ErasureReceipt.key(receipt.receipt_id),
            receipt_id=receipt.receipt_id,
            reason=receipt.reason,
            profile=receipt.profile,
            policy_version=receipt.policy_version,
            counts=dict(receipt.counts),
            processors=[dict(ack) for ack in receipt.processors],
            started_at=receipt.started_at,
            completed_at=receipt.completed_at,
        ).save()

    def get_receipt(self, receipt_id: str) -> ports.ErasureReceipt | None:
        record = ErasureReceipt.get_live(*ErasureReceipt.key(receipt_id), consistent_read=True)
        return _receipt(record) if record is not None else None


class WorkflowStarter:
    """Starts a Step Functions execution named after its business key, so a repeat start is a no-op
    while that execution runs or after it succeeded. After it failed, a repeat start is a rerun under
    the next name (`<key>-rerun-2`, …); the steps are idempotent, so the rerun resumes the work (DSR-4)."""

    ENDED_UNFINISHED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
    MAX_RUNS = 20

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str:
        for run in range(1, self.MAX_RUNS + 1):
            run_name = name if run == 1 else f"{name}-rerun-{run}"
            try:
                response = self.client.start_execution(
                    stateMachineArn=self.state_machine_arn, name=run_name, input=json.dumps(payload)
                )
            except self.client.exceptions.ExecutionAlreadyExists:
                arn = f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{run_name}"
                if self.client.describe_execution(executionArn=arn)["status"] not in self.ENDED_UNFINISHED:
                    return arn
                continue
            return response["executionArn"]
        raise Conflict(f"{name} has failed {self.MAX_RUNS} times; it needs an operator.")
