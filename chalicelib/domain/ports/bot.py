"""What the Telegram bot needs from the world besides accounts and credits: a way to answer in a
chat (the Bot API's sendMessage)."""

from __future__ import annotations

from typing import Protocol


class BotMessenger(Protocol):
    def send_message(self, chat_id: str, text: str) -> None: ...
