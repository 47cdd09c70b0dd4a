"""SEC-5: technical logs carry no raw personal data."""

import io
import json
import logging
import uuid

import pytest

from chalicelib.observability import REDACTED, ScrubbingFormatter, scrub


@pytest.fixture
def captured_logger():
    from aws_lambda_powertools import Logger

    stream = io.StringIO()
    # A fresh service name per test: Powertools attaches a handler only to a logger it has not set up,
    # so a reused name would write to an earlier test's stream and this test's would stay empty.
    log = Logger(
        service=f"scrub-test-{uuid.uuid4().hex}",
        logger_formatter=ScrubbingFormatter(),
        logger_handler=logging.StreamHandler(stream),
    )
    return log, stream


def records(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_sec5_logger_masks_emails_ips_and_prompts(captured_logger):
    log, stream = captured_logger
    log.info(
        "generation from alice@example.com at 203.0.113.7",
        extra={
            "prompt": "a portrait of my neighbour",
            "negative_prompt": "blurry",
            "source_ip": "2001:db8::1",
            "detail": {"email": "bob@example.org", "nested": ["carol@example.net", "198.51.100.23"]},
            "user_id": "u_123",
        },
    )
    text = stream.getvalue()
    for secret in (
        "alice@example.com",
        "203.0.113.7",
        "a portrait of my neighbour",
        "blurry",
        "2001:db8::1",
        "bob@example.org",
        "carol@example.net",
        "198.51.100.23",
    ):
        assert secret not in text
    (record,) = records(stream)
    assert record["prompt"] == REDACTED
    assert record["user_id"] == "u_123"  # pseudonymous ids stay useful for debugging
    assert record["message"] == f"generation from {REDACTED} at {REDACTED}"


def test_sec5_exceptions_are_scrubbed_too(captured_logger):
    log, stream = captured_logger
    try:
        raise ValueError("no account for dave@example.com")
    except ValueError:
        log.exception("lookup failed")
    assert "dave@example.com" not in stream.getvalue()


def test_scrub_keeps_non_personal_values():
    assert scrub({"status": "ok", "count": 3, "version": "2026-11-01"}) == {
        "status": "ok",
        "count": 3,
        "version": "2026-11-01",
    }
