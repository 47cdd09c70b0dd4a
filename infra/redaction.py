"""What the local cloud's access lines must not carry (GEN-3): a job's webhook URL ends in its secret
token ("/webhooks/providers/<provider>/<gen id>.<token>"), and a provider submit carries that URL in
its query, encoded or (as werkzeug logs it) decoded."""

from __future__ import annotations

import re

WEBHOOK_TOKEN = re.compile(r"((?:/|%2F)webhooks(?:/|%2F)providers(?:/|%2F)[^/%\s]+(?:/|%2F)[^.\s]+\.)[^\s&\"]+", re.I)


def redact_tokens(line: str) -> str:
    return WEBHOOK_TOKEN.sub(r"\1<redacted>", line)
