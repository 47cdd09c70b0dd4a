"""Payment rails behind the payments port (chalicelib/domain/ports/payments.py): Polar, Lemon
Squeezy and Telegram Stars, over their real HTTP protocols (PAY-5). Stripe keeps its SDK adapter
(chalicelib/gateways/stripe_gateway.py)."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.gateways.providers.common import Http


def create_rail(name: str, *, http: Http, secret: Callable[[str], str], base_url: str | None, store_id: str):
    """The adapter of one rail. Secrets are read on first use, from Secrets Manager in AWS (`secret`)."""
    if name == "polar":
        from chalicelib.gateways.payments.polar import PolarRail

        return PolarRail(
            http=http,
            access_token=lambda: secret("polar-access-token"),
            webhook_secret=lambda: secret("polar-webhook-secret"),
            base_url=base_url,
        )
    if name == "lemonsqueezy":
        from chalicelib.gateways.payments.lemonsqueezy import LemonSqueezyRail

        return LemonSqueezyRail(
            http=http,
            api_key=lambda: secret("lemonsqueezy-api-key"),
            webhook_secret=lambda: secret("lemonsqueezy-webhook-secret"),
            store_id=store_id,
            base_url=base_url,
        )
    if name == "telegram_stars":
        from chalicelib.gateways.payments.telegram_stars import TelegramStarsRail

        return TelegramStarsRail(
            http=http,
            bot_token=lambda: secret("telegram-bot-token"),
            webhook_secret=lambda: secret("telegram-webhook-secret"),
            base_url=base_url,
        )
    raise ValueError(f"Unknown payment rail {name!r}")
