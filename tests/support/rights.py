"""Rights workflows below the state machine: a person who used every feature, and the task steps run
in the order (and with the result paths) of infra/asl/*.asl.json."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from tests.support.asl import run_machine
from tests.support.auth import SignedIn
from tests.support.paging import owned_items

ERASURE_STEPS = (
    ("plan", "plan"),
    ("processors", "processors"),
    ("delete_objects", "objects"),
    ("delete_records", "records"),
    ("pseudonymize", "pseudonymized"),
    ("residual_scan", "residual"),
    ("receipt", "receipt"),
    ("notify", "notified"),
)
EXPORT_STEPS = (("collect", "collected"), ("archive", "archive"), ("seal", "sealed"), ("notify", "notified"))


def person_identifiers(person: SignedIn, made: dict[str, Any]) -> list[Any]:
    """Every identifier of a rich user (DSR-13) as needles for tests/support/scan.find: the ids, the
    address in any capitals, its keyed and unkeyed hashes, the user id's keyed hash, the username,
    Telegram id, share ids, object keys and provider request ids."""
    import hashlib
    import re

    from chalicelib import wiring
    from chalicelib.domain.ports.accounts import user_hash
    from chalicelib.store.secrets import secret

    key = secret("ip-hash-key")
    needles: list[Any] = [
        person.user_id,
        re.compile(re.escape(person.email), re.IGNORECASE),
        wiring.accounts_store().address_key(person.email),
        hashlib.sha256(person.email.lower().encode()).hexdigest(),
        user_hash(key, person.user_id),
    ]
    for name in ("username", "telegram_id", "share_id", "provider_request_id", "upload_key", "image_key"):
        if made.get(name):
            needles.append(made[name])
    return needles + list(made.get("object_keys", ()))


def stored_receipt_ids(session: Any) -> list[str]:
    """The erasure receipts in the requests table: each has its own id, named by no run (DSR-13)."""
    from chalicelib.settings import get_settings

    items = session.client("dynamodb").scan(TableName=get_settings().table_name("requests"))["Items"]
    return [item["pk"]["S"].removeprefix("RECEIPT#") for item in items if item["pk"]["S"].startswith("RECEIPT#")]


def erasure_step(step: str):
    """The domain function behind an erasure task (the processors task lives in its own module)."""
    from chalicelib.domain.rights import erasure, processors

    return processors.erase_at_processors if step == "processors" else getattr(erasure, step)


def erasure_tasks(deps: Any) -> dict[str, Any]:
    """The erasure state machine's task resources, each calling its domain function with `deps`."""
    steps = [step for step, _ in ERASURE_STEPS] + ["fail", "held"]
    return {f"erasure_{step}": (lambda state, step=step: erasure_step(step)(deps, state)) for step in steps}


def hold_tasks(deps: Any) -> dict[str, Any]:
    """The legal hold state machine's task resources (DSR-12)."""
    from chalicelib.domain.rights import holds

    steps = {"move_expiries": holds.move_expiries, "retag_objects": holds.retag_objects, "finish": holds.finish}
    steps["fail"] = holds.fail
    return {f"hold_{name}": (lambda state, step=step: step(deps, state)) for name, step in steps.items()}


def run_hold(deps: Any, event: dict[str, Any], **options: Any) -> dict[str, Any]:
    return run_machine("hold", hold_tasks(deps), event, **options)


def export_tasks(deps: Any) -> dict[str, Any]:
    from chalicelib.domain.rights import export

    steps = [step for step, _ in EXPORT_STEPS] + ["fail"]
    return {f"export_{step}": (lambda state, step=step: getattr(export, step)(deps, state)) for step in steps}


def run_erasure(deps: Any, event: dict[str, Any], **options: Any) -> dict[str, Any]:
    """The erasure state machine (infra/asl/erasure.asl.json) over the domain, pages and passes included."""
    return run_machine("erasure", erasure_tasks(deps), event, **options)


def run_export(deps: Any, event: dict[str, Any], **options: Any) -> dict[str, Any]:
    return run_machine("export", export_tasks(deps), event, **options)


