"""What uploads, generation, the gallery and share links need from the world (CNT-1..8,
GEN-1..4, SEC-7): the content records, the object storage, the credit holds, a model provider and
the AI-generated marker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from chalicelib.domain.ports.processors import ProcessorAck
from chalicelib.profile.schema import Category, JobKind


class UploadStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"


class JobStatus(StrEnum):
    QUEUED = "queued"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Upload:
    owner_id: str
    upload_id: str
    object_key: str
    declared_type: str
    created_at: datetime
    expires_at: datetime | None = None
    status: UploadStatus = UploadStatus.PENDING
    image_format: str | None = None  # PNG | JPEG | WEBP, read from the content
    width: int | None = None
    height: int | None = None
    size: int | None = None
    checked_etag: str | None = None  # the object version we re-encoded and wrote (CNT-7)
    reason: str | None = None  # why it was rejected, readable by the user


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """What the upload processor learnt from the bytes it re-encoded and wrote back."""

    image_format: str
    width: int
    height: int
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class GenerationJob:
    """The job. Holds the prompt only where the profile keeps prompts."""

    gen_id: str
    owner_id: str
    token_hash: str  # sha256 of the secret in the job's webhook URL
    provider: str
    model: str
    aspect_ratio: str
    style: str
    safety_level: str
    cost: int
    created_at: datetime
    prompt: str | None = None
    negative_prompt: str | None = None
    source_upload_id: str | None = None
    status: JobStatus = JobStatus.QUEUED
    failure: str | None = None
    provider_request_id: str | None = None  # the provider's id for the job, set at submit (GEN-3)
    stored_key: str | None = None
    delivery_url: str | None = None  # the provider's URL where images are not stored (CNT-3)
    delivery_until: datetime | None = None
    width: int | None = None
    height: int | None = None
    image_format: str | None = None
    finished_at: datetime | None = None
    kind: JobKind = JobKind.TEXT_TO_IMAGE
    input_key: str | None = None  # the job's own input archive (training images, frames), gone when it ends
    character_id: str | None = None  # character-image: the character drawn
    character_name: str | None = None  # character training: the name its owner gave it
    scale: int | None = None  # upscale factor
    fps: int | None = None  # video-render frame rate
    content_type: str | None = None  # of a stored result (image/png, video/mp4, ...)
    reply_to: str | None = None  # where the result is also sent when the job ends: "telegram" (the bot), or nowhere


@dataclass(frozen=True, slots=True)
class Character:
    """A trained character (avatar): the provider's reference to the trained model, kept until its
    owner deletes it. The training images themselves are gone when the training ends (CNT-5)."""

    owner_id: str
    character_id: str  # the id of the training job that made it
    name: str
    provider: str
    model_ref: str  # the provider's reference to the trained weights
    trigger_word: str
    created_at: datetime
    # The training request at the provider: its output files are the weights, deleted with the
    # character (GEN-5); the job's own record may expire long before.
    provider_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class GenerationLogEntry:
    """Who asked for what, when (GEN-2)."""

    gen_id: str
    user_id: str
    prompt: str
    negative_prompt: str | None
    model: str
    parameters: str  # JSON: aspect ratio, style, safety level
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A result kept in the gallery: the job completes and its gallery image appears together."""

    object_key: str
    image_format: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class TrainedCharacter:
    """A training job's result: the character is written with the job's end, in one transaction."""

    character: Character


@dataclass(frozen=True, slots=True)
class DeliveredResult:
    """A result handed out by the provider's own URL, never copied (CNT-3)."""

    url: str
    until: datetime


@dataclass(frozen=True, slots=True)
class GalleryImage:
    owner_id: str
    gen_id: str
    object_key: str
    image_format: str
    content_type: str
    width: int
    height: int
    model: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShareLink:
    share_id: str
    owner_id: str
    gen_id: str
    created_at: datetime
    expires_at: datetime | None = None  # the owner's choice; the image's retention caps it


