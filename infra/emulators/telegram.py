"""An embedded Telegram Bot API for Stars payments, for the local cloud and the tests: the methods
the adapter calls (chalicelib/gateways/payments/telegram_stars.py) and webhook updates to the app.

  POST /bot<token>/createInvoiceLink | sendInvoice      currency XTR, one price, payload
  POST /bot<token>/answerPreCheckoutQuery               {pre_checkout_query_id, ok, error_message}
  POST /bot<token>/refundStarPayment                    {user_id, telegram_payment_charge_id}
  POST /bot<token>/getStarTransactions                  {offset, limit}: chronological
  POST /bot<token>/sendMessage                          recorded in `sent` (what the bot says)
  POST /bot<token>/sendPhoto                            multipart/form-data: chat_id, caption, photo (the file);
                                                        answers a Message whose `photo` is its PhotoSize
  POST /bot<token>/getFile {file_id}, GET /file/bot<token>/<file_path>   a sent photo's bytes back

Updates carry X-Telegram-Bot-Api-Secret-Token. Controls (POST): /_emulator/invoices/<slug>/pay
{"user_id": <telegram user>}: Telegram sends the pre_checkout_query and waits up to 10 s for the
answer; only a yes takes the Stars and sends message.successful_payment.
/_emulator/messages {"user_id", "text"} sends a user's message to the bot, GET /_emulator/sent lists
what the bot sent; plus the shared delivery controls (infra/emulators/deliveries.py).
"""

from __future__ import annotations

import hmac
import itertools
import os
import secrets
import threading
import time

from werkzeug.wrappers import Request, Response

from infra.emulators.deliveries import (
    RETRY_DELAYS,
    Deliver,
    Deliveries,
    http_deliverer,
    json_response,
    shared_control,
)

TOO_LATE = "Bad Request: query is too old and response timeout expired or query ID is invalid"
PRE_CHECKOUT_SECONDS = 10.0  # Telegram cancels a payment whose pre-checkout query goes unanswered


class BotApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


