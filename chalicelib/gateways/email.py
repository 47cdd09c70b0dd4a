"""Outgoing email through Amazon SES (the local cloud's moto records it in an outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EmailGateway:
    client: Any  # boto3 SES client
    sender: str

    def send(self, to: str, subject: str, text: str) -> str:
        response = self.client.send_email(
            Source=self.sender,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )
        return response["MessageId"]
