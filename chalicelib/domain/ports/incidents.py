"""What the incident work (OPS-5) needs from the world: the breach register, the people whose data a
breach touched, the audit log and a mailer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

CLOCK_MARKS = ("warning", "deadline")  # two thirds of the breach-notice period (48 h of 72), and all of it


@dataclass(frozen=True, slots=True)
class Incident:
    incident_id: str
    detected_at: datetime
    window_start: datetime
    window_end: datetime
    categories: tuple[str, ...]
    systems: tuple[str, ...]
    description: str
    opened_by: str  # the operator's IAM principal
    notice_due_at: datetime  # detected_at + the profile's breach-notice hours
    affected_count: int
    authority_notified_at: datetime | None = None
    authority_reference: str | None = None
    users_notified_at: datetime | None = None
    users_notified: int = 0
    escalations: tuple[str, ...] = ()  # clock marks passed before the authority was notified


@dataclass(frozen=True, slots=True)
class ClockMark:
    """A timer item: when its TTL passes, the incident's clock has reached `mark`."""

    incident_id: str
    mark: str  # one of CLOCK_MARKS
    at: datetime


class IncidentRecords(Protocol):
    def create(self, incident: Incident, affected_user_ids: set[str], marks: list[ClockMark]) -> None: ...
    def get(self, incident_id: str) -> Incident | None: ...
    def put(self, incident: Incident) -> None: ...
    def register(self) -> list[Incident]: ...
    def affected(self, incident_id: str) -> list[str]: ...


class PersonalDataIndex(Protocol):
    def owners_during(self, categories: set[str], start: datetime, end: datetime) -> set[str]:
        """Ids of the people with data of `categories` stored at some moment in [start, end]."""
        ...


class Audit(Protocol):
    def __call__(
        self, operator: str, action: str, at: datetime, target: str | None, details: dict[str, Any]
    ) -> None: ...


class Addresses(Protocol):
    def email_of(self, user_id: str) -> str | None: ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str) -> Any: ...
