"""Which sign-in methods the active profile enables: exactly its `sign_in.methods` (OPS-1).

A method the policy page does not offer answers 404 in the one error shape, as if its routes did not
exist: PromptPixels offers Google only, so its e-mail code routes are not there.
"""

from __future__ import annotations

from chalicelib.errors import NotFound
from chalicelib.profile.schema import Profile


def enabled_methods(profile: Profile) -> frozenset[str]:
    return frozenset(profile.sign_in.methods)


def require_method(profile: Profile, method: str) -> None:
    if method not in enabled_methods(profile):
        raise NotFound(f"Sign-in method '{method}' is not offered by {profile.service.name}.")
