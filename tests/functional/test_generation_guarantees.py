"""The generation path's guarantees under load: webhook storms, parallel submits, round trips."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from chalicelib import clock, errors, wiring
from chalicelib.store.base import record_classes
from chalicelib.store.models.content import Generation
from tests.functional import content_world
from tests.functional.generation_helpers import deliver, fund, submit

world = content_world.world  # the fixture

JOBS = 20
DELIVERIES = 1000


def _failure_body(request_id: str, error: str) -> bytes:
    return json.dumps({"request_id": request_id, "status": "ERROR", "error": error, "payload": {}}).encode()


def _impostor_headers(request_id: str, body: bytes) -> dict:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stamp = str(int(clock.now().timestamp()))
    message = "\n".join([request_id, "someone", stamp, hashlib.sha256(body).hexdigest()]).encode()
    return {
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": "someone",
        "X-Fal-Webhook-Timestamp": stamp,
        "X-Fal-Webhook-Signature": Ed25519PrivateKey.generate().sign(message).hex(),
    }


def _genuine_kinds(deliveries) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for kind, _, gen_id in deliveries:
        if kind.startswith("genuine"):
            kinds.setdefault(gen_id, []).append(kind)
    return kinds


def test_gen3_thousand_deliveries_never_commit_twice_nor_accept_a_forgery(world, monkeypatch):
    """GEN-3 / PAY-4: duplicates, reordering, forged signatures and stale timestamps."""
    rng = random.Random(7)
    fund("storm", JOBS)
    jobs = [submit("storm")["id"] for _ in range(JOBS)]
    emulator = world.emulator
    emulator.flush()
    genuine = {json.loads(body)["request_id"]: (url, headers, body) for url, headers, body in world.delivered}
    genuine_ok: dict[str, tuple] = {}
    deliveries: list[tuple[str, tuple, str]] = []  # (kind, (url, headers, body), gen_id)
    for request_id, (url, headers, body) in genuine.items():
        gen_id = url.rsplit("/", 1)[1].split(".")[0]
        deliveries.append(("genuine_ok", (url, headers, body), gen_id))
        genuine_ok[gen_id] = (url, headers, body)
        if rng.random() < 0.25:  # the provider also reports a failure for some jobs: order decides
            failure = _failure_body(request_id, "worker crashed")
            deliveries.append(("genuine_failed", (url, emulator.sign(request_id, failure), failure), gen_id))
    originals = list(deliveries)
    mix: Counter = Counter()
    # Stale and future forgeries sit well outside the 300 s tolerance, so they stay outside it
    # however long a loaded machine takes to deliver the thousand.
    now = int(clock.now().timestamp())
    while len(deliveries) < DELIVERIES:
        kind, (url, headers, body), gen_id = rng.choice(originals)
        variant = rng.choice(["duplicate", "duplicate", "tampered", "impostor", "stale", "future", "wrong_token"])
        mix[variant] += 1
        if variant == "duplicate":
            deliveries.append((kind, (url, headers, body), gen_id))
            continue
        # Every forgery claims a failure nobody genuinely reported: accepting one would show.
        url, headers, body = genuine_ok[gen_id]
        request_id = json.loads(body)["request_id"]
        failure = _failure_body(request_id, "forged")
        if variant == "tampered":
            deliveries.append(("forged", (url, headers, failure), gen_id))
        elif variant == "impostor":
            deliveries.append(("forged", (url, _impostor_headers(request_id, failure), failure), gen_id))
        elif variant == "stale":
            stale = emulator.sign(request_id, failure, timestamp=now - rng.randint(900, 86_400))
            deliveries.append(("forged", (url, stale, failure), gen_id))
        elif variant == "future":
            ahead = emulator.sign(request_id, failure, timestamp=now + rng.randint(900, 3_600))
            deliveries.append(("forged", (url, ahead, failure), gen_id))
        else:
            wrong = url.rsplit(".", 1)[0] + ".guessed-token"
            deliveries.append(("forged", (wrong, emulator.sign(request_id, failure), failure), gen_id))
    rng.shuffle(deliveries)
    reordered = sum(1 for kinds in _genuine_kinds(deliveries).values() if kinds[0] == "genuine_failed")
    assert min(mix.values()) >= 50  # every kind of bad delivery is well represented
    assert reordered > 0  # some jobs hear of a failure before their success

    # The stale and future forgeries are dated relative to `now`: the verifier's clock stays there, or a
    # slow run would bring a "future" one (301 s ahead) inside the 300-second window and accept it.
    frozen = datetime.fromtimestamp(now, UTC)
    monkeypatch.setattr(clock, "now", lambda: frozen)
    ledger = wiring.ledger()
    commits: Counter = Counter()
    settle = ledger.commit

    def counting_commit(hold_id):
        done = settle(hold_id)
        commits[hold_id] += int(done)
        return done

    monkeypatch.setattr(ledger, "commit", counting_commit)
    first_genuine: dict[str, str] = {}
    accepted_forgeries = 0
    for kind, call, gen_id in deliveries:
        if kind.startswith("genuine"):
            first_genuine.setdefault(gen_id, kind)
        try:
            deliver(*call)
        except errors.SignatureInvalid:
            continue
        accepted_forgeries += kind == "forged"

    assert len(deliveries) == DELIVERIES
    assert accepted_forgeries == 0
    assert max(commits.values()) == 1  # never twice
    completed = {gen_id for gen_id, kind in first_genuine.items() if kind == "genuine_ok"}
    assert set(commits) == completed
    for gen_id in jobs:
        expected = "completed" if gen_id in completed else "failed"
        assert Generation.get(*Generation.key(gen_id)).status == expected
        assert ledger.hold_state(gen_id) == ("committed" if expected == "completed" else "released")
    assert ledger.balance("storm") == JOBS - len(completed)


def test_pay4_hundred_parallel_submits_against_ten_credits_hold_exactly_ten(world, serialized_dynamodb):
    fund("racer", 10)
    ledger = wiring.ledger()
    lowest = [10]
    stop = threading.Event()

    def watch():
        # Sample continuously, but yield between reads: an unfair lock would let a tight loop starve
        # the submitters.
        while not stop.wait(0.001):
            lowest[0] = min(lowest[0], ledger.balance("racer"))

    def attempt(_):
        try:
            return submit("racer")["id"]
        except (errors.InsufficientCredits, errors.Conflict) as exc:
            return type(exc).__name__

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(attempt, range(100)))
    finally:
        stop.set()
        watcher.join()
    held = [o for o in outcomes if o not in ("InsufficientCredits", "Conflict")]
    assert len(held) == 10
    assert {ledger.hold_state(gen_id) for gen_id in held} == {"held"}
    assert len(world.emulator.jobs) == 10  # refused submits never reached the provider
    assert ledger.balance("racer") == 0
    assert lowest[0] >= 0


@pytest.fixture
def dynamodb_calls():
    """Operation names of every DynamoDB call, counted by a botocore `before-call` event hook."""
    calls: list[str] = []

    def count(model, **kwargs):
        calls.append(model.name)

    clients = {id(c): c for c in (cls._get_connection().connection.client for cls in record_classes())}
    for client in clients.values():
        client.meta.events.register("before-call", count)
    yield calls
    for client in clients.values():
        client.meta.events.unregister("before-call", count)


def test_a_submit_is_one_transaction_one_provider_call_and_the_binding(world, dynamodb_calls):
    """One transaction, after one read of the balance (its entry records the balance after it, PAY-2),
    then one update that binds the provider's request id to the job (GEN-3)."""
    fund("counted", 2)
    submit("counted")  # warm: clients built, the provider key read from Secrets Manager and cached
    dynamodb_calls.clear()
    world.http.calls.clear()
    submit("counted")
    assert dynamodb_calls == ["GetItem", "TransactWriteItems", "UpdateItem"]
    assert [method for method, _ in world.http.calls] == ["POST"]


def test_a_submit_from_an_upload_adds_only_the_ownership_read(world, aws, dynamodb_calls):
    from tests.support.content import uploaded

    fund("counted", 2)
    submit("counted")  # warm
    upload = uploaded(aws, "counted")
    dynamodb_calls.clear()
    world.http.calls.clear()
    submit("counted", source_upload_id=upload["id"])
    assert dynamodb_calls == ["GetItem", "GetItem", "TransactWriteItems", "UpdateItem"]
    assert [method for method, _ in world.http.calls] == ["POST"]
