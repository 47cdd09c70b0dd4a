"""Records of the 'content' table (uploads, generation jobs, gallery images, share links) and the
generation log of the 'logs' table.

Keys:
  USER#<user>      UPLOAD#<upload id>       an uploaded source image (CNT-1, CNT-2)
  GEN#<gen id>     JOB#<gen id>             a job of any kind: parameters, state, hold (GEN-1); the
                                            owner index lists a user's jobs newest first by it
  GEN#<gen id>     DEADLINE                 the job's timeout; its TTL delete fails an open job
  USER#<user>      IMG#<gen id>             a stored generated image or video: the gallery (CNT-3)
  USER#<user>      CHAR#<gen id>            a trained character, named by its training job
  SHARE#<share id> LINK#<gen id>            a share link to one image (CNT-4)
  USER#<user>      GENLOG#<time>#<gen id>   logs table: who asked for what, when (GEN-2)

Generation ids start with the creation time in hex, so a user's gallery sorts newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.profile.schema import Category
from chalicelib.store.base import Record

# A job whose profile keeps no prompts still needs its state until the result is delivered.
JOB_STATE_DAYS = 2


class Upload(Record):
    logical_table = "content"
    category = Category.UPLOADS

    personal_fields = ("object_key",)
    pk_prefix = "USER#"
    sk_prefix = "UPLOAD#"

    class Meta:
        table_name = "content"

    SK_PREFIX = "UPLOAD#"

    upload_id = UnicodeAttribute()
    object_key = UnicodeAttribute()
    declared_type = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")  # pending | ready | rejected
    image_format = UnicodeAttribute(null=True)  # PNG | JPEG | WEBP, read from the content
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    size = NumberAttribute(null=True)
    checked_etag = UnicodeAttribute(null=True)  # the object version we re-encoded and wrote (CNT-7)
    reason = UnicodeAttribute(null=True)  # why it was rejected, readable by the user
    created_at = UTCDateTimeAttribute()

    @classmethod
    def key(cls, user_id: str, upload_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", f"{cls.SK_PREFIX}{upload_id}"

    @classmethod
    def subject_keys(cls, subject):
        return [(f"USER#{subject.user_id}", None)]  # uploads, gallery images (content), generation logs


class Generation(Record):
    """The job. Holds the prompt and parameters only where the profile keeps prompts."""

    logical_table = "content"
    category = Category.PROMPTS

    personal_fields = ("prompt", "negative_prompt", "provider_request_id", "stored_key", "delivery_url")
    pk_prefix = "GEN#"
    sk_prefix = "JOB"

    class Meta:
        table_name = "content"

    gen_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()  # sha256 of the secret in the job's webhook URL
    provider = UnicodeAttribute()
    model = UnicodeAttribute()
    aspect_ratio = UnicodeAttribute()
    style = UnicodeAttribute()
    safety_level = UnicodeAttribute()
    prompt = UnicodeAttribute(null=True)
    negative_prompt = UnicodeAttribute(null=True)
    source_upload_id = UnicodeAttribute(null=True)
    cost = NumberAttribute()
    status = UnicodeAttribute(default="queued")  # queued | completed | failed
    failure = UnicodeAttribute(null=True)
    provider_request_id = UnicodeAttribute(null=True)  # the provider's id for the job, set at submit (GEN-3)
    stored_key = UnicodeAttribute(null=True)  # generated/<user>/<gen id> where images are stored
    delivery_url = UnicodeAttribute(null=True)  # the provider's URL where images are not stored
    delivery_until = UTCDateTimeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    image_format = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    kind = UnicodeAttribute(default="text-to-image")
    input_key = UnicodeAttribute(null=True)  # the job's input archive, deleted when it ends (CNT-5, CNT-6)
    character_id = UnicodeAttribute(null=True)
    character_name = UnicodeAttribute(null=True)
    scale = NumberAttribute(null=True)
    fps = NumberAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)  # a channel ("telegram"), never a chat or user id

    SK_PREFIX = "JOB#"

    @classmethod
    def key(cls, gen_id: str) -> tuple[str, str]:
        return f"GEN#{gen_id}", f"{cls.SK_PREFIX}{gen_id}"

    @classmethod
    def subject_keys(cls, subject):
        # The job and its deadline, by exact key: 100 per BatchGetItem, however many the person made.
        return [key for gen_id in subject.captured.gen_ids for key in (cls.key(gen_id), JobDeadline.key(gen_id))]

    def stamp_expiry(self) -> None:
        if self.expires_at is None and self._profile is not None and not self._profile.stores(Category.PROMPTS):
            self.expires_at = self.event_time() + timedelta(days=JOB_STATE_DAYS)
            return
        super().stamp_expiry()


class JobDeadline(Record):
    """A timer: when DynamoDB's TTL removes it, a job still open is failed and its hold released."""

    logical_table = "content"

    category = Category.PROMPTS
    operational_timer = True  # its TTL delete is the timeout / lapse: a legal hold leaves it (DSR-12)
    personal_fields = ()
    pk_prefix = "GEN#"
    sk_prefix = "DEADLINE"

    class Meta:
        table_name = "content"

    SK_PREFIX = "DEADLINE"

    gen_id = UnicodeAttribute()

    @staticmethod
    def key(gen_id: str) -> tuple[str, str]:
        return f"GEN#{gen_id}", JobDeadline.SK_PREFIX


