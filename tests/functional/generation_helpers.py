"""Driving generations through the content service, with the real stores and the embedded provider."""

from __future__ import annotations

from urllib.parse import urlsplit

from chalicelib import wiring
from chalicelib.domain import generations


def fund(user_id: str, credits: int) -> None:
    wiring.ledger().grant(user_id, credits, f"test-grant-{user_id}-{credits}", "test")


def submit(user_id: str, *, restricted: bool = False, objections=frozenset(), **params) -> dict:
    values = {"prompt": "a lighthouse at dusk", "model": "flux-schnell", **params}
    return wiring.content_service().submit(
        user_id,
        generations.GenerationParams(**values),
        restricted=restricted,
        objections=frozenset(objections),
    )


def deliver(url: str, headers: dict, body: bytes) -> dict:
    """What the webhook route does with one delivery."""
    _, _, _, provider_name, job_token = urlsplit(url).path.split("/")
    return wiring.content_service().provider_delivery(provider_name, job_token, headers, body)


def run_provider(world) -> list[dict]:
    """The provider renders every queued job; its webhooks are then delivered in order."""
    world.emulator.flush()
    results = [deliver(*call) for call in world.delivered]
    world.delivered.clear()
    return results


def status(user_id: str, gen_id: str) -> dict:
    return wiring.content_service().generation_status(user_id, gen_id)