@dataclass(frozen=True, slots=True)
class StoredObject:
    etag: str  # names this version of the object: a rewrite of the key gets another
    data: bytes | None  # None when the object is larger than the reader's limit


@dataclass(frozen=True, slots=True)
class PresignedPost:
    url: str
    fields: Mapping[str, str]
    expires_in: int


@dataclass(frozen=True, slots=True)
class JobRequest:
    """Everything the provider needs for one job, and nothing about the person asking (GEN-1)."""

    gen_id: str
    model: str  # our public model name; the adapter maps it to the provider's id
    prompt: str
    negative_prompt: str | None
    aspect_ratio: str
    style: str
    safety_level: str
    source_image_url: str | None = None  # a short-lived GET of the user's own upload
    kind: JobKind = JobKind.TEXT_TO_IMAGE
    inputs_url: str | None = None  # a short-lived GET of the job's input archive (zip of images)
    character_ref: str | None = None  # character-image: the trained weights to draw with
    trigger_word: str | None = None  # the word a trained character answers to
    scale: int | None = None
    fps: int | None = None

    def styled_prompt(self) -> str:
        return self.prompt if self.style == "none" else f"{self.prompt}, {self.style.replace('-', ' ')} style"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook's claim about a job, once the adapter has authenticated it (GEN-3)."""

    request_id: str
    succeeded: bool
    result_url: str | None = None  # the image or MP4 the job made
    error: str | None = None
    model_ref: str | None = None  # character training: the trained weights


@dataclass(frozen=True, slots=True)
class Provenance:
    """What the AI-generated marking states about a result (GEN-4): the model and the provider that
    made it. Nothing about the person who asked is ever part of it."""

    model: str
    provider: str  # the provider's name as the policy lists it


class Uploads(Protocol):
    def new_upload(self, upload: Upload) -> None:
        """Writes a new pending upload; Conflict if the id is taken."""

    def upload(self, owner_id: str, upload_id: str) -> Upload | None:
        """The live upload, or None (expired, missing or someone else's)."""

    def uploads(self, owner_id: str) -> list[Upload]: ...

    def mark_upload_ready(self, owner_id: str, upload_id: str, image: CheckedImage) -> None:
        """From now on the profile's retention for uploads applies (the pending expiry goes)."""

    def mark_upload_rejected(self, owner_id: str, upload_id: str, reason: str) -> None: ...

    def delete_upload(self, owner_id: str, upload_id: str) -> None: ...


class Jobs(Protocol):
    def job(self, gen_id: str) -> GenerationJob | None: ...

    def open_job(self, job: GenerationJob, *, deadline: datetime, log: GenerationLogEntry | None) -> None:
        """Holds `job.cost` credits under the job's id together with the job, its timeout and its log,
        all or nothing (GEN-1). InsufficientCredits when the balance is short; a repeat changes nothing."""

    def bind_job(self, gen_id: str, provider_request_id: str) -> None:
        """Records the provider's id for the job, once: callbacks must name it (GEN-3)."""

    def finish_job(
        self,
        job: GenerationJob,
        status: JobStatus,
        *,
        forget_prompt: bool,
        failure: str | None = None,
        result: StoredResult | DeliveredResult | TrainedCharacter | None = None,
    ) -> bool:
        """Moves an open job to `status` once; a StoredResult's gallery image, or a trained
        character, is written with it. False when another delivery finished it first."""

    def delete_job(self, gen_id: str) -> None: ...

    def jobs(
        self, owner_id: str, *, kind: JobKind | None, limit: int, cursor: str | None
    ) -> tuple[list[GenerationJob], str | None]:
        """The owner's jobs newest first, of one kind or all; the cursor is bound to the owner."""


class Characters(Protocol):
    def character(self, owner_id: str, character_id: str) -> Character | None: ...

    def characters(self, owner_id: str) -> list[Character]: ...

    def delete_character(self, owner_id: str, character_id: str) -> None: ...


