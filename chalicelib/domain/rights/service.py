"""The rights service: one method per thing a route, a workflow task or a reaction asks of the rights
work (DSR-1 … DSR-11, ACC-7, OPS-6). Each method hands its context to the rule that does the work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.rights import (
    consent,
    contact,
    deadlines,
    erasure,
    export,
    minors,
    notices,
    operators,
    processors,
    rights_requests,
)
from chalicelib.domain.rights.context import RightsContext


class RightsService:
    def __init__(self, context: RightsContext) -> None:
        self.context = context

    # -- export (DSR-1, DSR-2) and erasure (DSR-4, DSR-9) -----------------------------------------
    def request_export(self, user_id: str) -> dict[str, Any]:
        return export.request_export(self.context, user_id)

    def export_status(self, user_id: str, export_id: str) -> dict[str, Any]:
        return export.status(self.context, user_id, export_id)

    def export_download(self, user_id: str, export_id: str) -> dict[str, Any]:
        return export.download(self.context, user_id, export_id)

    def request_erasure(self, user_id: str) -> dict[str, Any]:
        return erasure.request_erasure(self.context, user_id)

    def cancel_erasure(self, token: str) -> dict[str, Any]:
        return erasure.cancel_erasure(self.context, token)

    def start_after_grace(self, image: dict[str, Any]) -> str:
        return erasure.start_after_grace(self.context, image)

    # -- the requests ledger (DSR-7, DSR-8) -------------------------------------------------------
    def submit_request_by_email(self, *, kind: str, email: str) -> dict[str, Any]:
        return rights_requests.submit_by_email(self.context, kind=kind, email=email)

    def verify_request(self, request_id: str, code: str) -> dict[str, Any]:
        """Verified access and erasure requests run by themselves; the rest wait in the operators' queue."""
        request = rights_requests.verify_by_email(self.context, request_id=request_id, code=code)
        if request.owner_id and request.kind in ("access", "portability"):
            export.request_export(self.context, request.owner_id, request_id=request_id)
        elif request.owner_id and request.kind == "erasure":
            erasure.request_erasure(self.context, request.owner_id, actor="requester", request_id=request_id)
        return rights_requests.describe(self.context.rights.get_request(request_id))

    def user_requests(self, user_id: str) -> list[dict[str, Any]]:
        return [rights_requests.describe(r) for r in self.context.rights.user_requests(user_id)]

    def open_request(self, user_id: str, kind: str) -> dict[str, Any]:
        request = rights_requests.open_request(self.context, kind=kind, user_id=user_id, actor="user")
        return rights_requests.describe(request)

    # -- consent, restriction, objection (DSR-5, DSR-6) and contact (DSR-10) ----------------------
    def consents(self, user_id: str) -> dict[str, Any]:
        return consent.current_consents(self.context, user_id)

    def record_consent(self, user_id: str, purpose: str, granted: bool) -> dict[str, Any]:
        return consent.record_consent(self.context, user_id, purpose, granted)

    def set_processing(self, user_id: str, *, restricted: bool | None, objections: list[str] | None) -> dict[str, Any]:
        return consent.set_processing(self.context, user_id, restricted=restricted, objections=objections)

    def send_marketing(self, user_id: str, subject: str, text: str) -> None:
        consent.send_marketing(self.context, user_id, subject, text)

    def submit_contact(
        self, *, user_id: str | None, email: str | None, subject: str, body: str, idempotency_key: str | None
    ) -> dict[str, Any]:
        """With an Idempotency-Key a retried form stores one message (DSR-10)."""
        if not idempotency_key:
            return contact.submit(self.context, user_id=user_id, email=email, subject=subject, body=body)
        attempt = {
            "idempotency_key": idempotency_key,
            "sender": user_id or email,
            "user_id": user_id,
            "email": email,
            "subject": subject,
            "body": body,
        }
        return contact.submit_once(self.context, attempt=attempt)

    # -- policy change notices (OPS-2) -------------------------------------------------------------
    def notices(self, user_id: str) -> list[dict[str, Any]]:
        return notices.pending(self.context, user_id)

    def acknowledge_notice(self, user_id: str, version: str, decisions: dict[str, bool]) -> dict[str, Any]:
        return notices.acknowledge(self.context, user_id, version, decisions)

    def announce_policy_version(self, operator: str, version: str | None) -> dict[str, Any]:
        return notices.announce(self.context, operator, version)

    # -- operators (OPS-6) and minors (ACC-7) -----------------------------------------------------
    def request_queue(self, operator: str) -> list[dict[str, Any]]:
        return operators.request_queue(self.context, operator)

    def set_request_status(self, operator: str, request_id: str, status: str) -> dict[str, Any]:
        return operators.set_request_status(self.context, operator, request_id, status)

    def extend_request(self, operator: str, request_id: str, *, until: datetime, reason: str) -> dict[str, Any]:
        return operators.extend_request(self.context, operator, request_id, until=until, reason=reason)

    def refuse_request(self, operator: str, request_id: str, *, reason: str) -> dict[str, Any]:
        return operators.refuse_request(self.context, operator, request_id, reason=reason)

    def request_reminder_reached(self, request_id: str, percent: int, armed_for: datetime) -> bool:
        """TTL reaction (DSR-11): a request's deadline reminder expired."""
        return deadlines.reminder_reached(self.context, request_id, percent, armed_for)

    def erase_minor(self, operator: str, user_id: str, note: str | None) -> dict[str, Any]:
        return minors.erase_minor(self.context, operator=operator, user_id=user_id, note=note)

    def audit_log(self, operator: str, month: str) -> list[dict[str, Any]]:
        return operators.audit_log(self.context, operator, month)

    # -- workflow tasks (infra/asl/*.asl.json), one idempotent step each ---------------------------
    def erasure_plan(self, event: dict[str, Any]) -> dict[str, Any]:
        return erasure.plan(self.context, event)

    def erasure_processors(self, event: dict[str, Any]) -> dict[str, Any]:
        return processors.erase_at_processors(self.context, event)

    def erasure_delete_objects(self, event: dict[str, Any]) -> dict[str, int]:
        return erasure.delete_objects(self.context, event)

    def erasure_delete_records(self, event: dict[str, Any]) -> dict[str, int]:
        return erasure.delete_records(self.context, event)

    def erasure_pseudonymize(self, event: dict[str, Any]) -> dict[str, int]:
        return erasure.pseudonymize(self.context, event)

    def erasure_residual_scan(self, event: dict[str, Any]) -> dict[str, Any]:
        return erasure.residual_scan(self.context, event)

    def erasure_receipt(self, event: dict[str, Any]) -> dict[str, Any]:
        return erasure.receipt(self.context, event)

    def erasure_notify(self, event: dict[str, Any]) -> dict[str, bool]:
        return erasure.notify(self.context, event)

    def erasure_fail(self, event: dict[str, Any]) -> dict[str, str]:
        return erasure.fail(self.context, event)

    def export_collect(self, event: dict[str, Any]) -> dict[str, Any]:
        return export.collect(self.context, event)

    def export_archive(self, event: dict[str, Any]) -> dict[str, Any]:
        return export.archive(self.context, event)

    def export_seal(self, event: dict[str, Any]) -> dict[str, Any]:
        return export.seal(self.context, event)

    def export_notify(self, event: dict[str, Any]) -> dict[str, bool]:
        return export.notify(self.context, event)

    def export_fail(self, event: dict[str, Any]) -> dict[str, str]:
        return export.fail(self.context, event)

    def notices_mail_page(self, event: dict[str, Any]) -> dict[str, Any]:
        return notices.mail_page(self.context, event)

    def notices_finish(self, event: dict[str, Any]) -> dict[str, Any]:
        return notices.finish(self.context, event)

    def notices_fail(self, event: dict[str, Any]) -> dict[str, Any]:
        return notices.finish(self.context, event, failed=True)
