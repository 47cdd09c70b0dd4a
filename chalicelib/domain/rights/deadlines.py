"""Request deadlines (DSR-11): reminders before the due date, extension only with reasons and notice
(GDPR Art. 12(3)), refusal only with reasons and the right to complain (Art. 12(4)).

Each request owed an answer has three timer items whose TTL is 50 %, 90 % and 100 % of its time to
answer (created -> due). When DynamoDB's TTL deletes one while the request is still owed, the stream
reaction raises the `RequestDeadline` metric (the `request-deadline-*` alarms watch it), writes an
audit entry by `system` and a line in the request's trail. No scheduler. Answering or withdrawing the
request removes its timers in the same transaction; an extension re-arms them for the new due date.

DynamoDB deletes an expired item up to two days late, so a reminder can arrive that late: on a
30-day deadline the 90 % reminder still comes days before the due date; on a 48-hour one it may not.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.ports.rights import OPEN_STATUSES, REMINDER_PERCENTS, DeadlineReminder, RightsRequest
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.metrics import Metric, emit

EXTENSION_MONTHS = 2  # Art. 12(3): "may be extended by two further months where necessary"
SYSTEM = "system"
# Kinds a workflow answers once verified (export, erasure): a refusal racing it would be overwritten.
CARRIED_OUT_BY_ITSELF = frozenset({"access", "portability", "erasure"})


def reminders_for(request: RightsRequest) -> list[DeadlineReminder]:
    """The request's reminders still ahead: 50, 90 and 100 % of the way from creation to due."""
    span, now = request.due_at - request.created_at, clock.now()
    marks = [(p, request.created_at + span * p / 100) for p in REMINDER_PERCENTS]
    return [DeadlineReminder(request.request_id, p, at, request.due_at) for p, at in marks if at > now]


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, or the month's last day where it has no such day (31 Jan -> 28 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def latest_extension(request: RightsRequest) -> datetime:
    """Two further months past the original due date, in total over every extension."""
    return add_months(request.original_due_at or request.due_at, EXTENSION_MONTHS)


def reminder_reached(ctx: RightsContext, request_id: str, percent: int, armed_for: datetime) -> bool:
    """TTL reaction: `percent` of the time to answer passed. Raises the reminder once if the request
    is still owed an answer by the due date the timer was armed for; True if it did."""
    request = ctx.rights.get_request(request_id)
    if request is None or request.status not in OPEN_STATUSES or percent not in REMINDER_PERCENTS:
        return False
    if int(armed_for.timestamp()) != int(request.due_at.timestamp()):  # armed before an extension
        return False
    if percent in request.reminders_passed:  # a redelivered stream record
        return False
    ctx.rights.put_request(replace(request, reminders_passed=(*request.reminders_passed, percent)))
    emit(Metric.REQUEST_DEADLINE, percent=str(percent))
    now = clock.now()
    what = "due date reached, not yet answered" if percent == 100 else f"{percent}% of the time to answer passed"
    ctx.rights.add_event(request_id, what, SYSTEM, now, request.owner_id)
    details = {"request_id": request_id, "kind": request.kind, "due_at": request.due_at.isoformat()}
    ctx.rights.audit(SYSTEM, f"request_deadline_{percent}", now, request.owner_id, details)
    return True


def _owed(ctx: RightsContext, request_id: str) -> RightsRequest:
    request = ctx.rights.get_request(request_id)
    if request is None or request.status == "unverified":
        raise NotFound("No such request.")
    if request.status not in OPEN_STATUSES:
        raise Conflict(f"The request is already {request.status}.")
    return request


def _requester_address(ctx: RightsContext, request: RightsRequest) -> str:
    """Where the requester is told: the address the request came from, or the account's."""
    if request.contact_email:
        return request.contact_email
    person = ctx.accounts.get_user(request.owner_id, consistent=True) if request.owner_id else None
    if person is None:
        raise Conflict("The requester has no address left to be told at; nothing was changed.")
    return person.email


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give the reason; the requester is told it.")
    return reason


def _complaint(ctx: RightsContext) -> str:
    complaint = ctx.profile.rights.complaint
    return (
        f"You have the right to lodge a complaint with {complaint.authority} ({complaint.url}) "
        "and to seek a judicial remedy."
    )


def extend(ctx: RightsContext, operator: str, request_id: str, *, until: datetime, reason: str) -> RightsRequest:
    """Art. 12(3): the operator moves the due date, by at most two further months in total, with a
    reason, while the original time to answer runs; the requester is e-mailed why and until when."""
    request, reason, until = _owed(ctx, request_id), _reason(reason), until.astimezone(UTC)
    original = request.original_due_at or request.due_at
    now = clock.now()
    if now > original:
        raise Conflict(
            f"An extension must be given within the original time to answer, which ended {original:%Y-%m-%d}."
        )
    if until <= request.due_at:
        raise InvalidInput(f"The new due date must be after the current one ({request.due_at.isoformat()}).")
    if until > latest_extension(request):
        raise InvalidInput(
            f"At most {EXTENSION_MONTHS} further months in all: the latest due date is "
            f"{latest_extension(request).isoformat()}."
        )
    address = _requester_address(ctx, request)
    extended = replace(request, due_at=until, original_due_at=original, extension_reason=reason, reminders_passed=())
    extended = ctx.rights.put_request(extended, reminders=reminders_for(extended))
    ctx.email.send(
        address,
        f"{ctx.profile.service.name}: more time for your {request.kind} request",
        f"We need more time to answer your {request.kind} request of {request.created_at:%Y-%m-%d}. "
        f"We will answer by {until:%Y-%m-%d %H:%M} UTC instead of {request.due_at:%Y-%m-%d %H:%M} UTC.\n\n"
        f"Why: {reason}\n\n{_complaint(ctx)}\n",
    )
    ctx.rights.add_event(
        request_id, f"extended to {until.isoformat()} ({reason})", f"operator:{operator}", now, request.owner_id
    )
    details = {"request_id": request_id, "due_at": until.isoformat(), "original_due_at": original.isoformat()}
    ctx.rights.audit(operator, "request_extended", now, request.owner_id, details)
    return extended


def refuse(ctx: RightsContext, operator: str, request_id: str, *, reason: str) -> RightsRequest:
    """Art. 12(4): the operator declines to act, with a reason; the requester is told why and that
    they may complain to a supervisory authority and seek a judicial remedy. The timers go."""
    request, reason = _owed(ctx, request_id), _reason(reason)
    if request.kind in CARRIED_OUT_BY_ITSELF and request.status != "failed":
        raise Conflict(f"The {request.kind} runs by itself and would overrule a refusal; refuse it only if it failed.")
    address = _requester_address(ctx, request)
    now = clock.now()
    refused = replace(request, status="rejected", refusal_reason=reason, completed_at=now)
    refused = ctx.rights.put_request(refused, reminders=[])
    ctx.email.send(
        address,
        f"{ctx.profile.service.name}: your {request.kind} request",
        f"We will not act on your {request.kind} request of {request.created_at:%Y-%m-%d}.\n\n"
        f"Why: {reason}\n\n{_complaint(ctx)}\n",
    )
    ctx.rights.add_event(request_id, f"rejected ({reason})", f"operator:{operator}", now, request.owner_id)
    details: dict[str, Any] = {"request_id": request_id, "late": now > request.due_at}
    ctx.rights.audit(operator, "request_refused", now, request.owner_id, details)
    emit(Metric.REQUESTS_ANSWERED, kind=request.kind)
    return refused
