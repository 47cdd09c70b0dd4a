"""Incidents (OPS-5): a breach register, the people affected computed from the stores, the
authority's notice clock, drafts of both notices, and the users' notice sent on the operator's word.

Opening an incident writes two timer items whose TTL is the clock: two thirds of the profile's
breach-notice period (48 h of 72) and all of it, counted from detection. When DynamoDB's TTL deletes
one and the authority has not been notified, the stream reaction escalates: a metric the
`incident-clock-*` alarms watch, and an audit entry. No scheduler. Every step is audited with the
operator's IAM principal.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, errors
from chalicelib.domain.ports.incidents import (
    CLOCK_MARKS,
    Addresses,
    Audit,
    ClockMark,
    Incident,
    IncidentRecords,
    Mailer,
    PersonalDataIndex,
)
from chalicelib.metrics import Metric, emit
from chalicelib.profile.schema import Category, Profile

SYSTEM = "system"


def clock_marks(profile: Profile, incident_id: str, detected_at: datetime) -> list[ClockMark]:
    hours = profile.breach_notice_hours or 0
    return [
        ClockMark(incident_id, "warning", detected_at + timedelta(hours=hours * 2 / 3)),
        ClockMark(incident_id, "deadline", detected_at + timedelta(hours=hours)),
    ]


class IncidentService:
    def __init__(
        self,
        *,
        records: IncidentRecords,
        personal: PersonalDataIndex,
        audit: Audit,
        addresses: Addresses,
        mailer: Mailer,
        profile: Profile,
    ) -> None:
        self._records = records
        self._personal = personal
        self._audit = audit
        self._addresses = addresses
        self._mailer = mailer
        self._profile = profile

    def open(
        self,
        operator: str,
        *,
        detected_at: datetime,
        window_start: datetime,
        window_end: datetime,
        categories: list[str],
        systems: list[str],
        description: str,
    ) -> dict[str, Any]:
        hours = self._profile.breach_notice_hours
        if not hours:
            raise errors.InvalidInput("This profile states no breach-notice period.")
        now = clock.now()
        if not window_start <= window_end <= now or not window_start <= detected_at <= now:
            raise errors.InvalidInput("The window must end by now, and detection fall between its start and now.")
        unknown = sorted(
            c for c in categories if c not in {str(x) for x in Category} or not self._profile.has(Category(c))
        )
        if unknown or not categories:
            raise errors.InvalidInput("Name the affected categories this profile stores.", details={"unknown": unknown})
        affected = self._personal.owners_during(set(categories), window_start, window_end)
        incident = Incident(
            incident_id=uuid.uuid4().hex,
            detected_at=detected_at,
            window_start=window_start,
            window_end=window_end,
            categories=tuple(sorted(set(categories))),
            systems=tuple(sorted(set(systems))),
            description=description,
            opened_by=operator,
            notice_due_at=detected_at + timedelta(hours=hours),
            affected_count=len(affected),
        )
        self._records.create(incident, affected, clock_marks(self._profile, incident.incident_id, detected_at))
        self._audit(
            operator,
            "incident_opened",
            now,
            None,
            {"incident_id": incident.incident_id, "categories": list(incident.categories), "affected": len(affected)},
        )
        emit(Metric.INCIDENTS_OPENED)
        return incident_view(incident)

    def register(self, operator: str) -> list[dict[str, Any]]:
        """The breach register: every incident, notified or not, newest first."""
        self._audit(operator, "view_breach_register", clock.now(), None, {})
        incidents = sorted(self._records.register(), key=lambda i: i.detected_at, reverse=True)
        return [incident_view(i) for i in incidents]

    def get(self, operator: str, incident_id: str) -> dict[str, Any]:
        incident = self._incident(incident_id)
        self._audit(operator, "view_incident", clock.now(), None, {"incident_id": incident_id})
        return {
            **incident_view(incident),
            "drafts": {
                "authority": authority_notice(incident, self._profile),
                "users": user_notice(incident, self._profile),
            },
        }

    def authority_notified(self, operator: str, incident_id: str, reference: str) -> dict[str, Any]:
        """The operator notified the supervisory authority (Art. 33): the clock stops escalating."""
        incident = self._incident(incident_id)
        if incident.authority_notified_at is not None:
            raise errors.Conflict("The authority was already notified of this incident.")
        now = clock.now()
        updated = replace(incident, authority_notified_at=now, authority_reference=reference)
        self._records.put(updated)
        late = now > incident.notice_due_at
        self._audit(operator, "incident_authority_notified", now, None, {"incident_id": incident_id, "late": late})
        return incident_view(updated)

    def notify_users(self, operator: str, incident_id: str, *, consequences: str, measures: str) -> dict[str, Any]:
        """The operator decided the affected people must be told (Art. 34): each gets the notice by e-mail."""
        incident = self._incident(incident_id)
        if incident.users_notified_at is not None:
            raise errors.Conflict("The affected people were already notified of this incident.")
        text = user_notice(incident, self._profile, consequences=consequences, measures=measures)
        subject = f"{self._profile.service.name}: a security incident affecting your data"
        sent = 0
        for user_id in self._records.affected(incident_id):
            address = self._addresses.email_of(user_id)
            if address:  # an account erased since has no address left to write to
                self._mailer.send(address, subject, text)
                sent += 1
        now = clock.now()
        updated = replace(incident, users_notified_at=now, users_notified=sent)
        self._records.put(updated)
        self._audit(operator, "incident_users_notified", now, None, {"incident_id": incident_id, "sent": sent})
        return incident_view(updated)

    def clock_reached(self, incident_id: str, mark: str) -> bool:
        """TTL reaction: a clock mark passed. Escalates unless the authority was notified; True if so."""
        incident = self._records.get(incident_id)
        if incident is None or mark not in CLOCK_MARKS or incident.authority_notified_at is not None:
            return False
        if mark in incident.escalations:  # a redelivered stream record
            return False
        self._records.put(replace(incident, escalations=(*incident.escalations, mark)))
        emit(Metric.INCIDENT_CLOCK, mark=mark)
        self._audit(SYSTEM, f"incident_clock_{mark}", clock.now(), None, {"incident_id": incident_id})
        return True

    def _incident(self, incident_id: str) -> Incident:
        incident = self._records.get(incident_id)
        if incident is None:
            raise errors.NotFound("No such incident.")
        return incident


def incident_view(incident: Incident) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": incident.incident_id,
        "detected_at": iso(incident.detected_at),
        "window": {"start": iso(incident.window_start), "end": iso(incident.window_end)},
        "categories": list(incident.categories),
        "systems": list(incident.systems),
        "description": incident.description,
        "opened_by": incident.opened_by,
        "authority_notice_due_at": iso(incident.notice_due_at),
        "affected_people": incident.affected_count,
        "authority_notified_at": iso(incident.authority_notified_at),
        "authority_reference": incident.authority_reference,
        "users_notified_at": iso(incident.users_notified_at),
        "users_notified": incident.users_notified,
        "escalations": list(incident.escalations),
    }


TO_COMPLETE = "[to be completed by the operator]"


def _contact(profile: Profile) -> str:
    service = profile.service
    return service.contact_email or service.contact_url or TO_COMPLETE


def authority_notice(incident: Incident, profile: Profile) -> str:
    """Draft of the notice to the supervisory authority with the contents of GDPR Art. 33(3)."""
    late = ""
    if clock.now() > incident.notice_due_at and incident.authority_notified_at is None:
        late = f"\nReasons for the delay (Art. 33(1)): {TO_COMPLETE}\n"
    return (
        f"Personal data breach notification: {profile.service.name}\n"
        f"Detected: {incident.detected_at:%Y-%m-%d %H:%M} UTC; "
        f"window {incident.window_start:%Y-%m-%d %H:%M} to {incident.window_end:%Y-%m-%d %H:%M} UTC.\n"
        f"(a) Nature of the breach: {incident.description}\n"
        f"    Categories of personal data: {', '.join(incident.categories)}\n"
        f"    Systems: {', '.join(incident.systems) or TO_COMPLETE}\n"
        f"    Approximate number of data subjects concerned: {incident.affected_count}\n"
        f"(b) Contact point for more information: {_contact(profile)}\n"
        f"(c) Likely consequences: {TO_COMPLETE}\n"
        f"(d) Measures taken or proposed, including to mitigate possible adverse effects: {TO_COMPLETE}\n"
        f"{late}"
    )


def user_notice(
    incident: Incident, profile: Profile, *, consequences: str = TO_COMPLETE, measures: str = TO_COMPLETE
) -> str:
    """The notice to the people affected, in plain language (GDPR Art. 34(2))."""
    return (
        f"We are writing to tell you about a security incident at {profile.service.name} that "
        f"affected your personal data.\n\n"
        f"What happened: {incident.description}\n"
        f"Which of your data: {', '.join(incident.categories)}\n"
        f"When: between {incident.window_start:%Y-%m-%d %H:%M} and {incident.window_end:%Y-%m-%d %H:%M} UTC.\n"
        f"What it may mean for you: {consequences}\n"
        f"What we have done and what you can do: {measures}\n"
        f"Questions: {_contact(profile)}\n"
    )
