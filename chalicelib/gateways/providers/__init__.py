"""Model providers: one port (ModelProvider), three real protocols (fal.ai, Replicate, RunPod).

A job's parameters go only to the provider that runs it (GEN-1); its result comes back by a
webhook the adapter authenticates in the provider's own way (GEN-3).
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.ports.content import ModelProvider
from chalicelib.gateways.providers.common import Http

PROVIDERS = ("fal", "replicate", "runpod")


def create_provider(name: str, *, http: Http, secret: Callable[[str], str], base_url: str | None) -> ModelProvider:
    if name == "fal":
        from chalicelib.gateways.providers.fal import FalProvider

        return FalProvider(
            http=http,
            api_key=lambda: secret("fal-api-key"),
            account_id=lambda: secret("fal-user-id"),
            admin_key=lambda: secret("fal-admin-api-key"),
            base_url=base_url,
        )
    if name == "replicate":
        from chalicelib.gateways.providers.replicate import ReplicateProvider

        return ReplicateProvider(
            http=http,
            api_token=lambda: secret("replicate-api-token"),
            webhook_secret=lambda: secret("replicate-webhook-secret"),
            base_url=base_url,
        )
    if name == "runpod":
        from chalicelib.gateways.providers.runpod import RunPodProvider

        return RunPodProvider(http=http, api_key=lambda: secret("runpod-api-key"), base_url=base_url)
    raise ValueError(f"unknown model provider '{name}'; choose one of {PROVIDERS}")
