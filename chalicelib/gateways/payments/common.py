"""What the payment rail adapters share: JSON calls over the Http transport the model-provider
adapters use, with the rail's answers mapped to the domain's errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib import errors
from chalicelib.gateways.providers.common import Http


def call(
    http: Http,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    payload: Any = None,
    what: str,
) -> Any:
    """One JSON call. 404 is NotFound, another 4xx InvalidInput, 5xx or no answer UpstreamUnavailable;
    an empty 2xx answer is None."""
    body = json.dumps(payload).encode() if payload is not None else None
    response = http.request(method, url, headers=dict(headers), body=body)
    if response.status == 404:
        raise errors.NotFound(f"The payment processor does not know this {what}.")
    if 400 <= response.status < 500:
        raise errors.InvalidInput(f"The payment processor refused the {what} request (HTTP {response.status}).")
    if response.status >= 300:
        raise errors.UpstreamUnavailable("The payment processor is unavailable; please retry.")
    if not response.body:
        return None
    try:
        return json.loads(response.body)
    except ValueError as exc:
        raise errors.UpstreamUnavailable("The payment processor sent an unreadable response.") from exc


def json_object(body: bytes, what: str) -> dict:
    """A signed body parsed; a body that is not a JSON object is InvalidInput (a 400, not a 500
    the rail would retry for days)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise errors.InvalidInput(f"The webhook body is not a {what}.")
    return data


def as_int(value: Any, default: int | None = None) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default
