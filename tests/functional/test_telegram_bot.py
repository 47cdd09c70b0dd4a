"""The Kaleipix Telegram bot on its webhook (PAY-2, PAY-5): an unlinked sender is told to link, a
linked one sees the balance, buys a pack with Stars (Telegram asks first, then pays) and reads where
the policy is; updates without the secret token reach nobody. Runs on the Bot API emulator and the
in-memory ledger."""

from __future__ import annotations

import pytest

from chalicelib.domain.telegram_bot import TelegramBot
from chalicelib.profile.loader import load_profile
from tests.support.rails import rail_world

LINKED_TELEGRAM_ID = 4242


class _Linked:
    def __init__(self, links: dict[str, str]) -> None:
        self._links = links

    def find_user_id_by_telegram(self, telegram_id: str) -> str | None:
        return self._links.get(telegram_id)

    def get_user(self, user_id: str, *, consistent: bool = False):
        return None  # /imagine is covered by tests/domain/test_telegram_bot_imagine.py


@pytest.fixture
def world():
    world = rail_world("telegram_stars")
    world.bot = TelegramBot(
        accounts=_Linked({str(LINKED_TELEGRAM_ID): "kp-user-1"}),
        ledger=world.ledger,
        rails=world.billing,
        messenger=world.adapter,
        content=None,  # generation: tests/domain/test_telegram_bot_imagine.py, test_telegram_bot_generation.py
        limiter=None,
        idempotency=None,
        profile=load_profile("kaleipix"),
        public_base_url="https://api.kaleipix.test",
    )
    return world


def _say(world, telegram_id: int, text: str) -> list[dict]:
    """The user writes to the bot; returns what the bot sent back."""
    before = len(world.emulator.sent)
    world.emulator.user_message(telegram_id, text)
    world.flush()
    return world.emulator.sent[before:]


def test_an_unlinked_sender_is_told_to_link_and_sees_no_balance(world):
    (reply,) = _say(world, 777, "/balance")
    assert "Link this Telegram account" in reply["text"]
    assert "credits" not in reply["text"]


def test_pay2_pay5_a_linked_user_buys_credits_with_stars_in_the_bot(world):
    (reply,) = _say(world, LINKED_TELEGRAM_ID, "/balance")
    assert reply["text"] == "Your balance: 0 credits."
    (invoice,) = _say(world, LINKED_TELEGRAM_ID, "/buy studio")
    assert (invoice["method"], invoice["chat_id"]) == ("sendInvoice", str(LINKED_TELEGRAM_ID))
    paid = world.emulator.pay(invoice["slug"], LINKED_TELEGRAM_ID)
    assert paid["paid"] is True
    world.flush()
    (reply,) = _say(world, LINKED_TELEGRAM_ID, "/balance")
    assert reply["text"] == "Your balance: 500 credits."
    assert world.ledger.balance("kp-user-1") == 500


def test_privacy_names_the_policy_and_the_rights_channels(world):
    (reply,) = _say(world, 777, "/privacy")
    assert "https://api.kaleipix.test/policy" in reply["text"]
    assert "the privacy page of your account" in reply["text"]


def test_an_update_without_the_secret_token_reaches_nobody(world):
    world.capturing = True
    world.emulator.user_message(LINKED_TELEGRAM_ID, "/balance")
    world.flush()
    ((body, headers),) = world.captured
    assert world.handle(body, {**headers, "X-Telegram-Bot-Api-Secret-Token": "guess"}) == "signature_invalid"
    assert world.emulator.sent == []