class TelegramEmulator:
    def __init__(
        self,
        *,
        webhook_secret: str,
        deliver: Deliver,
        public_url: str = "http://127.0.0.1:8014",
        autoflush: bool = True,
        seed: int | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        answer_timeout: float = PRE_CHECKOUT_SECONDS,
    ) -> None:
        self._secret = webhook_secret
        self.public_url = public_url.rstrip("/")
        self.invoices: dict[str, dict] = {}
        self.transactions: list[dict] = []  # chronological, as getStarTransactions returns them
        self.answers: dict[str, dict] = {}
        self.sent: list[dict] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes) of sent photos
        self.answer_timeout = answer_timeout
        self._updates = itertools.count(1)
        self._messages = itertools.count(1)
        self.deliveries = Deliveries(
            sign=self._sign, deliver=deliver, autoflush=autoflush, seed=seed, retry_delays=retry_delays
        )
        self._lock = threading.RLock()
        self._answered = threading.Condition(self._lock)

    # -- Bot API --------------------------------------------------------------------------------
    def call(self, method: str, body: dict, files: dict[str, bytes] | None = None) -> object:
        if method == "sendPhoto":
            return self._send_photo(body, files or {})
        handlers = {
            "createInvoiceLink": self._create_invoice_link,
            "sendInvoice": self._send_invoice,
            "answerPreCheckoutQuery": self._answer_pre_checkout,
            "refundStarPayment": self._refund,
            "getStarTransactions": self._transactions,
            "sendMessage": self._record,
            "getFile": self._get_file,
        }
        handler = handlers.get(method)
        if handler is None:
            raise BotApiError(404, "Not Found: method not found")
        return handler(body)

    def _invoice(self, body: dict) -> dict:
        prices = body.get("prices")
        if body.get("currency") != "XTR" or not isinstance(prices, list) or len(prices) != 1:
            raise BotApiError(400, "Bad Request: Stars invoices need currency XTR and exactly one price")
        amount = prices[0].get("amount") if isinstance(prices[0], dict) else None
        payload = body.get("payload")
        if not isinstance(amount, int) or amount < 1 or not isinstance(payload, str) or not 1 <= len(payload) <= 128:
            raise BotApiError(400, "Bad Request: invalid invoice")
        slug = secrets.token_urlsafe(9)
        invoice = {"slug": slug, "title": body.get("title"), "payload": payload, "amount": amount, "paid_by": []}
        with self._lock:
            self.invoices[slug] = invoice
        return invoice

    def _create_invoice_link(self, body: dict) -> str:
        return f"{self.public_url}/invoice/{self._invoice(body)['slug']}"

    def _send_invoice(self, body: dict) -> dict:
        invoice = self._invoice(body)
        message = {"message_id": next(self._messages), "chat": {"id": body.get("chat_id")}, "invoice": invoice}
        with self._lock:
            self.sent.append({"method": "sendInvoice", "chat_id": body.get("chat_id"), "slug": invoice["slug"]})
        return message

    def _answer_pre_checkout(self, body: dict) -> bool:
        query_id = body.get("pre_checkout_query_id")
        with self._answered:
            if query_id not in self.answers or self.answers[query_id].get("ok") is not None:
                raise BotApiError(
                    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
                )
            self.answers[query_id].update(ok=bool(body.get("ok")), error_message=body.get("error_message"))
            self._answered.notify_all()
        return True

    def _refund(self, body: dict) -> bool:
        charge_id, user_id = body.get("telegram_payment_charge_id"), body.get("user_id")
        with self._lock:
            paid = next((t for t in self.transactions if t["id"] == charge_id and "source" in t), None)
            if paid is None or paid["source"]["user"]["id"] != user_id:
                raise BotApiError(400, "Bad Request: CHARGE_NOT_FOUND")
            if any(t["id"] == charge_id and "receiver" in t for t in self.transactions):
                raise BotApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
            user = paid["source"]["user"]
            self.transactions.append(
                {
                    "id": charge_id,
                    "amount": paid["amount"],
                    "date": int(time.time()),
                    "receiver": {"type": "user", "user": user},
                }
            )
            refunded = {
                "currency": "XTR",
                "total_amount": paid["amount"],
                "invoice_payload": paid["source"]["invoice_payload"],
                "telegram_payment_charge_id": charge_id,
            }
            self._emit({"message": self._message(user, refunded_payment=refunded)}, "refunded_payment")
        return True

    def _transactions(self, body: dict) -> dict:
        offset, limit = int(body.get("offset") or 0), min(int(body.get("limit") or 100), 100)
        with self._lock:
            return {"transactions": [dict(t) for t in self.transactions[offset : offset + limit]]}

    def _record(self, body: dict) -> dict:
        with self._lock:
            self.sent.append({"method": "sendMessage", **body})
        return {"message_id": next(self._messages), "chat": {"id": body.get("chat_id")}}

    def _send_photo(self, body: dict, files: dict[str, bytes]) -> dict:
        """A photo uploaded with the call, as Telegram takes it: the bytes must decode as an image."""
        import io

        from PIL import Image, UnidentifiedImageError

        data = files.get("photo")
        if not body.get("chat_id"):
            raise BotApiError(400, "Bad Request: chat_id is empty")
        if data is None:
            raise BotApiError(400, "Bad Request: there is no photo in the request")
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except (UnidentifiedImageError, OSError) as exc:
            raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from exc
        file_id = f"AgAC{secrets.token_urlsafe(24)}"
        size = {
            "file_id": file_id,
            "file_unique_id": secrets.token_urlsafe(8),
            "width": width,
            "height": height,
            "file_size": len(data),
        }
        with self._lock:
            self.files[file_id] = (f"photos/file_{len(self.files)}.jpg", data)
            self.sent.append({"method": "sendPhoto", **body, "photo": [size]})
        return {"message_id": next(self._messages), "chat": {"id": body.get("chat_id")}, "photo": [size]}

    def _get_file(self, body: dict) -> dict:
        with self._lock:
            found = self.files.get(str(body.get("file_id")))
        if found is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        path, data = found
        return {"file_id": body["file_id"], "file_size": len(data), "file_path": path}

    def file_bytes(self, file_path: str) -> bytes | None:
        with self._lock:
            return next((data for path, data in self.files.values() if path == file_path), None)

    # -- what users do ----------------------------------------------------------------------------
    def pay(self, slug: str, user_id: int) -> dict:
        """The user pays an invoice: the bot is asked first and must say yes within the limit."""
        invoice = self.invoices.get(slug)
        if invoice is None:
            raise BotApiError(404, "Not Found: no such invoice")
        user = {"id": user_id, "is_bot": False, "first_name": "Local"}
        query_id = str(next(self._updates) * 1000 + 7)
        query = {
            "id": query_id,
            "from": user,
            "currency": "XTR",
            "total_amount": invoice["amount"],
            "invoice_payload": invoice["payload"],
        }
        with self._lock:
            self.answers[query_id] = {"ok": None}
        self.deliveries.send_now(f"update-{query_id}", "pre_checkout_query", self._update(pre_checkout_query=query))
        with self._answered:
            self._answered.wait_for(lambda: self.answers[query_id]["ok"] is not None, self.answer_timeout)
            answer = self.answers[query_id]
            if not answer["ok"]:
                answer.setdefault("ok", False)
                return {"paid": False, "error_message": answer.get("error_message")}
            charge_id = f"stxLocal{secrets.token_hex(12)}"
            source = {"type": "user", "user": user, "invoice_payload": invoice["payload"]}
            self.transactions.append(
                {"id": charge_id, "amount": invoice["amount"], "date": int(time.time()), "source": source}
            )
            invoice["paid_by"].append(user_id)
            payment = {
                "currency": "XTR",
                "total_amount": invoice["amount"],
                "invoice_payload": invoice["payload"],
                "telegram_payment_charge_id": charge_id,
                "provider_payment_charge_id": "",
            }
            self._emit({"message": self._message(user, successful_payment=payment)}, "successful_payment")
            return {"paid": True, "telegram_payment_charge_id": charge_id}

    def user_message(self, user_id: int, text: str) -> None:
        user = {"id": user_id, "is_bot": False, "first_name": "Local"}
        self._emit({"message": self._message(user, text=text)}, "message")

    def _message(self, user: dict, **content: object) -> dict:
        chat = {"id": user["id"], "type": "private"}
        return {"message_id": next(self._messages), "from": user, "chat": chat, "date": int(time.time()), **content}

    def _update(self, **content: object) -> dict:
        return {"update_id": next(self._updates), **content}

    def _emit(self, content: dict, kind: str) -> None:
        update = self._update(**content)
        self.deliveries.emit(f"update-{update['update_id']}", kind, update)

    def _sign(self, message_id: str, body: bytes) -> dict[str, str]:
        return {"X-Telegram-Bot-Api-Secret-Token": self._secret}


