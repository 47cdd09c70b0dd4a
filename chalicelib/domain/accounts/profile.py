"""Reading and correcting one's own profile and preferences (ACC-8, DSR-3)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import InvalidInput

NOTIFICATION_KINDS = frozenset({"product_updates", "billing", "generation_done", "policy_changes"})


def profile_view(user: Any) -> dict:
    prefs = user.preferences
    return {
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": bool(user.email_verified),
        "username": user.username,
        "display_name": user.display_name,
        "picture": user.picture,
        "telegram_linked": bool(user.telegram_id),
        "password_set": bool(user.password_hash),
        "preferences": {
            "language": prefs.language if prefs else None,
            "theme": prefs.theme if prefs else None,
            "notifications": dict(prefs.notifications.as_dict()) if prefs and prefs.notifications else {},
        },
        "processing": {
            "restricted": bool(user.processing_restricted),
            "objections": sorted(user.objections or ()),
        },
        "created_at": user.created_at.isoformat(),
    }


def merged_preferences(user: Any, *, language=None, theme=None, notifications=None) -> dict | None:
    """The full preferences after a partial change, or None when nothing changes."""
    if language is None and theme is None and notifications is None:
        return None
    current = profile_view(user)["preferences"]
    if notifications is not None:
        unknown = sorted(set(notifications) - NOTIFICATION_KINDS)
        if unknown:
            raise InvalidInput(
                "Unknown notification settings.", details={"unknown": unknown, "allowed": sorted(NOTIFICATION_KINDS)}
            )
        current["notifications"] = {**current["notifications"], **notifications}
    if language is not None:
        current["language"] = language
    if theme is not None:
        current["theme"] = theme
    return current


def update_profile(
    store: Any, user_id: str, *, username=None, display_name=None, language=None, theme=None, notifications=None
) -> dict:
    """Apply a partial correction to the freshest copy of the user (its version guards the write)."""
    user = store.get_user(user_id, consistent=True)
    preferences = merged_preferences(user, language=language, theme=theme, notifications=notifications)
    store.update_profile(user, username=username, display_name=display_name, preferences=preferences)
    return profile_view(store.get_user(user_id, consistent=True))
