"""Dependencies, built lazily on first use and cached: stores, gateways, the active profile.

Handlers ask here; domain functions receive what they need as arguments. Tests call `reset()`
after changing the environment.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.profile.schema import Profile


@lru_cache(maxsize=1)
def profile() -> Profile:
    from chalicelib.profile.loader import load_profile

    return load_profile(get_settings().profile)


@lru_cache(maxsize=1)
def bound_models() -> None:
    """Point the pynamodb models at this deployment's tables and the profile's retention."""
    from chalicelib.store.base import bind

    settings = get_settings()
    bind(resource_prefix=settings.resource_prefix, region=settings.region, profile=profile())


def reset() -> None:
    """Forget every cached dependency (tests, and the local cloud after changing settings)."""
    import sys

    get_settings.cache_clear()
    module = sys.modules[__name__]
    for value in vars(module).values():
        if callable(getattr(value, "cache_clear", None)) and value is not get_settings:
            value.cache_clear()


@lru_cache(maxsize=1)
def email():
    import boto3

    from chalicelib.gateways.email import EmailGateway

    settings = get_settings()
    return EmailGateway(client=boto3.client("ses", region_name=settings.region), sender=settings.email_sender)
