"""S3 -> SQS -> Lambda: uploaded objects are checked by content (SEC-7) and recorded (CNT-1)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
