"""Which sign-in methods the active profile enables. Email codes are on for every profile (ACC-1)."""

from __future__ import annotations

from chalicelib.errors import Forbidden
from chalicelib.profile.schema import Profile

ALWAYS_ENABLED = frozenset({"email_code"})


def enabled_methods(profile: Profile) -> frozenset[str]:
    return ALWAYS_ENABLED | frozenset(profile.sign_in.methods)


def require_method(profile: Profile, method: str) -> None:
    if method not in enabled_methods(profile):
        raise Forbidden(f"Sign-in method '{method}' is not offered by {profile.service.name}.")
