"""The Kaleipix bot's /imagine on the in-memory ports: a prompt becomes a job through the same content
service as `POST /generations` (GEN-1 provider, PAY-2 credit hold, DSR-5 restriction, the generation
rate limit), and when the job ends the bot sends the marked image (GEN-4) or says why there is none
and that the credits returned, to the chat of the Telegram account linked at that moment (GEN-3: a
forged or repeated callback sends nothing more)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock
from chalicelib.domain.accounts.abuse import ROUTE_LIMITS, RateLimiter
from chalicelib.domain.ports.accounts import DISABLED, Account
from chalicelib.domain.ports.content import JobStatus
from chalicelib.domain.telegram_bot import TelegramBot
from chalicelib.profile.schema import JobKind
from tests.domain.content_kit import COSTS, kit, png
from tests.fakes.accounts import FakeAbuseStore
from tests.fakes.content import FakeMarker
from tests.fakes.rights import FakeIdempotency

TELEGRAM_ID = 5550101
USER = "kp-user-1"
COST = COSTS[JobKind.TEXT_TO_IMAGE]


@dataclass
class Messenger:
    messages: list[tuple[str, str]] = field(default_factory=list)
    photos: list[tuple[str, bytes, str, str]] = field(default_factory=list)

    def send_message(self, chat_id: str, text: str) -> None:
        self.messages.append((chat_id, text))

    def send_photo(self, chat_id: str, data: bytes, content_type: str, caption: str) -> None:
        self.photos.append((chat_id, data, content_type, caption))


class Accounts:
    def __init__(self) -> None:
        created = datetime(2026, 11, 1, tzinfo=timezone.utc)
        self.users = {USER: Account(USER, "kai@example.test", created, telegram_id=str(TELEGRAM_ID))}

    def find_user_id_by_telegram(self, telegram_id: str) -> str | None:
        return next((u.user_id for u in self.users.values() if u.telegram_id == telegram_id), None)

    def get_user(self, user_id: str, *, consistent: bool = False) -> Account | None:
        return self.users.get(user_id)

    def change(self, **values) -> None:
        self.users[USER] = replace(self.users[USER], **values)


class World:
    def __init__(self) -> None:
        self.messenger = Messenger()
        self.accounts = Accounts()
        self.content = kit("kaleipix", watcher=lambda: self.bot)
        self.bot = TelegramBot(
            accounts=self.accounts,
            ledger=self.content.holds,
            rails=None,  # purchases are tested in tests/functional/test_telegram_bot.py
            messenger=self.messenger,
            content=self.content.service,
            limiter=RateLimiter(FakeAbuseStore(), lambda: "local-ip-hash-key"),
            idempotency=FakeIdempotency(),
            profile=self.content.profile,
            public_base_url="https://api.kaleipix.test",
        )
        self.updates = 0

    def say(self, text: str, *, sender: int = TELEGRAM_ID, chat: int | None = None, chat_type: str = "private"):
        """A user's message as Telegram delivers it; returns the bot's text replies to it."""
        self.updates += 1
        return self.deliver(self.updates, text, sender=sender, chat=chat, chat_type=chat_type)

    def deliver(self, update_id: int, text: str, *, sender: int = TELEGRAM_ID, chat=None, chat_type="private"):
        before = len(self.messenger.messages)
        chat_id = sender if chat is None else chat
        message = {"from": {"id": sender}, "chat": {"id": chat_id, "type": chat_type}, "text": text}
        self.bot.handle_update({"update_id": update_id, "message": message})
        return [text for _, text in self.messenger.messages[before:]]

    def grant(self, credits: int) -> None:
        self.content.holds.grant(USER, credits, f"grant-{credits}-{self.updates}", "test")

    def only_job(self):
        ((request, _),) = self.content.provider.submitted
        return self.content.records.job(request.gen_id)

    def callback(self, gen_id: str, **values):
        return self.content.service.provider_delivery("fal", *self.content.provider.callback(gen_id, **values))


@pytest.fixture
def world() -> World:
    return World()


def test_gen1_pay2_gen4_imagine_holds_credits_runs_the_job_and_sends_the_marked_image_to_the_chat(world):
    world.grant(COST + 2)
    (reply,) = world.say("/imagine a lighthouse at dusk")
    assert reply == f"Making your image ({COST} credits held). It will arrive in this chat."
    job = world.only_job()
    request, _ = world.content.provider.submitted[0]
    assert (request.prompt, request.model, job.owner_id, job.reply_to) == (
        "a lighthouse at dusk",
        "flux-schnell",
        USER,
        "telegram",
    )
    assert world.content.holds.hold_state(job.gen_id) == "held"
    assert world.content.holds.balance(USER) == 2
    assert world.messenger.photos == []

    assert world.callback(job.gen_id, image=png())["changed"] is True
    ((chat_id, data, content_type, caption),) = world.messenger.photos
    assert chat_id == str(TELEGRAM_ID)  # a private chat's id is its user's: the linked Telegram ID
    assert content_type == "image/png"
    assert data.endswith(FakeMarker.trailer(world.content.marker.marked[0][1]))  # GEN-4: marked before sent
    assert "Made with AI by Kaleipix" in caption
    assert "gallery" in caption
    assert world.content.holds.hold_state(job.gen_id) == "committed"
    assert world.content.service.get_image(USER, job.gen_id)["id"] == job.gen_id  # CNT-3: kept in the gallery


def test_gen3_a_repeated_or_forged_callback_sends_no_second_photo(world):
    world.grant(COST)
    world.say("/imagine two foxes")
    job = world.only_job()
    token, headers, body = world.content.provider.callback(job.gen_id, image=png())
    world.content.service.provider_delivery("fal", token, headers, body)
    assert world.content.service.provider_delivery("fal", token, headers, body)["changed"] is False
    with pytest.raises(Exception, match="signature"):
        world.content.service.provider_delivery("fal", token, {"x-fake-signature": "forged"}, body)
    assert len(world.messenger.photos) == 1


def test_gen1_a_failed_job_is_reported_and_its_credits_return(world):
    world.grant(COST)
    world.say("/imagine a storm")
    job = world.only_job()
    world.callback(job.gen_id, succeeded=False)
    assert world.content.holds.balance(USER) == COST
    assert world.messenger.photos == []
    assert world.messenger.messages[-1] == (
        str(TELEGRAM_ID),
        f"No image this time: the image service could not make it. The {COST} credits held for it were returned.",
    )


def test_gen1_a_job_that_times_out_is_reported_and_its_credits_return(world, monkeypatch):
    world.grant(COST)
    world.say("/imagine a slow one")
    job = world.only_job()
    later = clock.now() + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    world.content.service.deadline_passed(job.gen_id)
    assert world.content.records.job(job.gen_id).status == JobStatus.FAILED
    assert world.content.holds.balance(USER) == COST
    assert "did not answer in time" in world.messenger.messages[-1][1]


def test_pay2_without_credits_nothing_reaches_the_provider_and_the_user_is_pointed_to_buy(world):
    (reply,) = world.say("/imagine a castle")
    assert "/buy" in reply
    assert world.content.provider.submitted == []


def test_dsr5_a_restricted_account_or_an_objection_generates_nothing(world):
    world.grant(COST * 2)
    world.accounts.change(processing_restricted=True)
    (reply,) = world.say("/imagine a castle")
    assert "restricted" in reply
    world.accounts.change(processing_restricted=False, objections=frozenset({"generation"}))
    world.say("/imagine a castle")
    assert world.content.provider.submitted == []
    assert world.content.holds.balance(USER) == COST * 2


def test_the_generation_rate_limit_of_the_api_holds_in_the_bot(world):
    allowed = ROUTE_LIMITS["generation"].requests
    world.grant(COST * (allowed + 1))
    for _ in range(allowed):
        world.say("/imagine again")
    (reply,) = world.say("/imagine once more")
    assert reply.startswith("Too many images at once")
    assert len(world.content.provider.submitted) == allowed


def test_a_redelivered_update_submits_one_job(world):
    """Telegram redelivers an update it saw no answer to: the same update never holds credits twice."""
    world.grant(COST * 2)
    world.deliver(77, "/imagine one lighthouse")
    world.deliver(77, "/imagine one lighthouse")
    assert len(world.content.provider.submitted) == 1
    assert world.content.holds.balance(USER) == COST


def test_unlinked_senders_group_chats_and_empty_prompts_generate_nothing(world):
    world.grant(COST)
    assert "Link this Telegram account" in world.say("/imagine a castle", sender=999)[0]
    assert "private chat" in world.say("/imagine a castle", chat=-100200, chat_type="group")[0]
    assert "Tell me what to draw" in world.say("/imagine   ")[0]
    world.accounts.change(status=DISABLED)  # e.g. in its erasure grace period
    assert "Link this Telegram account" in world.say("/imagine a castle")[0]
    assert world.content.provider.submitted == []


def test_unlinking_before_the_job_ends_sends_nothing_to_telegram(world):
    """The chat is the Telegram account linked when the job ends; unlinked, the image stays only in
    the gallery."""
    world.grant(COST)
    world.say("/imagine a quiet harbour")
    job = world.only_job()
    world.accounts.change(telegram_id=None)
    world.callback(job.gen_id, image=png())
    assert world.messenger.photos == []
    assert world.content.records.job(job.gen_id).status == JobStatus.COMPLETED


def test_a_telegram_outage_leaves_the_job_settled(world):
    world.grant(COST)
    world.say("/imagine a lighthouse")
    job = world.only_job()

    def refuse(*args):
        raise RuntimeError("Telegram is down")

    world.messenger.send_photo = refuse
    assert world.callback(job.gen_id, image=png()) == {"status": "completed", "changed": True}
    assert world.content.holds.hold_state(job.gen_id) == "committed"


def test_a_web_job_is_not_sent_to_telegram(world):
    """Only a job the bot asked for is answered in Telegram."""
    from chalicelib.domain.generations import GenerationParams

    world.grant(COST)
    params = GenerationParams(prompt="from the web", model="flux-schnell")
    job = world.content.service.submit(USER, params, restricted=False, objections=frozenset())
    world.callback(job["id"], image=png())
    assert world.messenger.photos == []
    assert world.messenger.messages == []
