"""Provider adapters (GEN-1, GEN-3) against fake transports: signatures, staleness, re-fetching."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock, errors
from chalicelib.domain.ports.content import JobRequest
from chalicelib.gateways.providers.common import HttpResponse
from chalicelib.gateways.providers.fal import FalProvider
from chalicelib.gateways.providers.replicate import ReplicateProvider
from chalicelib.gateways.providers.runpod import RunPodProvider
from chalicelib.profile.schema import JobKind

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
JOB = JobRequest(
    gen_id="g1",
    model="flux-schnell",
    prompt="a fox",
    negative_prompt="blur",
    aspect_ratio="4:3",
    style="watercolor",
    safety_level="strict",
)


class FakeHttp:
    def __init__(self, routes: dict[tuple[str, str], object]) -> None:
        self.routes = routes
        self.sent: list[tuple[str, str, dict, bytes | None]] = []

    def request(self, method, url, *, headers=None, body=None):
        self.sent.append((method, url, dict(headers or {}), body))
        answer = self.routes.get((method, url.split("?")[0]), (404, {}))
        status, payload = answer() if callable(answer) else answer
        return HttpResponse(status, {}, json.dumps(payload).encode())


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


# -- fal --------------------------------------------------------------------------------------------
def _keypair():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return key, {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}


def _fal_signed(key, body: bytes, *, request_id="r1", at: datetime = NOW, account="acct") -> dict:
    stamp = str(int(at.timestamp()))
    message = "\n".join([request_id, account, stamp, hashlib.sha256(body).hexdigest()]).encode()
    return {
        "x-fal-webhook-request-id": request_id,
        "x-fal-webhook-user-id": account,
        "x-fal-webhook-timestamp": stamp,
        "x-fal-webhook-signature": key.sign(message).hex(),
    }


def _fal(jwks_keys: list[dict]) -> tuple[FalProvider, FakeHttp]:
    http = FakeHttp({("GET", "https://fal.test/.well-known/jwks.json"): lambda: (200, {"keys": list(jwks_keys)})})
    return FalProvider(http=http, api_key=lambda: "key", account_id=lambda: "acct", base_url="https://fal.test"), http


OK_BODY = json.dumps(
    {"request_id": "r1", "status": "OK", "payload": {"images": [{"url": "https://cdn.test/a.png"}]}}
).encode()


def test_gen3_fal_accepts_a_genuine_signature_and_reads_the_image():
    key, jwk = _keypair()
    provider, _ = _fal([jwk])
    delivery = provider.read_delivery(_fal_signed(key, OK_BODY), OK_BODY)
    assert delivery.succeeded
    assert delivery.result_url == "https://cdn.test/a.png"


@pytest.mark.parametrize(
    "break_it",
    [
        lambda key, h, b: (h, b.replace(b'"OK"', b'"ERROR"')),
        lambda key, h, b: (_fal_signed(key, b, at=NOW - timedelta(seconds=301)), b),
        lambda key, h, b: (_fal_signed(key, b, at=NOW + timedelta(seconds=301)), b),
        lambda key, h, b: ({k: v for k, v in h.items() if k != "x-fal-webhook-signature"}, b),
        lambda key, h, b: ({**h, "x-fal-webhook-signature": "zz"}, b),
        lambda key, h, b: (_fal_signed(_keypair()[0], b), b),
        lambda key, h, b: (_fal_signed(key, b, request_id="other"), b),
        lambda key, h, b: (_fal_signed(key, b, account="another-fal-account"), b),
    ],
    ids=["tampered", "stale", "future", "unsigned", "malformed", "foreign-key", "other-request", "other-account"],
)
def test_gen3_fal_refuses_anything_not_genuine(break_it):
    key, jwk = _keypair()
    provider, _ = _fal([jwk])
    headers, body = break_it(key, _fal_signed(key, OK_BODY), OK_BODY)
    with pytest.raises(errors.SignatureInvalid):
        provider.read_delivery(headers, body)


def test_gen3_fal_picks_up_rotated_keys_but_refetches_at_most_every_five_minutes(monkeypatch):
    old, old_jwk = _keypair()
    new, new_jwk = _keypair()
    keys = [old_jwk]
    provider, http = _fal(keys)
    provider.read_delivery(_fal_signed(old, OK_BODY), OK_BODY)
    keys[:] = [new_jwk]
    with pytest.raises(errors.SignatureInvalid):  # fetched moments ago: no refetch storm
        provider.read_delivery(_fal_signed(new, OK_BODY), OK_BODY)
    later = NOW + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert provider.read_delivery(_fal_signed(new, OK_BODY, at=later), OK_BODY).succeeded
    assert sum(1 for method, url, *_ in http.sent if url.endswith("jwks.json")) == 2


def test_gen1_fal_submit_sends_the_parameters_and_the_webhook_to_the_queue():
    http = FakeHttp({("POST", "https://fal.test/fal-ai/flux/schnell"): (200, {"request_id": "r9"})})
    provider = FalProvider(http=http, api_key=lambda: "k-1", account_id=lambda: "acct", base_url="https://fal.test")
    assert provider.submit(JOB, "https://api.test/webhooks/providers/fal/g1.secret") == "r9"
    [(method, url, headers, body)] = http.sent
    sent = json.loads(body)
    assert "fal_webhook=https%3A%2F%2Fapi.test%2Fwebhooks%2Fproviders%2Ffal%2Fg1.secret" in url
    assert headers["Authorization"] == "Key k-1"
    assert sent["prompt"] == "a fox, watercolor style"
    assert (sent["negative_prompt"], sent["image_size"], sent["safety_tolerance"]) == ("blur", "landscape_4_3", "1")


def test_gen5_fal_submit_asks_fal_to_keep_no_payload_and_to_expire_its_output_files():
    http = FakeHttp({("POST", "https://fal.test/fal-ai/flux/schnell"): (200, {"request_id": "r9"})})
    provider = FalProvider(http=http, api_key=lambda: "k-1", account_id=lambda: "acct", base_url="https://fal.test")
    provider.submit(JOB, "https://api.test/webhooks/providers/fal/g1.secret")
    [(_, _, headers, _)] = http.sent
    assert headers["X-Fal-Store-IO"] == "0"
    assert json.loads(headers["X-Fal-Object-Lifecycle-Preference"]) == {"expiration_duration_seconds": 3600}


@pytest.mark.parametrize(("status", "ok"), [(200, True), (404, True), (500, False), (401, False)])
def test_gen5_fal_deletes_a_requests_payloads_through_the_platform_api(status, ok):
    url = "https://api.fal.ai/v1/models/requests/r9/payloads"
    http = FakeHttp({("DELETE", url): (status, {"cdn_delete_results": []})})
    provider = FalProvider(http=http, api_key=lambda: "k-1", account_id=lambda: "acct", admin_key=lambda: "admin-1")
    ack = provider.delete_request("r9")
    assert (ack.processor, ack.action, ack.reference, ack.ok) == ("fal.ai", "delete_request_payloads", "r9", ok)
    [(method, sent_url, headers, _)] = http.sent
    assert (method, sent_url, headers["Authorization"]) == ("DELETE", url, "Key admin-1")


def test_gen5_replicate_and_runpod_acknowledge_their_documented_retention_without_a_call():
    http = FakeHttp({})
    replicate = ReplicateProvider(http=http, api_token=lambda: "r8", webhook_secret=lambda: "whsec_x")
    runpod = RunPodProvider(http=http, api_key=lambda: "rp")
    assert replicate.delete_request("p1").action == "removed_by_provider_after_1h"
    assert runpod.delete_request("j1").action == "removed_by_provider_after_30min"
    assert http.sent == []


# -- Replicate --------------------------------------------------------------------------------------
SECRET = "whsec_" + base64.b64encode(b"unit-test-replicate-secret").decode()
PREDICTION = json.dumps({"id": "p1", "status": "succeeded", "output": ["https://replicate.test/out.png"]}).encode()


def _replicate_signed(body: bytes, at: datetime, msg_id: str = "msg_1") -> dict:
    from standardwebhooks import Webhook

    signature = Webhook(SECRET).sign(msg_id, at, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


def _replicate(http=None) -> ReplicateProvider:
    return ReplicateProvider(http=http or FakeHttp({}), api_token=lambda: "r8", webhook_secret=lambda: SECRET)


def test_gen3_replicate_accepts_a_standard_webhooks_signature():
    delivery = _replicate().read_delivery(_replicate_signed(PREDICTION, datetime.now(timezone.utc)), PREDICTION)
    assert delivery.succeeded
    assert delivery.result_url == "https://replicate.test/out.png"


@pytest.mark.parametrize(
    "make",
    [
        lambda: (
            _replicate_signed(PREDICTION, datetime.now(timezone.utc)),
            PREDICTION.replace(b"succeeded", b"failed"),
        ),
        lambda: (_replicate_signed(PREDICTION, datetime.now(timezone.utc) - timedelta(minutes=6)), PREDICTION),
        lambda: (_replicate_signed(PREDICTION, datetime.now(timezone.utc) + timedelta(minutes=6)), PREDICTION),
        lambda: ({}, PREDICTION),
    ],
    ids=["tampered", "stale", "future", "unsigned"],
)
def test_gen3_replicate_refuses_forged_stale_and_unsigned(make):
    headers, body = make()
    with pytest.raises(errors.SignatureInvalid):
        _replicate().read_delivery(headers, body)


def test_gen1_replicate_submit_asks_for_completed_webhooks_only():
    url = "https://api.replicate.com/v1/models/black-forest-labs/flux-schnell/predictions"
    http = FakeHttp({("POST", url): (201, {"id": "p1"})})
    assert _replicate(http).submit(JOB, "https://api.test/hook") == "p1"
    body = json.loads(http.sent[0][3])
    assert body["webhook"] == "https://api.test/hook"
    assert body["webhook_events_filter"] == ["completed"]
    assert body["input"]["aspect_ratio"] == "4:3"


# -- RunPod -----------------------------------------------------------------------------------------
STATUS_URL = "https://runpod.test/v2/black-forest-labs-flux-1-schnell/status/job-1"


def _runpod(status_payload) -> tuple[RunPodProvider, FakeHttp]:
    http = FakeHttp({("GET", STATUS_URL): (200, status_payload)})
    return RunPodProvider(http=http, api_key=lambda: "rp", base_url="https://runpod.test"), http


def test_gen3_runpod_trusts_its_status_api_not_the_unsigned_body():
    claimed = json.dumps(
        {"id": "job-1", "status": "COMPLETED", "output": {"images": [{"url": "https://evil.test/x.png"}]}}
    ).encode()
    provider, http = _runpod({"id": "job-1", "status": "FAILED", "error": "out of memory"})
    delivery = provider.confirm(provider.read_delivery({}, claimed), "flux-schnell")
    assert not delivery.succeeded
    assert http.sent[0][:2] == ("GET", STATUS_URL)


def test_gen3_runpod_result_url_comes_from_the_status_api():
    provider, _ = _runpod(
        {"id": "job-1", "status": "COMPLETED", "output": {"images": [{"url": "https://rp.test/ok.png"}]}}
    )
    forged = json.dumps({"id": "job-1", "status": "COMPLETED", "output": {"image_url": "https://evil.test"}}).encode()
    delivery = provider.confirm(provider.read_delivery({}, forged), "flux-schnell")
    assert delivery.succeeded
    assert delivery.result_url == "https://rp.test/ok.png"


def test_gen3_runpod_unknown_jobs_are_refused():
    provider = RunPodProvider(http=FakeHttp({}), api_key=lambda: "rp", base_url="https://runpod.test")
    with pytest.raises(errors.SignatureInvalid):
        provider.confirm(provider.read_delivery({}, b'{"id": "nope"}'), "flux-schnell")


# -- binding a callback to its job ------------------------------------------------------------------
def test_gen3_a_callback_must_name_the_providers_id_recorded_for_the_job():
    from chalicelib.domain.generations import ensure_bound

    ensure_bound("r1", "r1", job_open=True)
    with pytest.raises(errors.SignatureInvalid):
        ensure_bound("r1", "r2", job_open=True)
    with pytest.raises(errors.Conflict):  # the submit has not recorded the id yet: retry later
        ensure_bound(None, "r1", job_open=True)
    with pytest.raises(errors.SignatureInvalid):  # a job that never reached the provider
        ensure_bound(None, "r1", job_open=False)


# -- cancel (CNT-5) ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "stopped"), [(202, True), (400, True), (404, True), (500, False), (401, False)])
def test_cnt5_each_provider_takes_a_cancelled_job_off_its_queue(status, stopped):
    """fal: PUT …/requests/{id}/cancel (400: it ran already); Replicate: POST /v1/predictions/{id}/cancel;
    RunPod: POST /v2/{endpoint}/cancel/{id}. A job that ended or is gone counts as stopped."""
    fal_url = "https://fal.test/fal-ai/flux/schnell/requests/r1/cancel"
    replicate_url = "https://api.replicate.com/v1/predictions/p1/cancel"
    runpod_url = "https://runpod.test/v2/black-forest-labs-flux-1-schnell/cancel/j1"
    http = FakeHttp(
        {("PUT", fal_url): (status, {}), ("POST", replicate_url): (status, {}), ("POST", runpod_url): (status, {})}
    )
    fal = FalProvider(http=http, api_key=lambda: "key", account_id=lambda: "acct", base_url="https://fal.test")
    replicate = ReplicateProvider(http=http, api_token=lambda: "r8", webhook_secret=lambda: SECRET)
    runpod = RunPodProvider(http=http, api_key=lambda: "rp", base_url="https://runpod.test")
    assert fal.cancel(JobKind.TEXT_TO_IMAGE, "flux-schnell", "r1") is stopped
    assert replicate.cancel(JobKind.TEXT_TO_IMAGE, "flux-schnell", "p1") is stopped
    assert runpod.cancel(JobKind.TEXT_TO_IMAGE, "flux-schnell", "j1") is stopped
    assert [(method, url) for method, url, _, _ in http.sent] == [
        ("PUT", fal_url),
        ("POST", replicate_url),
        ("POST", runpod_url),
    ]
