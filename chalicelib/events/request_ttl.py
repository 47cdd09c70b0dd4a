"""Reaction to the TTL delete of a rights request's deadline reminder (registered in
chalicelib/events/reactions.py): 50, 90 or 100 % of its time to answer passed (DSR-11)."""

from __future__ import annotations

from datetime import UTC, datetime


def reminder_expired(image: dict) -> None:
    from chalicelib import wiring

    request_id, percent, armed_for = image.get("request_id"), image.get("percent"), image.get("armed_for")
    if request_id and percent is not None and armed_for is not None:
        due = datetime.fromtimestamp(int(armed_for), UTC)
        wiring.rights_service().request_reminder_reached(str(request_id), int(percent), due)
