"""In-memory ports of the incident work (OPS-5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.incidents import IncidentService
from chalicelib.domain.ports.incidents import ClockMark, Incident
from chalicelib.profile.schema import Profile
from tests.fakes.rights import Outbox


class FakeIncidentRecords:
    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}
        self.marks: dict[tuple[str, str], datetime] = {}  # (incident, mark) -> when its TTL passes
        self.affected_people: dict[str, set[str]] = {}

    def create(self, incident: Incident, affected_user_ids: set[str], marks: list[ClockMark]) -> None:
        self.incidents[incident.incident_id] = incident
        self.affected_people[incident.incident_id] = set(affected_user_ids)
        self.marks.update({(m.incident_id, m.mark): m.at for m in marks})

    def get(self, incident_id: str) -> Incident | None:
        return self.incidents.get(incident_id)

    def put(self, incident: Incident) -> None:
        self.incidents[incident.incident_id] = incident

    def register(self) -> list[Incident]:
        return list(self.incidents.values())

    def affected(self, incident_id: str) -> list[str]:
        return sorted(self.affected_people.get(incident_id, ()))


class FakePeople:
    """Stored data as (owner, category, created, expires or None)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, datetime, datetime | None]] = []

    def owners_during(self, categories: set[str], start: datetime, end: datetime) -> set[str]:
        return {
            owner
            for owner, category, created, expires in self.items
            if category in categories and created <= end and (expires is None or expires >= start)
        }


@dataclass
class FakeAudit:
    entries: list[tuple[str, str, str | None, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, operator: str, action: str, at: datetime, target: str | None, details: dict[str, Any]) -> None:
        self.entries.append((operator, action, target, dict(details)))


@dataclass
class IncidentWorld:
    service: IncidentService
    records: FakeIncidentRecords
    people: FakePeople
    audit: FakeAudit
    addresses: dict[str, str]
    outbox: Outbox


class _Addresses:
    def __init__(self, known: dict[str, str]) -> None:
        self.known = known

    def email_of(self, user_id: str) -> str | None:
        return self.known.get(user_id)


def incident_world(profile: Profile) -> IncidentWorld:
    records, people, audit, outbox, addresses = FakeIncidentRecords(), FakePeople(), FakeAudit(), Outbox(), {}
    service = IncidentService(
        records=records, personal=people, audit=audit, addresses=_Addresses(addresses), mailer=outbox, profile=profile
    )
    return IncidentWorld(service, records, people, audit, addresses, outbox)
