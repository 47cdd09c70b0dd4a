"""Mail the service sent, as moto's SES recorded it (functional tests, inside the `aws` fixture)."""

from __future__ import annotations

import re
from typing import Any


def allow_sending(session: Any = None) -> None:
    """SES only sends from a verified identity; verify the configured sender (idempotent)."""
    import boto3

    from chalicelib.settings import get_settings

    settings = get_settings()
    ses = (session or boto3).client("ses", region_name=settings.region)
    ses.verify_email_identity(EmailAddress=settings.email_sender)


def sent_emails() -> list[dict]:
    """Every message sent so far, oldest first: {"to": [...], "subject": str, "body": str}."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib.settings import get_settings

    backend = ses_backends[DEFAULT_ACCOUNT_ID][get_settings().region]
    return [
        {"to": list(message.destinations.get("ToAddresses", [])), "subject": message.subject, "body": message.body}
        for message in backend.sent_messages
    ]


def last_code_for(email: str, digits: int = 8) -> str:
    """The newest sign-in code mailed to `email`."""
    for message in reversed(sent_emails()):
        if email.lower() in (to.lower() for to in message["to"]):
            found = re.search(rf"\b(\d{{{digits}}})\b", message["body"])
            if found:
                return found.group(1)
    raise AssertionError(f"no code was mailed to {email}")
