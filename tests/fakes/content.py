"""In-memory content ports: records, objects, credit holds and a model provider.

Same semantics as the DynamoDB/S3 adapters (tests/contract/test_content_contract.py): TTLs stamped
from the profile and hidden on read by `chalicelib.clock`, conditional writes raising the same
domain errors, a job opened only together with its credit hold.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from chalicelib import clock, errors
from chalicelib.domain.ports.content import (
    Character,
    CheckedImage,
    DeliveredResult,
    Delivery,
    GalleryImage,
    GenerationJob,
    GenerationLogEntry,
    JobRequest,
    JobStatus,
    PresignedPost,
    Provenance,
    ShareLink,
    StoredObject,
    StoredResult,
    TrainedCharacter,
    Upload,
    UploadStatus,
)
from chalicelib.domain.ports.processors import ProcessorAck
from chalicelib.profile.schema import Category, JobKind, Profile
from chalicelib.retention import expiry
from chalicelib.store.layout import OBJECT_PREFIXES, object_key

JOB_STATE_DAYS = 2  # as the job record keeps its state where the profile keeps no prompts


def _live(expires_at: datetime | None) -> bool:
    return expires_at is None or expires_at > clock.now()


def _whole_seconds(moment: datetime | None) -> datetime | None:
    """DynamoDB TTLs are epoch seconds."""
    return None if moment is None else moment.replace(microsecond=0)


@dataclass
class _Hold:
    owner_id: str
    amount: int
    reason: str
    state: str = "held"


class FakeCreditHolds:
    """Balances and holds: the CreditHolds port plus what opening a job and funding need."""

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self.holds: dict[str, _Hold] = {}
        self._grants: set[str] = set()

    def grant(self, user_id: str, amount: int, key: str, reason: str) -> None:
        if key not in self._grants:
            self._grants.add(key)
            self.balances[user_id] = self.balance(user_id) + amount

    def balance(self, user_id: str) -> int:
        return self.balances.get(user_id, 0)

    def hold(self, user_id: str, amount: int, hold_id: str, reason: str) -> None:
        if hold_id in self.holds:
            return
        if self.balance(user_id) < amount:
            raise errors.InsufficientCredits(
                "Not enough credits.", details={"required": amount, "balance": self.balance(user_id)}
            )
        self.balances[user_id] = self.balance(user_id) - amount
        self.holds[hold_id] = _Hold(user_id, amount, reason)

    def commit(self, hold_id: str) -> bool:
        return self._settle(hold_id, "committed")

    def release(self, hold_id: str) -> bool:
        return self._settle(hold_id, "released")

    def hold_state(self, hold_id: str) -> str | None:
        hold = self.holds.get(hold_id)
        return hold.state if hold else None

    def _settle(self, hold_id: str, state: str) -> bool:
        hold = self.holds.get(hold_id)
        if hold is None or hold.state != "held":
            return False
        hold.state = state
        if state == "released":
            self.balances[hold.owner_id] = self.balance(hold.owner_id) + hold.amount
        return True


class FakeContentRecords:
    def __init__(self, *, holds: FakeCreditHolds, profile: Profile) -> None:
        self._holds = holds
        self._profile = profile
        self._uploads: dict[tuple[str, str], Upload] = {}
        self._jobs: dict[str, tuple[GenerationJob, datetime | None]] = {}
        self.deadlines: dict[str, datetime] = {}
        self.logs: list[GenerationLogEntry] = []
        self._images: dict[tuple[str, str], tuple[GalleryImage, datetime | None]] = {}
        self._shares: dict[str, ShareLink] = {}
        self._characters: dict[tuple[str, str], Character] = {}

    # -- uploads --------------------------------------------------------------------------------
    def new_upload(self, upload: Upload) -> None:
        if (upload.owner_id, upload.upload_id) in self._uploads:
            raise errors.Conflict("The upload exists already.")
        expires_at = upload.expires_at or self._expiry(Category.UPLOADS, upload.created_at)
        self._uploads[upload.owner_id, upload.upload_id] = replace(upload, expires_at=_whole_seconds(expires_at))

    def upload(self, owner_id: str, upload_id: str) -> Upload | None:
        upload = self._uploads.get((owner_id, upload_id))
        return upload if upload is not None and _live(upload.expires_at) else None

    def uploads(self, owner_id: str) -> list[Upload]:
        return [u for (owner, _), u in sorted(self._uploads.items()) if owner == owner_id and _live(u.expires_at)]

    def mark_upload_ready(self, owner_id: str, upload_id: str, image: CheckedImage) -> None:
        upload = self.upload(owner_id, upload_id)
        if upload is not None:
            self._uploads[owner_id, upload_id] = replace(
                upload,
                status=UploadStatus.READY,
                image_format=image.image_format,
                width=image.width,
                height=image.height,
                size=image.size,
                checked_etag=image.etag,
                reason=None,
                expires_at=_whole_seconds(self._expiry(Category.UPLOADS, upload.created_at)),
            )

    def mark_upload_rejected(self, owner_id: str, upload_id: str, reason: str) -> None:
        upload = self.upload(owner_id, upload_id)
        if upload is not None:
            self._uploads[owner_id, upload_id] = replace(
                upload, status=UploadStatus.REJECTED, reason=reason, checked_etag=None
            )

    def delete_upload(self, owner_id: str, upload_id: str) -> None:
        self._uploads.pop((owner_id, upload_id), None)

    # -- generation jobs ------------------------------------------------------------------------
    def job(self, gen_id: str) -> GenerationJob | None:
        job, expires_at = self._jobs.get(gen_id, (None, None))
        return job if job is not None and _live(expires_at) else None

    def open_job(self, job: GenerationJob, *, deadline: datetime, log: GenerationLogEntry | None) -> None:
        if job.gen_id in self._jobs:
            return  # the hold exists: a repeat changes nothing
        self._holds.hold(job.owner_id, job.cost, job.gen_id, str(job.kind))
        self._jobs[job.gen_id] = (job, _whole_seconds(self._job_expiry(job.created_at)))
        self.deadlines[job.gen_id] = deadline
        if log is not None:
            self.logs.append(log)

    def bind_job(self, gen_id: str, provider_request_id: str) -> None:
        job, expires_at = self._jobs[gen_id]
        if job.provider_request_id is not None:
            raise errors.Conflict("The job is bound already.")
        self._jobs[gen_id] = (replace(job, provider_request_id=provider_request_id), expires_at)

    def finish_job(
        self,
        job: GenerationJob,
        status: JobStatus,
        *,
        forget_prompt: bool,
        failure: str | None = None,
        result: StoredResult | DeliveredResult | TrainedCharacter | None = None,
    ) -> bool:
        current, expires_at = self._jobs[job.gen_id]
        if current.status != JobStatus.QUEUED:
            return False
        now = clock.now()
        finished = replace(current, status=status, finished_at=now, failure=failure or current.failure)
        if isinstance(result, StoredResult):
            finished = replace(
                finished,
                stored_key=result.object_key,
                width=result.width,
                height=result.height,
                image_format=result.image_format,
                content_type=result.content_type,
            )
            image = GalleryImage(
                owner_id=job.owner_id,
                gen_id=job.gen_id,
                object_key=result.object_key,
                image_format=result.image_format,
                content_type=result.content_type,
                width=result.width,
                height=result.height,
                model=job.model,
                created_at=now,
            )
            self._images[job.owner_id, job.gen_id] = (
                image,
                _whole_seconds(self._expiry(Category.GENERATED_IMAGES, now)),
            )
        if isinstance(result, DeliveredResult):
            finished = replace(finished, delivery_url=result.url, delivery_until=result.until)
        if isinstance(result, TrainedCharacter):
            self._characters[result.character.owner_id, result.character.character_id] = result.character
        if forget_prompt:
            finished = replace(finished, prompt=None, negative_prompt=None)
        self._jobs[job.gen_id] = (finished, expires_at)
        return True

    def delete_job(self, gen_id: str) -> None:
        self._jobs.pop(gen_id, None)
        self.deadlines.pop(gen_id, None)

    def jobs(
        self, owner_id: str, *, kind: JobKind | None, limit: int, cursor: str | None
    ) -> tuple[list[GenerationJob], str | None]:
        after = _decode_cursor(cursor, owner_id) if cursor else None
        ids = sorted((gen_id for gen_id, (job, _) in self._jobs.items() if job.owner_id == owner_id), reverse=True)
        ids = [gen_id for gen_id in ids if after is None or gen_id < after]
        window = ids[:limit]
        page = [job for gen_id in window if (job := self.job(gen_id)) is not None and kind in (None, job.kind)]
        return page, _encode_cursor(owner_id, window[-1]) if len(ids) > limit else None

    # -- characters -----------------------------------------------------------------------------
    def character(self, owner_id: str, character_id: str) -> Character | None:
        return self._characters.get((owner_id, character_id))

    def characters(self, owner_id: str) -> list[Character]:
        return [c for (owner, _), c in sorted(self._characters.items()) if owner == owner_id]

    def delete_character(self, owner_id: str, character_id: str) -> None:
        self._characters.pop((owner_id, character_id), None)

    # -- gallery --------------------------------------------------------------------------------
    def image(self, owner_id: str, gen_id: str) -> GalleryImage | None:
        image, expires_at = self._images.get((owner_id, gen_id), (None, None))
        return image if image is not None and _live(expires_at) else None

    def images(self, owner_id: str, *, limit: int, cursor: str | None) -> tuple[list[GalleryImage], str | None]:
        after = _decode_cursor(cursor, owner_id) if cursor else None
        ids = sorted((gen_id for owner, gen_id in self._images if owner == owner_id), reverse=True)
        ids = [gen_id for gen_id in ids if after is None or gen_id < after]
        window = ids[:limit]
        page = [image for gen_id in window if (image := self.image(owner_id, gen_id)) is not None]
        more = len(ids) > limit
        return page, _encode_cursor(owner_id, window[-1]) if more else None

    def delete_image(self, owner_id: str, gen_id: str) -> None:
        self._images.pop((owner_id, gen_id), None)

    # -- share links ----------------------------------------------------------------------------
    def new_share(self, link: ShareLink) -> ShareLink:
        if link.share_id in self._shares:
            raise errors.Conflict("The share link exists already.")
        cap = self._expiry(Category.GENERATED_IMAGES, link.created_at)
        chosen = link.expires_at
        expires_at = cap if chosen is None or (cap is not None and cap < chosen) else chosen
        stored = replace(link, expires_at=_whole_seconds(expires_at))
        self._shares[link.share_id] = stored
        return stored

    def share(self, share_id: str) -> ShareLink | None:
        link = self._shares.get(share_id)
        return link if link is not None and _live(link.expires_at) else None

    def shares_of(self, owner_id: str, gen_id: str) -> list[ShareLink]:
        return [
            link
            for link in self._shares.values()
            if link.owner_id == owner_id and link.gen_id == gen_id and _live(link.expires_at)
        ]

    def delete_share(self, share_id: str, gen_id: str) -> None:
        link = self._shares.get(share_id)
        if link is not None and link.gen_id == gen_id:
            del self._shares[share_id]

    # -- retention ------------------------------------------------------------------------------
    def _expiry(self, category: Category, event_time: datetime) -> datetime | None:
        return expiry(self._profile, category, event_time)

    def _job_expiry(self, created_at: datetime) -> datetime | None:
        if not self._profile.stores(Category.PROMPTS):
            return created_at + timedelta(days=JOB_STATE_DAYS)
        return self._expiry(Category.PROMPTS, created_at)


def _encode_cursor(owner_id: str, last_gen_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"owner": owner_id, "after": last_gen_id}).encode()).decode()


def _decode_cursor(cursor: str, owner_id: str) -> str:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        valid = position["owner"] == owner_id and isinstance(position["after"], str)
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise errors.InvalidInput("The cursor is invalid.")
    return position["after"]


class FakeObjects:
    """Objects by (bucket, key); ETags from the content, as S3's are for a single-part upload."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}

    def location(self, category: Category, user_id: str, object_id: str) -> tuple[str, str]:
        return object_key(category, user_id, object_id)

    def prefix(self, category: Category) -> str:
        return OBJECT_PREFIXES[category][1]

    def presigned_post(
        self, category: Category, user_id: str, object_id: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        bucket, key = self.location(category, user_id, object_id)
        return PresignedPost(f"https://{bucket}.objects.test/", {"key": key, "Content-Type": content_type}, expires_in)

    def presigned_get(self, bucket: str, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        return f"https://{bucket}.objects.test/{key}?expires_in={expires_in}"

    def read(self, bucket: str, key: str, *, max_bytes: int) -> StoredObject | None:
        stored = self.objects.get((bucket, key))
        if stored is None:
            return None
        data, _ = stored
        return StoredObject(etag=_etag(data), data=data if len(data) <= max_bytes else None)

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> str:
        self.objects[bucket, key] = (body, content_type)
        return _etag(body)

    def delete(self, bucket: str, key: str) -> None:
        self.objects.pop((bucket, key), None)

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(key for _, key in self.objects if key.startswith(prefix))


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324  (S3's ETag, not a security hash)


class FakeProvider:
    """A model provider listed in every profile that names fal.ai. Callbacks carry a shared mark
    instead of a signature; `callback` builds one for a submitted job."""

    name = "fal"
    title = "fal.ai"
    models: Mapping[str, str] = {"flux-schnell": "fal-ai/flux/schnell"}
    tools: Mapping[JobKind, str] = {
        JobKind.UPSCALE: "fake/upscale",
        JobKind.EDIT: "fake/edit",
        JobKind.CHARACTER_TRAINING: "fake/train",
        JobKind.CHARACTER_IMAGE: "fake/character",
        JobKind.VIDEO_RENDER: "fake/render",
    }
    GENUINE = "genuine"

    def __init__(self) -> None:
        self.submitted: list[tuple[JobRequest, str]] = []
        self.results: dict[str, bytes] = {}  # image URL -> bytes
        self.down = False
        self.deleted: list[str] = []  # request ids whose payloads were deleted (GEN-5)
        self.refuses_deletion = False
        self.cancelled: list[str] = []  # request ids taken off the queue (CNT-5)

    def submit(self, job: JobRequest, webhook_url: str) -> str:
        if self.down:
            raise errors.UpstreamUnavailable("The model provider could not be reached.")
        self.submitted.append((job, webhook_url))
        return f"req-{job.gen_id}"

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        if headers.get("x-fake-signature") != self.GENUINE:
            raise errors.SignatureInvalid("The webhook signature is invalid.")
        claim = json.loads(body)
        return Delivery(
            claim["request_id"], claim["succeeded"], claim.get("result_url"), claim.get("error"), claim.get("model_ref")
        )

    def confirm(self, delivery: Delivery, model: str) -> Delivery:
        return delivery

    def download(self, url: str, max_bytes: int) -> bytes:
        return self.results[url][: max_bytes + 1]

    def cancel(self, kind: JobKind, model: str, request_id: str) -> bool:
        if self.down:
            raise errors.UpstreamUnavailable("The model provider could not be reached.")
        self.cancelled.append(request_id)
        return True

    def delete_request(self, request_id: str) -> ProcessorAck:
        if not self.refuses_deletion:
            self.deleted.append(request_id)
        return ProcessorAck(self.title, "delete_request_payloads", request_id, not self.refuses_deletion)

    def callback(
        self, gen_id: str, *, succeeded: bool = True, image: bytes | None = None, model_ref: str | None = None
    ) -> tuple[str, dict, bytes]:
        """(job token, headers, body) of the provider's genuine callback for a submitted job: an
        image or MP4 result (`image`), or a trained character's weights (`model_ref`)."""
        _, webhook_url = next((job, url) for job, url in self.submitted if job.gen_id == gen_id)
        result_url = f"https://results.test/{gen_id}"
        if image is not None:
            self.results[result_url] = image
        claim = {"request_id": f"req-{gen_id}", "succeeded": succeeded, "result_url": result_url}
        body = json.dumps({**claim, "model_ref": model_ref}).encode()
        job_token = urlsplit(webhook_url).path.rsplit("/", 1)[-1]
        return job_token, {"x-fake-signature": self.GENUINE}, body


class FakeMarker:
    """Stands for the C2PA signer (tests/unit/test_marking.py reads the real one back): appends a
    visible mark naming the model and provider, and records what it marked (GEN-4)."""

    def __init__(self) -> None:
        self.marked: list[tuple[str, Provenance]] = []

    def mark(self, data: bytes, content_type: str, provenance: Provenance) -> bytes:
        self.marked.append((content_type, provenance))
        return data + self.trailer(provenance)

    @staticmethod
    def trailer(provenance: Provenance) -> bytes:
        return f"\nai-generated:{provenance.model}@{provenance.provider}".encode()