class CapturingStarter:
    """Stands in for a state machine where a test runs the steps itself: records each start."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []

    def start(self, name: str, payload: dict[str, Any]) -> str:
        self.started.append((name, payload))
        return f"arn:aws:states:us-east-1:123456789012:execution:test:{name}"


def _json(value: Any) -> str:
    return json.dumps(value)


def use_every_feature(client: Any, session: Any, person: SignedIn) -> dict[str, Any]:
    """Leave a trace in every store a person can reach today; returns what was made."""
    from chalicelib import clock, wiring
    from chalicelib.domain.ports.accounts import AbuseSignal, LoginCode, NewApiKey, ProfileCorrection
    from chalicelib.domain.ports.content import Upload
    from chalicelib.domain.uploads import PENDING_UPLOAD_TIME
    from chalicelib.profile.schema import Category
    from chalicelib.settings import get_settings
    from chalicelib.store.layout import object_key
    from chalicelib.store.models.content import Generation, GenerationLog, JobDeadline, ShareLink

    profile, settings = wiring.profile(), get_settings()
    user_id, now = person.user_id, clock.now()
    s3 = session.client("s3")
    content = wiring.content()
    made: dict[str, Any] = {}

    upload_id, gen_id = uuid.uuid4().hex, uuid.uuid4().hex
    bucket, key = object_key(Category.UPLOADS, user_id, upload_id)
    s3.put_object(Bucket=settings.bucket_name(bucket), Key=key, Body=b"\x89PNG upload of " + person.email.encode())
    content.new_upload(
        Upload(user_id, upload_id, key, "image/png", created_at=now, expires_at=now + PENDING_UPLOAD_TIME)
    )
    image_key = None
    if profile.stores(Category.GENERATED_IMAGES):
        bucket, image_key = object_key(Category.GENERATED_IMAGES, user_id, gen_id)
        s3.put_object(Bucket=settings.bucket_name(bucket), Key=image_key, Body=b"\x89PNG generated")
    Generation(
        *Generation.key(gen_id),
        gen_id=gen_id,
        owner_id=user_id,
        token_hash="0" * 64,
        # Replicate acknowledges an erasure by its retention rule, without a call: no emulator needed
        # here (tests/functional/test_processor_erasure.py asks fal's emulator for real).
        provider="replicate",
        model="flux",
        aspect_ratio="1:1",
        style="none",
        safety_level="strict",
        prompt=f"a portrait of {person.email}",
        provider_request_id=made.setdefault("provider_request_id", f"req-{uuid.uuid4().hex}"),
        cost=1,
        created_at=now,
        stored_key=image_key,
    ).save()
    if image_key:
        _gallery_image(user_id, gen_id, image_key, now).save()
        share_id = made["share_id"] = uuid.uuid4().hex
        ShareLink(
            *ShareLink.key(share_id, gen_id), share_id=share_id, owner_id=user_id, gen_id=gen_id, created_at=now
        ).save()
    JobDeadline(
        *JobDeadline.key(gen_id), gen_id=gen_id, owner_id=user_id, expires_at=now + timedelta(minutes=10)
    ).save()
    if profile.stores(Category.GENERATION_LOGS):
        GenerationLog(
            *GenerationLog.key(user_id, now, gen_id),
            gen_id=gen_id,
            user_id=user_id,
            owner_id=user_id,
            created_at=now,
            prompt="a cat",
            model="flux",
            parameters="{}",
        ).save()
    made["generation"] = gen_id
    made["upload_key"], made["image_key"] = key, image_key
    for category in (Category.TRAINING_IMAGES, Category.RENDER_INPUTS):  # where the profile has them
        if profile.stores(category):
            bucket, other_key = object_key(category, user_id, uuid.uuid4().hex)
            s3.put_object(Bucket=settings.bucket_name(bucket), Key=other_key, Body=b"\x89PNG working copy")
            made.setdefault("object_keys", []).append(other_key)

    wiring.ledger().grant(user_id, 10, f"test-grant-{user_id}", "purchase", {"pack": "small"})
    wiring.abuse_store().record_signal(
        AbuseSignal(
            event="sign_in",
            ip_hash="f" * 64,
            sort=f"AT#{now.isoformat()}",
            owner_id=user_id,
            user_agent="test-agent",
            accept_language="en",
        )
    )

    # Sign-in and abuse traces keyed by values derived from the person (DSR-13).
    limiter, accounts = wiring.rate_limiter(), wiring.accounts_store()
    limiter.check_person("upload", user_id)
    limiter.check_person("generation", user_id)
    limiter.check_address("login_code_email", person.email.upper())
    limiter.check_address("password_account", person.email)
    accounts.put_login_code(
        LoginCode(accounts.address_key(person.email), "0" * 64, 3), expires_at=now + timedelta(minutes=10)
    )
    made["username"] = f"rich{user_id[:10]}"
    accounts.update_profile(accounts.get_user(user_id), ProfileCorrection(username=made["username"]))
    made["telegram_id"] = str(int(user_id[:12], 16))
    accounts.link_telegram(accounts.get_user(user_id), made["telegram_id"])
    key_id = f"pk_{user_id[:8]}"
    accounts.put_api_key(NewApiKey(key_id, user_id, "1" * 64, frozenset({"generate"}), name="rich key"))
    if profile.stores(Category.USAGE_LOGS):
        wiring.abuse_store().meter(key_id, user_id, now.date(), volume_bytes=10, units=1)

    headers = person.headers
    assert (
        client.http.post(
            "/me/consents", body=_json({"purpose": "marketing", "granted": True}), headers=headers
        ).status_code
        == 200
    )
    if profile.stores(Category.CONTACT_MESSAGES):
        sent = client.http.post("/contact", body=_json({"subject": "Hi", "body": "Help me"}), headers=headers)
        assert sent.status_code == 201, sent.body
    asked = client.http.post(
        "/requests", body=_json({"kind": "access", "email": person.email}), headers={"Content-Type": "application/json"}
    )
    assert asked.status_code == 202, asked.body
    made["email_request"] = asked.json_body["request_id"]
    assert (
        client.http.put(
            "/me/processing", body=_json({"objections": ["service_improvement"]}), headers=headers
        ).status_code
        == 200
    )
    return made


def seed_gallery(session: Any, user_id: str, count: int, image: bytes | None = None) -> None:
    """A user with `count` stored images: objects under generated/ and their gallery records (benches)."""
    import os

    from chalicelib import clock, wiring
    from chalicelib.domain.ports.accounts import NewAccount
    from chalicelib.profile.schema import Category
    from chalicelib.settings import get_settings
    from chalicelib.store.layout import object_key
    from chalicelib.store.models.content import GalleryImage

    settings, s3, now = get_settings(), session.client("s3"), clock.now()
    wiring.accounts_store().create_user(
        NewAccount(user_id, f"bench-{user_id[:8]}@example.org", email_verified=True, minimum_age_attested=18)
    )
    with GalleryImage.batch_write() as batch:
        for index in range(count):
            gen_id = f"{index:06d}"
            bucket, key = object_key(Category.GENERATED_IMAGES, user_id, gen_id)
            body = image if image is not None else os.urandom(64)
            s3.put_object(Bucket=settings.bucket_name(bucket), Key=key, Body=body)
            batch.save(_gallery_image(user_id, gen_id, key, now))


def _gallery_image(user_id: str, gen_id: str, key: str, now: Any) -> Any:
    from chalicelib.store.models.content import GalleryImage

    return GalleryImage(
        *GalleryImage.key(user_id, gen_id),
        owner_id=user_id,
        gen_id=gen_id,
        object_key=key,
        image_format="png",
        content_type="image/png",
        width=1,
        height=1,
        model="flux",
        created_at=now,
    )


def detach_owned(deps: Any, user_id: str, pseudonym: str, email: str | None) -> int:
    """Every kept record of a person detached at once, through the pseudonymizer the erasure pages."""
    from chalicelib.domain.rights.erasure import detach

    return detach(deps, list(owned_items(deps.personal, user_id)), user_id, pseudonym, email)
