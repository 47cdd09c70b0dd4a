"""What a user sees of their credits (PAY-2): balance and the ledger's movements, newest first."""

from __future__ import annotations

from typing import Any


def ledger_page(user_id: str, *, ledger: Any, limit: int = 50, cursor: str | None = None) -> dict:
    entries, next_cursor = ledger.entries(user_id, limit=limit, cursor=cursor)
    return {"balance": ledger.balance(user_id), "entries": entries, "next_cursor": next_cursor}
