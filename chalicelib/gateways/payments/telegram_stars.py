"""Telegram Stars (Kaleipix's bot purchases) over the Bot API (PAY-1, PAY-4, PAY-5, PAY-6).

- Invoices: createInvoiceLink (a link to pay in Telegram) or sendInvoice (into the buyer's chat),
  currency "XTR" with one price and no provider token; `payload` is "<product>:<user>", which
  Telegram returns with the payment.
- Updates arrive on the bot's webhook with X-Telegram-Bot-Api-Secret-Token, the secret_token given
  to setWebhook; nothing is read before it matches. A `pre_checkout_query` must be answered with
  answerPreCheckoutQuery within 10 seconds; a `message.successful_payment` or
  `message.refunded_payment` names the payment by `telegram_payment_charge_id`.
- Re-fetch: getStarTransactions (chronological, 100 a page): the incoming transaction whose id is
  the charge id holds the amount, the buyer and the invoice payload; an outgoing transaction with
  the same id is its refund. Refund: refundStarPayment(user_id, telegram_payment_charge_id).
- The bot's answers: sendMessage (JSON) and sendPhoto, the image uploaded as multipart/form-data
  (urllib3's encoder, which botocore already brings), so no link to our storage leaves.
- Erasure: no Stars subscriptions are sold and Telegram keeps no customer object for a bot, so
  both calls acknowledge that there is nothing to end (PAY-6).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping

from chalicelib import errors
from chalicelib.domain.ports.payments import (
    CheckoutLink,
    CheckoutOrder,
    EventKind,
    ProcessorAck,
    Rail,
    RailEvent,
    RailOrder,
    RailSubscription,
)
from chalicelib.gateways.payments.common import as_int, call, json_object
from chalicelib.gateways.providers.common import Http, header

API_URL = "https://api.telegram.org"
CURRENCY = "XTR"
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105  (a header name, not a secret)
PAGE = 100  # getStarTransactions' largest page
MAX_PAGES = 100  # transactions scanned for one charge id


def invoice_payload(product_id: str, user_id: str) -> str:
    return f"{product_id}:{user_id}"


def read_payload(payload: object) -> tuple[str | None, str | None]:
    """(product, user) from an invoice payload; (None, None) when it is not one of ours."""
    if not isinstance(payload, str) or payload.count(":") != 1:
        return None, None
    product_id, user_id = payload.split(":")
    return (product_id or None), (user_id or None)


class TelegramStarsRail:
    rail = Rail.TELEGRAM_STARS
    title = "Telegram"

    def __init__(
        self,
        *,
        http: Http,
        bot_token: Callable[[], str],
        webhook_secret: Callable[[], str],
        base_url: str | None = None,
    ) -> None:
        self._http = http
        self._token = bot_token
        self._webhook_secret = webhook_secret
        self._api = (base_url or API_URL).rstrip("/")

    def create_checkout(self, order: CheckoutOrder) -> CheckoutLink:
        if order.kind != "pack" or order.currency != CURRENCY:
            raise errors.InvalidInput("Only credit packs are sold for Stars.")
        invoice = {
            "title": order.title[:32],
            "description": f"{order.title} for your account",
            "payload": invoice_payload(order.product_id, order.user_id),
            "currency": CURRENCY,
            "prices": [{"label": order.title[:32], "amount": order.amount}],
        }
        if order.chat_id:
            message = self._bot("sendInvoice", {"chat_id": order.chat_id, **invoice})
            return CheckoutLink(checkout_id=str((message or {}).get("message_id", "")), url="")
        link = self._bot("createInvoiceLink", invoice)
        return CheckoutLink(checkout_id=order.idempotency_key, url=str(link))

    def parse_delivery(self, body: bytes, headers: Mapping[str, str]) -> RailEvent:
        if not hmac.compare_digest(self._webhook_secret().encode(), header(headers, SECRET_HEADER).encode()):
            raise errors.SignatureInvalid("The webhook secret token is missing or wrong.")
        update = json_object(body, "Telegram update")
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise errors.InvalidInput("The webhook body is not a Telegram update.")
        query = update.get("pre_checkout_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            product_id, user_id = read_payload(query.get("invoice_payload"))
            return RailEvent(
                event_id=str(update_id),
                kind=EventKind.PRE_CHECKOUT,
                object_id=query["id"],
                user_id=user_id,
                offer_ref=product_id,
                amount=as_int(query.get("total_amount")),
                currency=query.get("currency") if isinstance(query.get("currency"), str) else None,
            )
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        for field in ("successful_payment", "refunded_payment"):
            payment = message.get(field)
            if isinstance(payment, dict) and isinstance(payment.get("telegram_payment_charge_id"), str):
                return RailEvent(str(update_id), EventKind.ORDER, payment["telegram_payment_charge_id"])
        return RailEvent(str(update_id), EventKind.IGNORED, None)

    def order(self, order_id: str) -> RailOrder:
        paid, refund = self._transactions(order_id)
        if paid is None:
            raise errors.NotFound("Telegram reports no Stars payment with this id.")
        source = paid.get("source") if isinstance(paid.get("source"), dict) else {}
        product_id, user_id = read_payload(source.get("invoice_payload"))
        buyer = source.get("user") if isinstance(source.get("user"), dict) else {}
        amount = as_int(paid.get("amount"))
        return RailOrder(
            order_id=order_id,
            status="paid",
            user_id=user_id,
            offer_ref=product_id,
            amount=amount,
            currency=CURRENCY,
            quantity=1,
            refunded_amount=(as_int(refund.get("amount"), 0) or 0) if refund else 0,
            customer_ref=str(buyer["id"]) if isinstance(buyer.get("id"), int) else None,
        )

    def subscription(self, subscription_id: str) -> RailSubscription:
        raise errors.NotFound("No Stars subscriptions are sold.")

    def answer_pre_checkout(self, event: RailEvent, ok: bool, error: str | None = None) -> None:
        answer: dict = {"pre_checkout_query_id": event.object_id, "ok": ok}
        if not ok:
            answer["error_message"] = error or "This purchase cannot be completed."
        self._bot("answerPreCheckoutQuery", answer)

    def refund(self, order: RailOrder, amount: int | None = None) -> ProcessorAck:
        if amount is not None and amount != order.amount:
            raise errors.InvalidInput("Stars payments are refunded in full only.")
        if not order.customer_ref:
            raise errors.InvalidInput("The buyer of this payment is unknown.")
        user = int(order.customer_ref)
        self._bot("refundStarPayment", {"user_id": user, "telegram_payment_charge_id": order.order_id})
        return ProcessorAck(self.title, "refund", order.order_id, True, 1)

    def cancel_subscriptions(self, customer_ref: str) -> ProcessorAck:
        nothing = "no Stars subscriptions are sold"
        return ProcessorAck(self.title, "cancel_subscriptions", customer_ref, True, 0, nothing)

    def delete_customer(self, customer_ref: str) -> ProcessorAck:
        return ProcessorAck(
            self.title, "delete_customer", customer_ref, True, 0, "Telegram keeps no customer record for a bot"
        )

    def send_message(self, chat_id: str, text: str) -> None:
        """The bot's answer in a chat (the BotMessenger port of the Telegram bot)."""
        self._bot("sendMessage", {"chat_id": chat_id, "text": text})

    def send_photo(self, chat_id: str, data: bytes, content_type: str, caption: str) -> None:
        """An image into a chat (BotMessenger.send_photo): the bytes go with the call."""
        from urllib3 import encode_multipart_formdata

        extension = content_type.rpartition("/")[2] or "png"
        fields = {
            "chat_id": chat_id,
            "caption": caption[:1024],  # Telegram's caption limit
            "photo": (f"image.{extension}", data, content_type),
        }
        body, multipart_type = encode_multipart_formdata(fields)
        response = self._http.request(
            "POST", f"{self._api}/bot{self._token()}/sendPhoto", headers={"Content-Type": multipart_type}, body=body
        )
        try:
            answer = json.loads(response.body or b"null")
        except ValueError:
            answer = None
        if response.status >= 300 or not isinstance(answer, dict) or answer.get("ok") is not True:
            raise errors.UpstreamUnavailable("Telegram refused the photo; please retry.")

    def _transactions(self, charge_id: str) -> tuple[dict | None, dict | None]:
        """The incoming payment with this id and its refund, if any."""
        paid = refund = None
        for page in range(MAX_PAGES):
            found = self._bot("getStarTransactions", {"offset": page * PAGE, "limit": PAGE}) or {}
            transactions = [t for t in found.get("transactions") or [] if isinstance(t, dict)]
            for transaction in transactions:
                if transaction.get("id") != charge_id:
                    continue
                if isinstance(transaction.get("source"), dict):
                    paid = transaction
                elif isinstance(transaction.get("receiver"), dict):
                    refund = transaction
            if len(transactions) < PAGE:
                break
        return paid, refund

    def _bot(self, method: str, payload: dict) -> object:
        answer = call(
            self._http,
            "POST",
            f"{self._api}/bot{self._token()}/{method}",
            headers={"Content-Type": "application/json"},
            payload=payload,
            what=method,
        )
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise errors.UpstreamUnavailable("Telegram refused the call; please retry.")
        return answer.get("result")
