"""The content ports (records, objects, credit holds) behave the same in memory and on DynamoDB/S3."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib import clock, errors
from chalicelib.domain.ports.content import (
    Character,
    CheckedImage,
    DeliveredResult,
    GenerationJob,
    GenerationLogEntry,
    JobStatus,
    ShareLink,
    StoredResult,
    TrainedCharacter,
    Upload,
    UploadStatus,
)
from chalicelib.profile.loader import load_profile
from chalicelib.profile.schema import Category, JobKind
from chalicelib.retention import expiry
from tests.fakes.content import FakeContentRecords, FakeCreditHolds, FakeObjects

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Ports:
    records: Any
    holds: Any
    objects: Any
    profile: Any


@pytest.fixture(params=["fake", "dynamodb"])
def ports(request, monkeypatch) -> Ports:
    monkeypatch.setattr(clock, "now", lambda: START)
    if request.param == "fake":
        holds = FakeCreditHolds()
        profile = load_profile(request.getfixturevalue("profile_name"))
        return Ports(FakeContentRecords(holds=holds, profile=profile), holds, FakeObjects(), profile)
    request.getfixturevalue("aws")
    from chalicelib import wiring

    return Ports(wiring.content(), wiring.ledger(), wiring.objects(), wiring.profile())


def later(monkeypatch, delta: timedelta) -> None:
    monkeypatch.setattr(clock, "now", lambda: START + delta)


def an_upload(owner: str = "u1", upload_id: str = "up1", **changes: Any) -> Upload:
    values: dict[str, Any] = {
        "owner_id": owner,
        "upload_id": upload_id,
        "object_key": f"uploads/{owner}/{upload_id}",
        "declared_type": "image/png",
        "created_at": START,
        "expires_at": START + timedelta(days=1),
        **changes,
    }
    return Upload(**values)


def a_job(gen_id: str = "g1", owner: str = "u1", **changes: Any) -> GenerationJob:
    values: dict[str, Any] = {
        "gen_id": gen_id,
        "owner_id": owner,
        "token_hash": "0" * 64,
        "provider": "fal",
        "model": "flux-schnell",
        "aspect_ratio": "1:1",
        "style": "none",
        "safety_level": "standard",
        "cost": 1,
        "created_at": START,
        "prompt": "a lighthouse",
        **changes,
    }
    return GenerationJob(**values)


def a_log(gen_id: str = "g1", owner: str = "u1") -> GenerationLogEntry:
    return GenerationLogEntry(gen_id, owner, "a lighthouse", None, "flux-schnell", "{}", START)


def opened(ports: Ports, gen_id: str = "g1", owner: str = "u1", credits: int = 1) -> GenerationJob:
    ports.holds.grant(owner, credits, f"grant-{gen_id}", "test")
    job = a_job(gen_id, owner)
    ports.records.open_job(job, deadline=START + timedelta(minutes=15), log=a_log(gen_id, owner))
    return job


STORED = StoredResult("generated/u1/g1", "PNG", "image/png", 8, 6)


# -- uploads ---------------------------------------------------------------------------------------
def test_an_upload_reads_back_only_for_its_owner(ports):
    ports.records.new_upload(an_upload())
    assert ports.records.upload("u1", "up1") == an_upload()
    assert ports.records.upload("u2", "up1") is None
    assert ports.records.uploads("u1") == [an_upload()]
    assert ports.records.uploads("u2") == []


def test_an_upload_id_is_written_once(ports):
    ports.records.new_upload(an_upload())
    with pytest.raises(errors.Conflict):
        ports.records.new_upload(an_upload(declared_type="image/webp"))
    assert ports.records.upload("u1", "up1").declared_type == "image/png"


def test_an_expired_upload_is_hidden_before_it_is_deleted(ports, monkeypatch):
    ports.records.new_upload(an_upload())
    later(monkeypatch, timedelta(days=1, seconds=1))
    assert ports.records.upload("u1", "up1") is None
    assert ports.records.uploads("u1") == []


def test_a_ready_upload_keeps_its_facts_and_the_profiles_retention(ports):
    ports.records.new_upload(an_upload())
    ports.records.mark_upload_ready("u1", "up1", CheckedImage("PNG", 8, 6, size=120, etag='"abc"'))
    upload = ports.records.upload("u1", "up1")
    assert (upload.status, upload.image_format, upload.width, upload.height, upload.size, upload.checked_etag) == (
        UploadStatus.READY,
        "PNG",
        8,
        6,
        120,
        '"abc"',
    )
    assert upload.expires_at == expiry(ports.profile, Category.UPLOADS, START)


def test_a_rejected_upload_says_why_and_forgets_its_etag(ports):
    ports.records.new_upload(an_upload())
    ports.records.mark_upload_ready("u1", "up1", CheckedImage("PNG", 8, 6, size=120, etag='"abc"'))
    ports.records.mark_upload_rejected("u1", "up1", "The file is not an image.")
    upload = ports.records.upload("u1", "up1")
    assert (upload.status, upload.reason, upload.checked_etag) == (
        UploadStatus.REJECTED,
        "The file is not an image.",
        None,
    )


def test_a_deleted_upload_is_gone(ports):
    ports.records.new_upload(an_upload())
    ports.records.delete_upload("u1", "up1")
    ports.records.delete_upload("u1", "up1")  # again: nothing to delete is not an error
    assert ports.records.upload("u1", "up1") is None


# -- jobs and credit holds -------------------------------------------------------------------------
def test_opening_a_job_holds_its_cost(ports):
    job = opened(ports)
    assert ports.records.job("g1") == job
    assert ports.holds.hold_state("g1") == "held"


def test_a_job_without_credits_is_not_opened(ports):
    with pytest.raises(errors.InsufficientCredits):
        ports.records.open_job(a_job(), deadline=START + timedelta(minutes=15), log=None)
    assert ports.records.job("g1") is None
    assert ports.holds.hold_state("g1") is None


def test_opening_a_job_again_changes_nothing(ports):
    job = opened(ports, credits=5)
    ports.records.open_job(a_job(prompt="other"), deadline=START + timedelta(minutes=15), log=None)
    assert ports.records.job("g1") == job
    assert ports.holds.commit("g1") is True


def test_a_job_is_bound_to_one_provider_request(ports):
    opened(ports)
    ports.records.bind_job("g1", "req-1")
    with pytest.raises(errors.Conflict):
        ports.records.bind_job("g1", "req-2")
    assert ports.records.job("g1").provider_request_id == "req-1"


def test_a_hold_settles_once(ports):
    opened(ports)
    assert ports.holds.commit("g1") is True
    assert ports.holds.commit("g1") is False
    assert ports.holds.release("g1") is False
    assert ports.holds.hold_state("g1") == "committed"
    assert ports.holds.release("unknown") is False


def test_finishing_with_a_stored_result_fills_the_gallery_once(ports, monkeypatch):
    job = opened(ports)
    later(monkeypatch, timedelta(minutes=1))
    assert ports.records.finish_job(job, JobStatus.COMPLETED, forget_prompt=False, result=STORED) is True
    assert ports.records.finish_job(job, JobStatus.FAILED, forget_prompt=False, failure="late") is False
    finished = ports.records.job("g1")
    assert (finished.status, finished.stored_key, finished.width, finished.height, finished.image_format) == (
        JobStatus.COMPLETED,
        "generated/u1/g1",
        8,
        6,
        "PNG",
    )
    assert finished.finished_at == START + timedelta(minutes=1)
    assert finished.failure is None
    image = ports.records.image("u1", "g1")
    assert (image.object_key, image.content_type, image.model) == ("generated/u1/g1", "image/png", "flux-schnell")
    assert ports.records.image("u2", "g1") is None


def test_finishing_with_a_delivered_result_keeps_no_image(ports):
    job = opened(ports)
    result = DeliveredResult("https://results.test/g1.png", START + timedelta(minutes=15))
    assert ports.records.finish_job(job, JobStatus.COMPLETED, forget_prompt=False, result=result)
    finished = ports.records.job("g1")
    assert (finished.delivery_url, finished.delivery_until) == (result.url, result.until)
    assert ports.records.image("u1", "g1") is None


def test_a_failed_job_says_why_and_may_forget_its_prompt(ports):
    job = opened(ports)
    assert ports.records.finish_job(job, JobStatus.FAILED, forget_prompt=True, failure="timed_out")
    failed = ports.records.job("g1")
    assert (failed.status, failed.failure, failed.prompt, failed.negative_prompt) == (
        JobStatus.FAILED,
        "timed_out",
        None,
        None,
    )


def test_a_deleted_job_is_gone(ports):
    opened(ports)
    ports.records.delete_job("g1")
    assert ports.records.job("g1") is None


# -- jobs of every kind and characters -------------------------------------------------------------
def _listed(ports: Ports, owner: str, kind: JobKind | None, limit: int) -> list[str]:
    """Every page read in turn: a kind filters each page after it is read, so pages may be short."""
    ids: list[str] = []
    cursor = None
    for _ in range(20):
        page, cursor = ports.records.jobs(owner, kind=kind, limit=limit, cursor=cursor)
        ids += [job.gen_id for job in page]
        if cursor is None:
            return ids
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_jobs_list_newest_first_per_kind_and_only_their_owners(ports, profile_name):
    kinds = [JobKind.TEXT_TO_IMAGE, JobKind.CHARACTER_TRAINING, JobKind.UPSCALE, JobKind.CHARACTER_TRAINING]
    for number, kind in enumerate(kinds):
        ports.holds.grant("u1", 1, f"grant-j{number}", "test")
        ports.records.open_job(a_job(f"j{number}", kind=kind), deadline=START + timedelta(hours=2), log=None)
    ports.holds.grant("u2", 1, "grant-other", "test")
    ports.records.open_job(a_job("j9", "u2"), deadline=START + timedelta(minutes=15), log=None)
    assert _listed(ports, "u1", None, 3) == ["j3", "j2", "j1", "j0"]
    assert _listed(ports, "u1", JobKind.CHARACTER_TRAINING, 1) == ["j3", "j1"]
    assert _listed(ports, "u2", None, 10) == ["j9"]
    _, cursor = ports.records.jobs("u1", kind=None, limit=1, cursor=None)
    with pytest.raises(errors.InvalidInput):
        ports.records.jobs("u2", kind=None, limit=1, cursor=cursor)


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_a_finished_training_leaves_its_character_until_it_is_deleted(ports, profile_name):
    ports.holds.grant("u1", 5, "grant-t", "test")
    job = a_job(
        "t1",
        kind=JobKind.CHARACTER_TRAINING,
        input_key="training/u1/t1",
        character_name="Me",
        cost=5,
    )
    ports.records.open_job(job, deadline=START + timedelta(hours=2), log=None)
    opened_job = ports.records.job("t1")
    assert (opened_job.kind, opened_job.input_key, opened_job.character_name) == (
        JobKind.CHARACTER_TRAINING,
        "training/u1/t1",
        "Me",
    )
    character = Character("u1", "t1", "Me", "fal", "https://w.test/lora", "pkt1", START, provider_request_id="req-t1")
    ports.holds.commit("t1")
    assert ports.records.finish_job(job, JobStatus.COMPLETED, forget_prompt=True, result=TrainedCharacter(character))
    assert ports.records.character("u1", "t1") == character
    assert ports.records.character("u2", "t1") is None
    assert ports.records.characters("u1") == [character]
    ports.records.delete_character("u1", "t1")
    assert ports.records.character("u1", "t1") is None
    assert ports.records.characters("u1") == []


def test_job_parameters_of_each_kind_read_back(ports):
    ports.holds.grant("u1", 2, "grant-p", "test")
    job = a_job("p1", kind=JobKind.UPSCALE, scale=4, source_upload_id="up1", cost=2)
    ports.records.open_job(job, deadline=START + timedelta(minutes=15), log=None)
    read = ports.records.job("p1")
    assert (read.kind, read.scale, read.source_upload_id, read.cost, read.fps) == (JobKind.UPSCALE, 4, "up1", 2, None)


# -- gallery and share links -----------------------------------------------------------------------
def _gallery(ports: Ports, *gen_ids: str) -> None:
    for gen_id in gen_ids:
        job = opened(ports, gen_id)
        result = StoredResult(f"generated/u1/{gen_id}", "PNG", "image/png", 8, 6)
        ports.records.finish_job(job, JobStatus.COMPLETED, forget_prompt=False, result=result)


def test_the_gallery_pages_newest_first(ports):
    _gallery(ports, "a1", "a2", "a3")
    first, cursor = ports.records.images("u1", limit=2, cursor=None)
    assert [image.gen_id for image in first] == ["a3", "a2"]
    rest, end = ports.records.images("u1", limit=2, cursor=cursor)
    assert [image.gen_id for image in rest] == ["a1"]
    assert end is None
    assert ports.records.images("u2", limit=2, cursor=None) == ([], None)


def test_a_gallery_cursor_is_bound_to_its_owner(ports):
    _gallery(ports, "a1", "a2", "a3")
    _, cursor = ports.records.images("u1", limit=2, cursor=None)
    with pytest.raises(errors.InvalidInput):
        ports.records.images("u2", limit=2, cursor=cursor)
    with pytest.raises(errors.InvalidInput):
        ports.records.images("u1", limit=2, cursor="not-a-cursor")


def test_a_deleted_image_is_gone(ports):
    _gallery(ports, "g1")
    ports.records.delete_image("u1", "g1")
    assert ports.records.image("u1", "g1") is None


def test_a_share_link_resolves_until_its_chosen_expiry(ports, monkeypatch):
    chosen = START + timedelta(hours=2)
    link = ports.records.new_share(ShareLink("s1", "u1", "g1", created_at=START, expires_at=chosen))
    assert link == ShareLink("s1", "u1", "g1", created_at=START, expires_at=chosen)
    assert ports.records.share("s1") == link
    assert ports.records.shares_of("u1", "g1") == [link]
    assert ports.records.shares_of("u2", "g1") == []
    later(monkeypatch, timedelta(hours=2, seconds=1))
    assert ports.records.share("s1") is None
    assert ports.records.shares_of("u1", "g1") == []


def test_a_share_link_never_outlives_the_images_retention(ports):
    link = ports.records.new_share(ShareLink("s1", "u1", "g1", created_at=START))
    assert link.expires_at == expiry(ports.profile, Category.GENERATED_IMAGES, START)


def test_a_revoked_share_link_is_gone(ports):
    ports.records.new_share(ShareLink("s1", "u1", "g1", created_at=START))
    ports.records.delete_share("s1", "g1")
    assert ports.records.share("s1") is None


# -- objects ---------------------------------------------------------------------------------------
def test_objects_live_under_their_owners_prefix(ports):
    bucket, key = ports.objects.location(Category.UPLOADS, "u1", "up1")
    assert key == "uploads/u1/up1"
    assert key.startswith(ports.objects.prefix(Category.UPLOADS))
    post = ports.objects.presigned_post(
        Category.UPLOADS, "u1", "up1", content_type="image/png", max_bytes=10, expires_in=60
    )
    assert (post.fields["key"], post.expires_in) == (key, 60)
    assert ports.objects.presigned_get(bucket, key, expires_in=60).startswith("http")


def test_an_object_reads_back_with_the_etag_of_its_write(ports):
    bucket, key = ports.objects.location(Category.UPLOADS, "u1", "up1")
    first = ports.objects.put(bucket, key, b"first", content_type="image/png")
    second = ports.objects.put(bucket, key, b"second", content_type="image/png")
    assert first != second
    stored = ports.objects.read(bucket, key, max_bytes=100)
    assert (stored.etag, stored.data) == (second, b"second")
    assert ports.objects.read(bucket, key, max_bytes=3).data is None


def test_a_deleted_object_is_gone_and_deleting_again_is_fine(ports):
    bucket, key = ports.objects.location(Category.GENERATED_IMAGES, "u1", "g1")
    ports.objects.put(bucket, key, b"png", content_type="image/png")
    ports.objects.delete(bucket, key)
    ports.objects.delete(bucket, key)
    assert ports.objects.read(bucket, key, max_bytes=100) is None
