"""Job kinds: what each kind takes, what it keeps while it runs, and what it leaves (CNT-5, CNT-6, CNT-8).

- Upscale and edit take one checked upload; where the profile deletes uploads once processed, the
  upload goes when the job completes (CNT-8, `generations._complete`).
- Character training takes 4 to 20 checked uploads, and a video render 2 to 120 frames. At submit they
  are copied into ONE archive of the job under their own category's prefix (training/, render-inputs/)
  and the uploads are removed: the archive is then the only copy, and the provider reads it through a
  short-lived URL. It is deleted as soon as the job ends, completed, failed, timed out or cancelled
  (`release_inputs`); the prefix's lifecycle rule, from the profile's days, is the backstop.
- A training run leaves a character (the provider's reference to the trained weights), kept until its
  owner deletes it; an image of a character names it.
- The profile says which kinds a service offers; the billing catalogue prices each kind (PAY-2).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import clock, errors
from chalicelib.domain.ports.content import (
    ContentRecords,
    GenerationJob,
    JobStatus,
    ModelProvider,
    ObjectStorage,
    UploadStatus,
)
from chalicelib.domain.uploads import MAX_UPLOAD_BYTES
from chalicelib.profile.schema import Category, JobKind, Profile

TIMEOUTS: Mapping[JobKind, timedelta] = {
    JobKind.CHARACTER_TRAINING: timedelta(hours=2),
    JobKind.VIDEO_RENDER: timedelta(minutes=30),
}
DEFAULT_TIMEOUT = timedelta(minutes=15)
# How long a long job usually takes at the provider: the progress shown while it runs is an estimate
# from this (providers' queue APIs report queued/running, not a percentage).
EXPECTED: Mapping[JobKind, timedelta] = {
    JobKind.CHARACTER_TRAINING: timedelta(minutes=20),
    JobKind.VIDEO_RENDER: timedelta(minutes=2),
}
INPUT_CATEGORY: Mapping[JobKind, Category] = {
    JobKind.CHARACTER_TRAINING: Category.TRAINING_IMAGES,
    JobKind.VIDEO_RENDER: Category.RENDER_INPUTS,
}
INPUT_COUNTS: Mapping[JobKind, tuple[int, int]] = {
    JobKind.CHARACTER_TRAINING: (4, 20),
    JobKind.VIDEO_RENDER: (2, 120),
}
SOURCE_KINDS = frozenset({JobKind.UPSCALE, JobKind.EDIT})  # one upload, worked on
PROMPTED_KINDS = frozenset({JobKind.TEXT_TO_IMAGE, JobKind.EDIT, JobKind.CHARACTER_IMAGE})
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024
MAX_VIDEO_BYTES = 50 * 1024 * 1024
SCALES = (2, 4)
FPS_RANGE = (1, 60)


def timeout(kind: JobKind) -> timedelta:
    return TIMEOUTS.get(kind, DEFAULT_TIMEOUT)


def ensure_offered(kind: JobKind, profile: Profile, provider: ModelProvider, costs: Mapping[JobKind, int]) -> None:
    if not profile.offers(kind):
        raise errors.InvalidInput(
            "This service does not offer this kind of job.", details={"kinds": [str(k) for k in profile.job_kinds]}
        )
    if kind not in costs or (kind != JobKind.TEXT_TO_IMAGE and kind not in provider.tools):
        raise errors.UpstreamUnavailable("This kind of job is not available right now.")


# -- inputs -------------------------------------------------------------------------------------
def stage_inputs(
    *,
    kind: JobKind,
    user_id: str,
    gen_id: str,
    upload_ids: tuple[str, ...],
    content: ContentRecords,
    objects: ObjectStorage,
) -> str:
    """The uploads copied into one archive of the job under its kind's prefix; returns its key."""
    low, high = INPUT_COUNTS[kind]
    if not low <= len(upload_ids) <= high or len(set(upload_ids)) != len(upload_ids):
        raise errors.InvalidInput(f"This job takes {low} to {high} different uploads.")
    archive, total = io.BytesIO(), 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
        for number, upload_id in enumerate(upload_ids):
            upload = content.upload(user_id, upload_id)
            if upload is None:  # someone else's upload looks exactly like a missing one (CNT-1)
                raise errors.NotFound("No such upload.")
            if upload.status != UploadStatus.READY:
                raise errors.Conflict("An upload has not been checked yet, or it was rejected.")
            stored = objects.read(*objects.location(Category.UPLOADS, user_id, upload_id), max_bytes=MAX_UPLOAD_BYTES)
            if stored is None or stored.data is None:
                raise errors.Conflict("An upload is no longer available.")
            total += len(stored.data)
            if total > MAX_ARCHIVE_BYTES:
                raise errors.PayloadTooLarge("The uploads of one job may not exceed 50 MB together.")
            extension = (upload.image_format or "png").lower()
            bundle.writestr(f"{number:03d}.{extension}", stored.data)
    bucket, key = objects.location(INPUT_CATEGORY[kind], user_id, gen_id)
    objects.put(bucket, key, archive.getvalue(), content_type="application/zip")
    return key


def release_inputs(job: GenerationJob, objects: ObjectStorage) -> None:
    """CNT-5, CNT-6: the job has ended, so its input archive goes now (the lifecycle rule is the backstop)."""
    if job.input_key and job.kind in INPUT_CATEGORY:
        objects.delete(*objects.location(INPUT_CATEGORY[job.kind], job.owner_id, job.gen_id))


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckedVideo:
    data: bytes
    width: int
    height: int
    image_format: str = "MP4"
    content_type: str = "video/mp4"


def check_mp4(data: bytes) -> CheckedVideo | str:
    """An MP4 (ISO BMFF with an `ftyp` box first) and its video track's size, or a reason. The C2PA
    signer then parses the whole box structure before anything is kept or delivered."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return "The result is not an MP4 file."
    width = height = 0
    at = data.find(b"tkhd")
    while at != -1:
        size = int.from_bytes(data[at - 4 : at], "big")
        end = at - 4 + size
        if 8 + 84 <= size and end <= len(data):  # width and height: 16.16 fixed point, last 8 bytes
            track_width, track_height = (
                int.from_bytes(data[end - 8 : end - 4], "big") >> 16,
                int.from_bytes(data[end - 4 : end], "big") >> 16,
            )
            if track_width and track_height:
                width, height = track_width, track_height
                break
        at = data.find(b"tkhd", at + 4)
    if not (width and height):
        return "The MP4 has no video track."
    return CheckedVideo(data, width, height)


# -- views --------------------------------------------------------------------------------------
def progress(job: GenerationJob, now: datetime | None = None) -> dict | None:
    """A long job's progress for a progress bar: 100 once it ended, else an estimate from the kind's
    usual duration, never past 95 while it runs."""
    if job.kind not in EXPECTED:
        return None
    if job.status != JobStatus.QUEUED:
        return {"percent": 100, "estimated": False}
    elapsed = ((now or clock.now()) - job.created_at).total_seconds()
    percent = int(min(95, max(0, elapsed / EXPECTED[job.kind].total_seconds() * 100)))
    return {"percent": percent, "estimated": True}
