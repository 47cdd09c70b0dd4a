"""What the Telegram bot needs from the world besides accounts, credits and generation: a way to
answer in a chat (the Bot API's sendMessage and sendPhoto)."""

from __future__ import annotations

from typing import Protocol


class BotMessenger(Protocol):
    def send_message(self, chat_id: str, text: str) -> None: ...

    def send_photo(self, chat_id: str, data: bytes, content_type: str, caption: str) -> None:
        """The image's bytes uploaded with the message (multipart): no URL to our storage leaves."""
