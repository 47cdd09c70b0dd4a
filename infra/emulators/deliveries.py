"""What every embedded payment-rail emulator does with its webhooks: queue them, deliver them signed
afresh at each attempt, duplicated and reordered on request, and retry a delivery answered with
anything but 2xx after growing delays, as the real processors do (shorter, for local use).

Controls the emulators share (POST, JSON body):
  /_emulator/config   {"duplicate_rate": 0..1, "reorder": bool, "autoflush": bool}
  /_emulator/flush    deliver everything queued now
  GET /_emulator/events   deliveries so far (kind and status of every attempt), pending, failed
"""

from __future__ import annotations

import json
import logging
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

Deliver = Callable[[bytes, dict[str, str]], int]  # (body, headers) -> HTTP status
Sign = Callable[[str, bytes], dict[str, str]]  # (message id, body) -> headers
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)

access_log = logging.getLogger("pixelkeep.emulators")


class Deliveries:
    def __init__(
        self,
        *,
        sign: Sign,
        deliver: Deliver,
        autoflush: bool = True,
        seed: int | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.autoflush = autoflush
        self.duplicate_rate = 0.0
        self.reorder = False
        self.retry_delays = tuple(retry_delays)
        self.pending: list[tuple[str, str, dict]] = []  # (message id, kind, body)
        self.delivered: list[tuple[str, int]] = []  # (kind, status), every attempt
        self.failed: list[dict] = []
        self._sign = sign
        self._deliver = deliver
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._retrying = 0

    def emit(self, message_id: str, kind: str, body: dict) -> None:
        with self._lock:
            self.pending.append((message_id, kind, body))
        if self.autoflush:
            threading.Thread(target=self.flush, daemon=True).start()

    def send_now(self, message_id: str, kind: str, body: dict) -> int:
        """One delivery, answered before this returns (a question the processor waits on)."""
        return self._send((message_id, kind, body), attempt=len(self.retry_delays) + 1)

    def flush(self) -> list[tuple[str, int]]:
        with self._lock:
            batch, self.pending = self.pending, []
            batch = batch + [entry for entry in batch if self._random.random() < self.duplicate_rate]
            if self.reorder:
                self._random.shuffle(batch)
        return [(entry[1], self._send(entry, attempt=1)) for entry in batch]

    def wait_for_retries(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._retrying == 0, timeout)

    def configure(self, body: dict) -> dict:
        self.duplicate_rate = float(body.get("duplicate_rate", self.duplicate_rate))
        self.reorder = bool(body.get("reorder", self.reorder))
        self.autoflush = bool(body.get("autoflush", self.autoflush))
        return {"duplicate_rate": self.duplicate_rate, "reorder": self.reorder, "autoflush": self.autoflush}

    def status(self) -> dict:
        with self._lock:
            return {
                "delivered": list(self.delivered),
                "pending": len(self.pending),
                "retrying": self._retrying,
                "failed": list(self.failed),
            }

    def _send(self, entry: tuple[str, str, dict], attempt: int) -> int:
        message_id, kind, body = entry
        raw = json.dumps(body).encode()
        status = self._deliver(raw, {"Content-Type": "application/json", **self._sign(message_id, raw)})
        access_log.info("delivery %s attempt %d: %s", kind, attempt, status)
        with self._lock:
            self.delivered.append((kind, status))
            if 200 <= status < 300:
                return status
            if attempt > len(self.retry_delays):
                self.failed.append({"kind": kind, "attempts": attempt})
                return status
            self._retrying += 1
        timer = threading.Timer(self.retry_delays[attempt - 1], self._retry, (entry, attempt + 1))
        timer.daemon = True
        timer.start()
        return status

    def _retry(self, entry: tuple[str, str, dict], attempt: int) -> None:
        try:
            self._send(entry, attempt)
        finally:
            with self._idle:
                self._retrying -= 1
                self._idle.notify_all()


def shared_control(deliveries: Deliveries, request: Request) -> Response | None:
    """The delivery controls every rail emulator answers (module docstring)."""
    if request.path == "/_emulator/config" and request.method == "POST":
        return json_response(deliveries.configure(request.get_json(silent=True) or {}))
    if request.path == "/_emulator/flush" and request.method == "POST":
        return json_response({"delivered": deliveries.flush()})
    if request.path == "/_emulator/events" and request.method == "GET":
        return json_response(deliveries.status())
    return None


def http_deliverer(url: str) -> Deliver:
    def deliver(body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the app's own URL)
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    return deliver


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type)


def catalogue_offers(field: str) -> dict[str, dict]:
    """Every reference the catalogue gives a rail (`polar_products`, `lemonsqueezy_variants`), for
    any stage, with its price: what the emulated processor's dashboard would hold."""
    import tomllib

    from chalicelib.domain.catalogue import CATALOGUE_FILE

    data = tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    offers = {}
    for section in ("packs", "plans"):
        for product_id, spec in data.get(section, {}).items():
            for ref in (spec.get(field) or {}).values():
                offers[str(ref)] = {
                    "name": spec["title"],
                    "amount": int(spec["amount"]),
                    "currency": spec["currency"],
                    "recurring": section == "plans",
                    "product": product_id,
                }
    return offers
