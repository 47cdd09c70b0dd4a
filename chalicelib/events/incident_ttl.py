"""Reaction to the TTL delete of an incident's clock mark (registered in chalicelib/events/reactions.py):
the notice clock reached the mark, so the incident escalates unless the authority was notified (OPS-5)."""

from __future__ import annotations


def clock_mark_expired(image: dict) -> None:
    from chalicelib import wiring

    incident_id, mark = image.get("incident_id"), image.get("mark")
    if incident_id and mark:
        wiring.incident_service().clock_reached(str(incident_id), str(mark))
