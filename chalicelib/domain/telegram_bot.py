"""The Kaleipix Telegram bot on the Bot API webhook (PAY-2, PAY-5): see the balance, buy credits with
Stars, read where the policy and the privacy center are. Updates reach it only after the webhook's
secret token matched (the Telegram Stars rail checks it first) and only when they are not payments.

The bot acts for the account linked to the sender's Telegram id (linked on the web with the
login-widget check, ACC-6); it stores nothing of its own: no message text, no chat history.
"""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.payment_rails import RailBilling
from chalicelib.domain.ports.billing import Ledger
from chalicelib.domain.ports.bot import BotMessenger
from chalicelib.profile.schema import Profile

STARS = "telegram_stars"


class LinkedAccounts(Protocol):
    def find_user_id_by_telegram(self, telegram_id: str) -> str | None: ...


class TelegramBot:
    def __init__(
        self,
        *,
        accounts: LinkedAccounts,
        ledger: Ledger,
        rails: RailBilling,
        messenger: BotMessenger,
        profile: Profile,
        public_base_url: str,
    ) -> None:
        self._accounts = accounts
        self._ledger = ledger
        self._rails = rails
        self._messenger = messenger
        self._profile = profile
        self._base_url = public_base_url

    def handle_update(self, update: dict[str, Any]) -> str:
        """Answer one message; returns the command handled ("ignored" for anything else)."""
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        text = message.get("text")
        if not isinstance(text, str) or not isinstance(sender.get("id"), int) or not isinstance(chat.get("id"), int):
            return "ignored"
        words = text.strip().split()
        command = words[0].split("@", 1)[0].lower() if words else ""
        chat_id = str(chat["id"])
        if command == "/privacy":
            self._messenger.send_message(chat_id, self._privacy_text())
            return "privacy"
        user_id = self._accounts.find_user_id_by_telegram(str(sender["id"]))
        if user_id is None:
            self._messenger.send_message(chat_id, self._link_text())
            return "link"
        if command == "/balance":
            self._messenger.send_message(chat_id, f"Your balance: {self._ledger.balance(user_id)} credits.")
            return "balance"
        if command == "/buy":
            product = words[1].lower() if len(words) > 1 else "starter"
            attempt = f"bot-{update.get('update_id')}"
            self._rails.start_checkout(STARS, user_id, product, attempt, chat_id=chat_id)
            return "buy"
        self._messenger.send_message(chat_id, "Commands: /balance, /buy [starter|studio], /privacy.")
        return "help"

    def _privacy_text(self) -> str:
        channels = "; ".join(self._profile.rights.channels)
        return (
            f"Privacy policy: {self._base_url}/policy\n"
            f"Your rights (access, erasure and more): {channels}.\n"
            "This bot keeps no messages; purchases are recorded as the policy says."
        )

    def _link_text(self) -> str:
        return (
            f"Link this Telegram account to your {self._profile.service.name} account first: sign in on "
            f"{self._profile.service.website} and choose Link Telegram in your profile."
        )