class GalleryImage(Record):
    logical_table = "content"
    category = Category.GENERATED_IMAGES

    personal_fields = ("object_key",)
    pk_prefix = "USER#"
    sk_prefix = "IMG#"

    class Meta:
        table_name = "content"

    SK_PREFIX = "IMG#"

    gen_id = UnicodeAttribute()
    object_key = UnicodeAttribute()
    image_format = UnicodeAttribute()
    content_type = UnicodeAttribute()
    width = NumberAttribute()
    height = NumberAttribute()
    model = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @classmethod
    def key(cls, user_id: str, gen_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", f"{cls.SK_PREFIX}{gen_id}"


class Character(Record):
    """A trained character: the provider's reference to the weights, kept until its owner deletes it."""

    logical_table = "content"
    category = Category.CHARACTERS
    # the weights are trained on the owner's face: the reference to them is personal (GEN-5 deletes them)
    personal_fields = ("name", "model_ref", "trigger_word", "provider_request_id")
    pk_prefix = "USER#"
    sk_prefix = "CHAR#"

    class Meta:
        table_name = "content"

    SK_PREFIX = "CHAR#"

    character_id = UnicodeAttribute()
    name = UnicodeAttribute()
    provider = UnicodeAttribute()
    model_ref = UnicodeAttribute()
    trigger_word = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    provider_request_id = UnicodeAttribute(null=True)  # the training request: erasure deletes it (GEN-5)

    @classmethod
    def key(cls, user_id: str, character_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", f"{cls.SK_PREFIX}{character_id}"


class ShareLink(Record):
    """Points at one gallery image. An owner-chosen expiry becomes the TTL; revocation deletes it."""

    logical_table = "content"
    category = Category.GENERATED_IMAGES

    personal_fields = ()
    pk_prefix = "SHARE#"
    sk_prefix = "LINK#"

    class Meta:
        table_name = "content"

    SK_PREFIX = "LINK#"

    share_id = UnicodeAttribute()
    gen_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @classmethod
    def key(cls, share_id: str, gen_id: str) -> tuple[str, str]:
        return f"SHARE#{share_id}", f"{cls.SK_PREFIX}{gen_id}"

    @classmethod
    def subject_keys(cls, subject):
        # Captured as "<share id>/<gen id>": the exact key, 100 per BatchGetItem.
        return [cls.key(*captured.split("/", 1)) for captured in subject.captured.share_ids]

    def stamp_expiry(self) -> None:
        # The link never outlives the image's own retention, nor the expiry its owner chose.
        chosen = self.expires_at
        self.expires_at = None
        super().stamp_expiry()
        if chosen is not None and (self.expires_at is None or chosen < self.expires_at):
            self.expires_at = chosen


class GenerationLog(Record):
    logical_table = "logs"
    category = Category.GENERATION_LOGS

    personal_fields = ("user_id", "prompt", "negative_prompt")
    pk_prefix = "USER#"
    sk_prefix = "GENLOG#"

    class Meta:
        table_name = "logs"

    gen_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    prompt = UnicodeAttribute()
    negative_prompt = UnicodeAttribute(null=True)
    model = UnicodeAttribute()
    parameters = UnicodeAttribute()  # JSON: aspect ratio, style, safety level
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(user_id: str, created_at: datetime, gen_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", f"GENLOG#{created_at.isoformat()}#{gen_id}"

    @classmethod
    def subject_keys(cls, subject):
        return [(f"USER#{subject.user_id}", None)]
