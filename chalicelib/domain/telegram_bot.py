"""The Kaleipix Telegram bot on the Bot API webhook (PAY-2, PAY-5, GEN-1, GEN-4): make an image from a
prompt, see the balance, buy credits with Stars, read where the policy and the privacy center are.
Updates reach it only after the webhook's secret token matched (the Telegram Stars rail checks it
first) and only when they are not payments.

The bot acts for the account linked to the sender's Telegram id (linked on the web with the
login-widget check, ACC-6). It keeps no message text and no chat history. `/imagine <prompt>` is a
generation like `POST /generations` (same content service: credits held, rate limit, restriction,
provider, GEN-3 binding, marking); the job records only that the bot asked (`reply_to`), and when the
job ends the bot sends the marked image, or what went wrong, to the chat of the Telegram account
linked at that moment. A private chat's id is its user's id, so nothing beyond the linked Telegram
ID is kept; unlinking stops deliveries.
"""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib import errors
from chalicelib.domain.generations import GenerationParams, MarkedMedia
from chalicelib.domain.payment_rails import RailBilling
from chalicelib.domain.ports.accounts import ACTIVE, Account
from chalicelib.domain.ports.bot import BotMessenger
from chalicelib.domain.ports.content import GenerationJob, JobStatus
from chalicelib.domain.ports.ledger import Ledger
from chalicelib.domain.ports.rights import Idempotency
from chalicelib.profile.schema import Profile

STARS = "telegram_stars"
CHANNEL = "telegram"  # a job's reply_to when the bot asked for it
IMAGINE = "/imagine"

_FAILURES = {
    "timed_out": "the image service did not answer in time",
    "cancelled": "it was cancelled",
    "provider_unavailable": "the image service is unavailable",
}


class LinkedAccounts(Protocol):
    def find_user_id_by_telegram(self, telegram_id: str) -> str | None: ...

    def get_user(self, user_id: str, *, consistent: bool = False) -> Account | None: ...


class BotContent(Protocol):
    """The content service's generation path, as `POST /generations` uses it."""

    def submit(
        self, user_id: str, params: GenerationParams, *, restricted: bool, objections: frozenset[str]
    ) -> dict: ...

    def default_model(self) -> str: ...

    def finished_media(self, user_id: str, gen_id: str) -> MarkedMedia: ...


class PersonLimiter(Protocol):
    def check_person(self, route_class: str, user_id: str) -> None: ...


class TelegramBot:
    def __init__(
        self,
        *,
        accounts: LinkedAccounts,
        ledger: Ledger,
        rails: RailBilling,
        messenger: BotMessenger,
        content: BotContent,
        limiter: PersonLimiter,
        idempotency: Idempotency,
        profile: Profile,
        public_base_url: str,
    ) -> None:
        self._accounts = accounts
        self._ledger = ledger
        self._rails = rails
        self._messenger = messenger
        self._content = content
        self._limiter = limiter
        self._idempotency = idempotency
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
        if command == IMAGINE:
            prompt = text.strip()[len(words[0]) :].strip()
            private = chat.get("type") == "private" and chat["id"] == sender["id"]
            self._messenger.send_message(chat_id, self._imagine(update.get("update_id"), user_id, prompt, private))
            return "imagine"
        self._messenger.send_message(
            chat_id, "Commands: /imagine <prompt>, /balance, /buy [starter|studio], /privacy."
        )
        return "help"

    # -- /imagine -------------------------------------------------------------------------------
    def _imagine(self, update_id: object, user_id: str, prompt: str, private: bool) -> str:
        """Submit the job (once per update: Telegram redelivers an update it saw no answer to) and
        say what happened. The chat is private: the image goes to the linked account's own chat."""
        if not private:
            return "Ask for images in a private chat with the bot: they are sent to you only."
        if not prompt:
            return "Tell me what to draw: /imagine a lighthouse at dusk"
        account = self._accounts.get_user(user_id, consistent=True)
        if account is None or account.status != ACTIVE:
            return self._link_text()
        try:
            self._limiter.check_person("generation", user_id)
            job = self._idempotency.run_once(
                self._submit,
                account,
                attempt={"update": f"telegram-update-{update_id}", "prompt": prompt},
                key="update",
                payload="update",  # update ids are unique: nothing derived from the prompt is kept
            )
        except errors.InsufficientCredits:
            return "You do not have enough credits for an image. Buy some with /buy."
        except errors.RateLimited as exc:
            return f"Too many images at once; try again in {exc.retry_after} seconds."
        except (errors.Restricted, errors.InvalidInput, errors.UpstreamUnavailable, errors.Conflict) as exc:
            return str(exc)
        return f"Making your image ({job['cost']} credits held). It will arrive in this chat."

    def _submit(self, account: Account, *, attempt: dict[str, Any]) -> dict:
        params = GenerationParams(prompt=attempt["prompt"], model=self._content.default_model(), reply_to=CHANNEL)
        job = self._content.submit(
            account.user_id, params, restricted=account.processing_restricted, objections=account.objections
        )
        return {"cost": job["cost"]}  # what a redelivery answers; no id of the person's job is kept

    def job_ended(self, job: GenerationJob) -> None:
        """The JobWatcher port: send the finished image, or why there is none, to the chat of the
        Telegram account linked now (none linked: nothing is sent; the image stays in the gallery)."""
        if job.reply_to != CHANNEL:
            return
        account = self._accounts.get_user(job.owner_id, consistent=True)
        if account is None or account.status != ACTIVE or not account.telegram_id:
            return
        chat_id = account.telegram_id
        if job.status == JobStatus.COMPLETED:
            media = self._content.finished_media(job.owner_id, job.gen_id)
            caption = f"Made with AI by {self._profile.service.name}."
            if job.stored_key:
                caption += " It is also in your gallery."
            self._messenger.send_photo(chat_id, media.data, media.content_type, caption)
            return
        reason = _FAILURES.get(job.failure or "", "the image service could not make it")
        self._messenger.send_message(
            chat_id, f"No image this time: {reason}. The {job.cost} credits held for it were returned."
        )

    # -- texts ----------------------------------------------------------------------------------
    def _privacy_text(self) -> str:
        channels = "; ".join(self._profile.rights.channels)
        return (
            f"Privacy policy: {self._base_url}/policy\n"
            f"Your rights (access, erasure and more): {channels}.\n"
            "This bot keeps no messages; your prompts and images are kept as the policy says, "
            "and purchases are recorded as it says."
        )

    def _link_text(self) -> str:
        return (
            f"Link this Telegram account to your {self._profile.service.name} account first: sign in on "
            f"{self._profile.service.website} and choose Link Telegram in your profile."
        )
