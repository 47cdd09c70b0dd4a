"""Runtime settings, read lazily from the environment.

Nothing here runs at import time: `get_settings()` reads the environment on first use and
tests call `get_settings.cache_clear()` after changing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGE = "local"


@dataclass(frozen=True)
class Settings:
    stage: str
    profile: str
    region: str
    resource_prefix: str
    public_base_url: str
    export_state_machine_arn: str
    erasure_state_machine_arn: str
    hold_state_machine_arn: str  # DSR-12
    notices_state_machine_arn: str  # OPS-2: the e-mail fan-out of a policy version
    secret_prefix: str  # Secrets Manager names: <prefix>/<secret>
    email_sender: str
    grace_days_override: int | None
    stripe_api_base: str | None  # None: Stripe itself; locally, the embedded emulator
    provider: str  # model provider adapter: "fal" | "replicate" | "runpod"
    provider_base_url: str | None  # None: the provider's own URL; locally, the embedded provider
    # The web app's origin when it is served from another host than the API (CORS); "" for none.
    cors_origin: str = ""
    app_url: str = ""  # the web app's address (where the pay page sends a browser back); "": {public}/app/
    # The other payment rails' API bases (None: the processor itself; locally, its emulator).
    polar_api_base: str | None = None
    lemonsqueezy_api_base: str | None = None
    telegram_api_base: str | None = None
    lemonsqueezy_store_id: str = "1"  # the store checkouts are created in (not a secret)
    # Items or keys an export or erasure task reads per invocation (P3): far inside Lambda's 15 minutes.
    page_items: int = 1000

    def table_name(self, logical: str) -> str:
        return f"{self.resource_prefix}-{logical}"

    def bucket_name(self, logical: str) -> str:
        return f"{self.resource_prefix}-{logical}"

    def queue_name(self, logical: str) -> str:
        return f"{self.resource_prefix}-{logical}"

    def secret_name(self, secret: str) -> str:
        return f"{self.secret_prefix}/{secret}"


def _optional_int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    stage = env.get("PIXELKEEP_STAGE", LOCAL_STAGE)
    prefix = env.get("PIXELKEEP_RESOURCE_PREFIX", f"pixelkeep-{stage}")
    return Settings(
        stage=stage,
        profile=env.get("PIXELKEEP_PROFILE", "kaleipix"),
        region=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        resource_prefix=prefix,
        public_base_url=env.get("PIXELKEEP_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        export_state_machine_arn=env.get("PIXELKEEP_EXPORT_STATE_MACHINE_ARN", ""),
        erasure_state_machine_arn=env.get("PIXELKEEP_ERASURE_STATE_MACHINE_ARN", ""),
        hold_state_machine_arn=env.get("PIXELKEEP_HOLD_STATE_MACHINE_ARN", ""),
        notices_state_machine_arn=env.get("PIXELKEEP_NOTICES_STATE_MACHINE_ARN", ""),
        secret_prefix=env.get("PIXELKEEP_SECRET_PREFIX", prefix),
        email_sender=env.get("PIXELKEEP_EMAIL_SENDER", "no-reply@pixelkeep.local"),
        # Local cloud only: shortens the erasure grace period so a demo runs in minutes.
        grace_days_override=_optional_int(env.get("PIXELKEEP_GRACE_DAYS_OVERRIDE")),
        stripe_api_base=env.get("PIXELKEEP_STRIPE_API_BASE") or None,
        provider=env.get("PIXELKEEP_MODEL_PROVIDER", "fal"),
        provider_base_url=env.get("PIXELKEEP_PROVIDER_BASE_URL") or None,
        cors_origin=env.get("PIXELKEEP_CORS_ORIGIN", "").rstrip("/"),
        app_url=env.get("PIXELKEEP_APP_URL", ""),
        polar_api_base=env.get("PIXELKEEP_POLAR_API_BASE") or None,
        lemonsqueezy_api_base=env.get("PIXELKEEP_LEMONSQUEEZY_API_BASE") or None,
        page_items=int(env.get("PIXELKEEP_PAGE_ITEMS") or 1000),
        telegram_api_base=env.get("PIXELKEEP_TELEGRAM_API_BASE") or None,
        lemonsqueezy_store_id=env.get("PIXELKEEP_LEMONSQUEEZY_STORE_ID", "1"),
    )