def create_app(
    *,
    api_base_url: str,
    bot_token: str | None = None,
    webhook_secret: str | None = None,
    public_url: str | None = None,
    deliver: Deliver | None = None,
    autoflush: bool = True,
    seed: int | None = None,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
):
    """A WSGI app for the emulator; updates go to `{api_base_url}/webhooks/telegram`."""
    from infra.local_secrets import LOCAL_SECRETS

    # In the local cloud the app's setting names the emulator's own address (for checkout links).
    public_url = public_url or os.environ.get("PIXELKEEP_TELEGRAM_API_BASE") or "http://127.0.0.1:8014"

    bot_token = bot_token or LOCAL_SECRETS["telegram-bot-token"]
    emulator = TelegramEmulator(
        webhook_secret=webhook_secret or LOCAL_SECRETS["telegram-webhook-secret"],
        deliver=deliver or http_deliverer(f"{api_base_url.rstrip('/')}/webhooks/telegram"),
        public_url=public_url,
        autoflush=autoflush,
        seed=seed,
        retry_delays=retry_delays,
    )

    def app(environ, start_response):
        request = Request(environ)
        try:
            response = _route(emulator, request, bot_token)
        except BotApiError as exc:
            response = json_response(
                {"ok": False, "error_code": exc.status, "description": exc.description}, exc.status
            )
        return response(environ, start_response)

    app.emulator = emulator  # type: ignore[attr-defined]
    return app


def _route(emulator: TelegramEmulator, request: Request, bot_token: str) -> Response:
    parts = request.path.strip("/").split("/")
    if request.mimetype == "multipart/form-data":
        body = dict(request.form.items())
        files = {name: upload.read() for name, upload in request.files.items()}
    else:
        body, files = request.get_json(silent=True, force=True) or {}, {}
    if len(parts) == 2 and parts[0].startswith("bot"):
        if not hmac.compare_digest(parts[0].removeprefix("bot").encode(), bot_token.encode()):
            raise BotApiError(401, "Unauthorized")
        return json_response({"ok": True, "result": emulator.call(parts[1], body, files)})
    if request.method == "GET" and len(parts) >= 3 and parts[0] == "file" and parts[1].startswith("bot"):
        if not hmac.compare_digest(parts[1].removeprefix("bot").encode(), bot_token.encode()):
            raise BotApiError(401, "Unauthorized")
        data = emulator.file_bytes("/".join(parts[2:]))
        if data is None:
            raise BotApiError(404, "Not Found")
        return Response(data, status=200, content_type="application/octet-stream")
    if request.method == "POST" and len(parts) == 4 and parts[:2] == ["_emulator", "invoices"] and parts[3] == "pay":
        return json_response(emulator.pay(parts[2], int(body.get("user_id") or 0)))
    if request.method == "GET" and parts == ["_emulator", "sent"]:
        with emulator._lock:
            return json_response({"sent": list(emulator.sent)})
    if request.method == "POST" and parts == ["_emulator", "messages"]:
        emulator.user_message(int(body.get("user_id") or 0), str(body.get("text") or ""))
        return json_response({"queued": True})
    shared = shared_control(emulator.deliveries, request)
    if shared is not None:
        return shared
    raise BotApiError(404, "Not Found")
