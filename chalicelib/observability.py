"""One Logger and Tracer for the whole service, registered once as Chalice middleware (metrics:
chalicelib/metrics.py, one EMF document per data point).

The logger scrubs personal data before a record is written (SEC-5): e-mail addresses, IPv4/IPv6
addresses, and the values of keys that carry prompts, secrets or contact data.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "pixelkeep"
REDACTED = "[redacted]"

SENSITIVE_KEYS = frozenset(
    {
        "email",
        "ip",
        "ip_address",
        "source_ip",
        "prompt",
        "negative_prompt",
        "password",
        "code",
        "token",
        "api_key",
        "authorization",
        "cookie",
        "message_body",
        "user_agent",
        "name",
        "phone",
        "telegram_id",
    }
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"\b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f:]*")


def scrub_text(text: str) -> str:
    text = _EMAIL.sub(REDACTED, text)
    text = _IPV6.sub(REDACTED, text)
    return _IPV4.sub(REDACTED, text)


def scrub(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in SENSITIVE_KEYS and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else is logged as its text: an exception object in Powertools' stack_trace included.
    return scrub_text(str(value))


class ScrubbingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with personal data removed from every field."""

    _KEEP = frozenset({"level", "location", "timestamp", "service", "xray_trace_id", "function_request_id"})

    def serialize(self, log: dict[str, Any]) -> str:
        cleaned = {k: (v if k in self._KEEP else scrub(v, k)) for k, v in log.items()}
        return super().serialize(cleaned)


logger = Logger(service=SERVICE, logger_formatter=ScrubbingFormatter())


@lru_cache(maxsize=1)
def tracer() -> Any:
    """Built on first use: the X-Ray SDK import costs more than boto3's, so it stays off cold start."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


@lru_cache(maxsize=1)
def _tracing_middleware() -> Any:
    from chalice import ConvertToMiddleware

    return ConvertToMiddleware(tracer().capture_lambda_handler(capture_response=False))


def _trace(event: Any, get_response: Any) -> Any:
    return _tracing_middleware()(event, get_response)


@lru_cache(maxsize=1)
def _logging_middleware() -> Any:
    from chalice import ConvertToMiddleware

    return ConvertToMiddleware(logger.inject_lambda_context(clear_state=True))


# The current invocation's Lambda context, for what needs its remaining time (idempotency).
lambda_context: ContextVar[Any] = ContextVar("lambda_context", default=None)


def _log_context(event: Any, get_response: Any) -> Any:
    # A handler invoked without a Lambda context (a direct call in a test) has nothing to inject.
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    if context is None:
        return get_response(event)
    token = lambda_context.set(context)
    try:
        return _logging_middleware()(event, get_response)
    finally:
        lambda_context.reset(token)


def register(app: Any) -> None:
    """Attach Logger and Tracer to every handler of `app`, once."""
    app.register_middleware(_log_context)
    app.register_middleware(_trace)