class Gallery(Protocol):
    def image(self, owner_id: str, gen_id: str) -> GalleryImage | None: ...

    def images(self, owner_id: str, *, limit: int, cursor: str | None) -> tuple[list[GalleryImage], str | None]:
        """Newest first; the cursor is opaque and bound to the owner (InvalidInput otherwise)."""

    def delete_image(self, owner_id: str, gen_id: str) -> None: ...


class Shares(Protocol):
    def new_share(self, link: ShareLink) -> ShareLink:
        """Writes the link; returns it with the expiry it really got (never past the image's)."""

    def share(self, share_id: str) -> ShareLink | None: ...

    def shares_of(self, owner_id: str, gen_id: str) -> list[ShareLink]: ...

    def delete_share(self, share_id: str, gen_id: str) -> None: ...


class ContentRecords(Uploads, Jobs, Characters, Gallery, Shares, Protocol):
    """Every content record the area keeps."""


class ObjectStorage(Protocol):
    """Objects under per-user keys (CNT-1): `location` names the bucket and key of each."""

    def location(self, category: Category, user_id: str, object_id: str) -> tuple[str, str]: ...

    def prefix(self, category: Category) -> str: ...

    def presigned_post(
        self, category: Category, user_id: str, object_id: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        """A form upload the storage itself refuses unless size, type and key are as stated (SEC-7)."""

    def presigned_get(self, bucket: str, key: str, *, expires_in: int, content_type: str | None = None) -> str: ...

    def read(self, bucket: str, key: str, *, max_bytes: int) -> StoredObject | None: ...

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> str:
        """Writes the object; returns its ETag."""

    def delete(self, bucket: str, key: str) -> None:
        """Idempotent: a missing key is not an error."""


class ContentMarker(Protocol):
    def mark(self, data: bytes, content_type: str, provenance: Provenance) -> bytes:
        """The same media with a signed, machine-readable "AI-generated" marking embedded (GEN-4).
        UpstreamUnavailable when it cannot be marked: nothing unmarked leaves or is kept."""


class JobWatcher(Protocol):
    """Told once when a job that names a `reply_to` channel ends, whichever way (the Telegram bot
    sends the image or says what went wrong). The job's state never depends on it."""

    def job_ended(self, job: GenerationJob) -> None: ...


class CreditHolds(Protocol):
    """The part of the credit ledger a generation settles with; the hold itself is taken by
    `Jobs.open_job`, in the job's own transaction."""

    def commit(self, hold_id: str) -> bool: ...

    def release(self, hold_id: str) -> bool: ...

    def hold_state(self, hold_id: str) -> str | None:
        """'held' | 'committed' | 'released', or None when there is no such hold."""


class ModelProvider(Protocol):
    name: str
    title: str  # as the policy profile lists it among the processors (GEN-1)
    models: Mapping[str, str]  # text-to-image: public model name -> the provider's model or endpoint id
    tools: Mapping[JobKind, str]  # every other kind it runs -> its model or endpoint id

    def submit(self, job: JobRequest, webhook_url: str) -> str:
        """Queues the job with the webhook to call; returns the provider's request id."""

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Authenticates a webhook and reads it; SignatureInvalid for anything not genuine (GEN-3)."""

    def confirm(self, delivery: Delivery, model: str) -> Delivery:
        """What the provider itself says about the job (RunPod: re-fetched; signed ones: as is)."""

    def download(self, url: str, max_bytes: int) -> bytes:
        """The result's bytes (an image or an MP4)."""

    def cancel(self, kind: JobKind, model: str, request_id: str) -> bool:
        """Takes a job off the provider's queue; True when it stopped or had ended already."""

    def delete_request(self, request_id: str) -> ProcessorAck:
        """GEN-5: the provider forgets what it kept of one request (payloads, output files), or
        acknowledges that its documented retention already removes it."""
