"""Reads and writes of the rights records, and the starter of the export and erasure workflows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib import clock
from chalicelib.errors import Conflict
from chalicelib.store.models.rights import (
    OPEN_QUEUE,
    Consent,
    ContactMessage,
    ErasureReceipt,
    ErasureRun,
    ExportRecord,
    MarketingContact,
    OperatorAction,
    RequestEvent,
    RightsRequest,
    Tombstone,
)


def _user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class RightsStore:
    # -- requests ledger -------------------------------------------------------------------------
    def open_request(
        self,
        request_id: str,
        *,
        kind: str,
        status: str,
        channel: str,
        contact_email: str | None,
        verification_hash: str | None,
        owner_id: str | None,
        policy_version: str,
        created_at: datetime,
        due_at: datetime,
    ) -> RightsRequest:
        request = RightsRequest(
            *RightsRequest.key(request_id),
            request_id=request_id,
            kind=kind,
            status=status,
            channel=channel,
            contact_email=contact_email,
            verification_hash=verification_hash,
            owner_id=owner_id,
            policy_version=policy_version,
            created_at=created_at,
            due_at=due_at,
        )
        self.put_request(request)
        return request

    def put_request(self, request: RightsRequest) -> None:
        if request.status in ("open", "in_progress", "failed"):
            request.queue, request.due_key = OPEN_QUEUE, request.due_at.isoformat()
        else:
            request.queue = request.due_key = None
        request.save()

    def get_request(self, request_id: str) -> RightsRequest | None:
        return RightsRequest.get_live(*RightsRequest.key(request_id), consistent_read=True)

    def open_requests(self, limit: int = 100) -> list[RightsRequest]:
        return list(RightsRequest.open_requests.query(OPEN_QUEUE, limit=limit, scan_index_forward=True))

    def user_requests(self, user_id: str) -> list[RightsRequest]:
        """The owner index also holds each request's events, exports and messages: keep the META items."""
        _, meta = RightsRequest.key("")
        now = clock.now()
        return [r for r in RightsRequest.by_owner.query(user_id, RightsRequest.sk == meta) if r.is_live(now)]

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

    def events(self, request_id: str) -> list[RequestEvent]:
        pk, _ = RightsRequest.key(request_id)
        return list(RequestEvent.query_live(pk, RequestEvent.sk.startswith("EVENT#")))

    # -- operators' audit log (OPS-6) --------------------------------------------------------------
    def audit(self, operator: str, action: str, at: datetime, target: str | None, details: dict[str, Any]) -> None:
        OperatorAction(
            f"OPERATOR_AUDIT#{at:%Y-%m}",
            f"{at.isoformat()}#{uuid.uuid4().hex[:8]}",
            operator=operator,
            action=action,
            target=target,
            owner_id=target,
            details=details,
            created_at=at,
        ).save()

    def audit_log(self, month: str) -> list[OperatorAction]:
        return list(OperatorAction.query_live(f"OPERATOR_AUDIT#{month}"))

    # -- consent and marketing (DSR-6) ----------------------------------------------------------
    def add_consent(self, user_id: str, purpose: str, granted: bool, policy_version: str, at: datetime) -> Consent:
        consent = Consent(
            _user_pk(user_id),
            f"CONSENT#{purpose}#{at.isoformat()}",
            purpose=purpose,
            granted=granted,
            policy_version=policy_version,
            created_at=at,
            owner_id=user_id,
        )
        consent.save()
        return consent

    def consents(self, user_id: str) -> list[Consent]:
        return list(Consent.query_live(_user_pk(user_id), Consent.sk.startswith("CONSENT#")))

    def put_marketing_contact(self, user_id: str, email: str, at: datetime) -> None:
        MarketingContact(_user_pk(user_id), "MARKETING", email=email, created_at=at, owner_id=user_id).save()

    def marketing_contact(self, user_id: str) -> MarketingContact | None:
        return MarketingContact.get_live(_user_pk(user_id), "MARKETING")

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
    def put_tombstone(
        self,
        user_id: str,
        *,
        erasure_id: str,
        request_id: str | None,
        cancel_hash: str,
        created_at: datetime,
        erase_after: datetime,
    ) -> None:
        """The tombstone's TTL is the end of the grace period (`erase_after`)."""
        tombstone = Tombstone(
            *Tombstone.key(user_id),
            user_id=user_id,
            owner_id=user_id,
            erasure_id=erasure_id,
            request_id=request_id,
            cancel_hash=cancel_hash,
            created_at=created_at,
            expires_at=erase_after,
        )
        try:
            tombstone.save(condition=Tombstone.pk.does_not_exist())
        except PutError as exc:
            raise Conflict("The account is already scheduled for erasure.") from exc

    def get_tombstone(self, user_id: str) -> Tombstone | None:
        return Tombstone.get_live(*Tombstone.key(user_id), consistent_read=True)

    def delete_tombstone(self, tombstone: Tombstone) -> bool:
        """False when the tombstone is already gone (its TTL fired: erasure has begun)."""
        try:
            tombstone.delete(condition=Tombstone.cancel_hash == tombstone.cancel_hash)
        except DeleteError:
            return False
        return True

    # -- exports -----------------------------------------------------------------------------------
    def add_export(self, user_id: str, export_id: str, *, request_id: str | None, at: datetime) -> ExportRecord:
        record = ExportRecord(
            *ExportRecord.key(user_id, export_id),
            export_id=export_id,
            owner_id=user_id,
            status="queued",
            request_id=request_id,
            created_at=at,
        )
        record.save()
        return record

    def get_export(self, user_id: str, export_id: str) -> ExportRecord | None:
        return ExportRecord.get_live(*ExportRecord.key(user_id, export_id), consistent_read=True)

    def update_export(self, record: ExportRecord, **values: Any) -> None:
        record.update(actions=[getattr(ExportRecord, name).set(value) for name, value in values.items()])

    # -- erasure runs and receipts ---------------------------------------------------------------
    def create_run(
        self,
        erasure_id: str,
        *,
        user_id: str,
        email: str | None,
        pseudonym: str,
        request_id: str | None,
        reason: str,
        at: datetime,
    ) -> ErasureRun:
        """The first plan writes the run; a retried plan gets the stored one back unchanged."""
        run = ErasureRun(
            *ErasureRun.key(erasure_id),
            erasure_id=erasure_id,
            user_id=user_id,
            email=email,
            pseudonym=pseudonym,
            request_id=request_id,
            reason=reason,
            created_at=at,
        )
        try:
            run.save(condition=ErasureRun.pk.does_not_exist())
        except PutError:
            existing = self.get_run(run.erasure_id)
            if existing is None:
                raise
            return existing
        return run

    def get_run(self, erasure_id: str) -> ErasureRun | None:
        return ErasureRun.get_live(*ErasureRun.key(erasure_id), consistent_read=True)

    def update_run(self, run: ErasureRun, **values: Any) -> None:
        run.update(actions=[getattr(ErasureRun, name).set(value) for name, value in values.items()])

    def delete_run(self, run: ErasureRun) -> None:
        run.delete()

    def put_receipt(
        self,
        erasure_id: str,
        *,
        reason: str,
        profile: str,
        policy_version: str,
        counts: dict[str, int],
        started_at: datetime,
        completed_at: datetime,
    ) -> None:
        ErasureReceipt(
            *ErasureReceipt.key(erasure_id),
            erasure_id=erasure_id,
            reason=reason,
            profile=profile,
            policy_version=policy_version,
            counts=counts,
            started_at=started_at,
            completed_at=completed_at,
        ).save()

    def get_receipt(self, erasure_id: str) -> ErasureReceipt | None:
        return ErasureReceipt.get_live(*ErasureReceipt.key(erasure_id), consistent_read=True)


class WorkflowStarter:
    """Starts a Step Functions execution named after its business key, so a repeat start is a no-op
    while that execution runs or after it succeeded. After it failed, a repeat start is a rerun under
    the next name (`<key>-rerun-2`, …); the steps are idempotent, so the rerun resumes the work."""

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

    def iter_executions(self) -> Iterator[dict[str, Any]]:
        for page in self.client.get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn):
            yield from page["executions"]
