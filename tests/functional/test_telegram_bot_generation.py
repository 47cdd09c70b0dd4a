"""The Kaleipix bot's /imagine through the API on moto (GEN-1, GEN-3, GEN-4, PAY-2): the update reaches
`/webhooks/telegram`, the job runs at the embedded fal-protocol provider, its signed callback reaches
`/webhooks/providers/...`, and the Bot API emulator receives a sendPhoto whose bytes, fetched back with
getFile, carry the AI-generated marking and nothing of the person. Both emulators run in-process."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from chalicelib import wiring
from infra.local_secrets import LOCAL_SECRETS
from tests.functional import content_world
from tests.functional.generation_helpers import fund
from tests.support.auth import stored_user
from tests.support.marking import assert_marked_ai_generated
from tests.support.rails import WsgiHttp

world = content_world.world  # the provider fixture
TELEGRAM_ID = 5550202
PROMPT = "a lighthouse at dusk"


@pytest.fixture
def profile_name() -> str:
    return "kaleipix"


@pytest.fixture
def telegram(world, client, monkeypatch):
    """The Bot API emulator in-process; its updates reach the app through chalice.test.Client."""
    from tests.support.rails import _emulator_app

    def deliver(body: bytes, headers: dict) -> int:
        return client.http.post("/webhooks/telegram", body=body, headers=headers).status_code

    app = _emulator_app("telegram_stars", deliver)
    monkeypatch.setenv("PIXELKEEP_TELEGRAM_API_BASE", "http://rail.test")
    wiring.reset()
    wiring.bound_models()
    http = WsgiHttp(app)
    monkeypatch.setattr(wiring, "payments_http", lambda: http)
    app.http = http
    return app


def _linked_user(credits: int) -> str:
    user = stored_user()
    store = wiring.accounts_store()
    store.link_telegram(store.get_user(user.user_id, consistent=True), str(TELEGRAM_ID))
    if credits:
        fund(user.user_id, credits)
    return user.user_id


def _say(telegram, text: str) -> list[dict]:
    before = len(telegram.emulator.sent)
    telegram.emulator.user_message(TELEGRAM_ID, text)
    telegram.emulator.deliveries.flush()
    return telegram.emulator.sent[before:]


def _run_provider(world, client) -> list[int]:
    """The provider renders the queued jobs; its signed callbacks go to the webhook route."""
    world.emulator.flush()
    statuses = [
        client.http.post(urlsplit(url).path, body=body, headers=headers).status_code
        for url, headers, body in world.delivered
    ]
    world.delivered.clear()
    return statuses


def _photo_bytes(telegram, photo: dict) -> bytes:
    """The photo back from the Bot API, as a client gets a file: getFile, then its file_path."""
    token = LOCAL_SECRETS["telegram-bot-token"]
    found = telegram.http.request(
        "POST",
        f"http://rail.test/bot{token}/getFile",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"file_id": photo["file_id"]}).encode(),
    ).json()
    return telegram.http.request("GET", f"http://rail.test/file/bot{token}/{found['result']['file_path']}").body


def test_gen4_pay2_a_prompt_to_the_bot_comes_back_as_a_marked_photo_in_the_chat(world, telegram, client):
    user_id = _linked_user(credits=5)
    (working,) = _say(telegram, f"/imagine {PROMPT}")
    assert working["method"] == "sendMessage"
    assert "credits held" in working["text"]
    assert wiring.ledger().balance(user_id) == 4  # PAY-2: the kind's price held, as for POST /generations
    assert _run_provider(world, client) == [200]

    (photo,) = [m for m in telegram.emulator.sent if m["method"] == "sendPhoto"]
    assert photo["chat_id"] == str(TELEGRAM_ID)
    assert "Made with AI by Kaleipix" in photo["caption"]
    data = _photo_bytes(telegram, photo["photo"][-1])
    assert_marked_ai_generated(
        data, "image/png", model="flux-schnell", provider="fal.ai", absent=(user_id, str(TELEGRAM_ID), PROMPT)
    )
    (_image,) = wiring.content_service().list_images(user_id, limit=10, cursor=None)["items"]  # CNT-3: kept
    assert wiring.ledger().balance(user_id) == 4


def test_gen3_a_replayed_callback_sends_no_second_photo(world, telegram, client):
    _linked_user(credits=1)
    _say(telegram, f"/imagine {PROMPT}")
    world.emulator.flush()
    ((url, headers, body),) = world.delivered
    path = urlsplit(url).path
    assert client.http.post(path, body=body, headers=headers).status_code == 200
    assert client.http.post(path, body=body, headers=headers).status_code == 200
    forged = body.replace(b"}", b', "forged": true}', 1)
    refused = client.http.post(path, body=forged, headers=headers)
    assert (refused.status_code, refused.json_body["error"]["code"]) == (400, "signature_invalid")
    assert len([m for m in telegram.emulator.sent if m["method"] == "sendPhoto"]) == 1


def test_pay2_without_credits_the_bot_generates_nothing(world, telegram, client):
    user_id = _linked_user(credits=0)
    (reply,) = _say(telegram, f"/imagine {PROMPT}")
    assert "/buy" in reply["text"]
    world.emulator.flush()
    assert world.delivered == []
    assert wiring.content_service().list_generations(user_id, kind=None, limit=10, cursor=None)["items"] == []
