"""Driving generations through the domain functions, with the real stores and the embedded provider."""

from __future__ import annotations

from urllib.parse import urlsplit

from chalicelib import wiring
from chalicelib.domain import generations


def fund(user_id: str, credits: int) -> None:
    wiring.ledger().grant(user_id, credits, f"test-grant-{user_id}-{credits}", "test")


def submit(user_id: str, *, restricted: bool = False, objections=frozenset(), **params) -> dict:
    values = {"prompt": "a lighthouse at dusk", "model": "flux-schnell", **params}
    return generations.submit(
        user_id=user_id,
        restricted=restricted,
        objections=frozenset(objections),
        params=generations.GenerationParams(**values),
        content=wiring.content(),
        objects=wiring.objects(),
        ledger=wiring.ledger(),
        provider=wiring.provider(),
        profile=wiring.profile(),
        public_base_url=wiring.get_settings().public_base_url,
    )


def deliver(url: str, headers: dict, body: bytes) -> dict:
    """What the webhook route does with one delivery."""
    _, _, _, provider_name, job_token = urlsplit(url).path.split("/")
    return generations.handle_delivery(
        provider_name=provider_name,
        job_token=job_token,
        headers=headers,
        body=body,
        content=wiring.content(),
        objects=wiring.objects(),
        ledger=wiring.ledger(),
        provider=wiring.provider(),
        profile=wiring.profile(),
    )


def run_provider(world) -> list[dict]:
    """The provider renders every queued job; its webhooks are then delivered in order."""
    world.emulator.flush()
    results = [deliver(*call) for call in world.delivered]
    world.delivered.clear()
    return results


def status(user_id: str, gen_id: str) -> dict:
    return generations.status(
        user_id=user_id, gen_id=gen_id, content=wiring.content(), ledger=wiring.ledger(), profile=wiring.profile()
    )
