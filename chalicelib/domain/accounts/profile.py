"""Reading and correcting one's own profile and preferences (ACC-8, DSR-3)."""

from __future__ import annotations

from chalicelib.domain.ports.accounts import Account, AccountStore, Preferences, ProfileCorrection
from chalicelib.errors import InvalidInput, NotFound

NOTIFICATION_KINDS = frozenset({"product_updates", "billing", "generation_done", "policy_changes"})


def profile_view(user: Account) -> dict:
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
            "notifications": dict(prefs.notifications) if prefs else {},
        },
        "processing": {
            "restricted": bool(user.processing_restricted),
            "objections": sorted(user.objections or ()),
        },
        "created_at": user.created_at.isoformat(),
    }


def merged_preferences(user: Account, *, language=None, theme=None, notifications=None) -> Preferences | None:
    """The full preferences after a partial change, or None when nothing changes."""
    if language is None and theme is None and notifications is None:
        return None
    current = user.preferences or Preferences()
    wanted = dict(current.notifications)
    if notifications is not None:
        unknown = sorted(set(notifications) - NOTIFICATION_KINDS)
        if unknown:
            raise InvalidInput(
                "Unknown notification settings.", details={"unknown": unknown, "allowed": sorted(NOTIFICATION_KINDS)}
            )
        wanted.update(notifications)
    return Preferences(
        language=current.language if language is None else language,
        theme=current.theme if theme is None else theme,
        notifications=tuple(sorted(wanted.items())),
    )


def fresh_user(store: AccountStore, user_id: str) -> Account:
    user = store.get_user(user_id, consistent=True)
    if user is None:
        raise NotFound("No such account.")
    return user


def update_profile(
    store: AccountStore,
    user_id: str,
    *,
    username=None,
    display_name=None,
    language=None,
    theme=None,
    notifications=None,
) -> dict:
    """Apply a partial correction to the freshest copy of the user (its version guards the write)."""
    user = fresh_user(store, user_id)
    preferences = merged_preferences(user, language=language, theme=theme, notifications=notifications)
    store.update_profile(user, ProfileCorrection(username=username, display_name=display_name, preferences=preferences))
    return profile_view(fresh_user(store, user_id))
