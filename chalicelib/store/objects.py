"""S3 objects of the content bucket: presigned uploads with conditions, reads, copies, deletes and
short-lived download links. Keys always come from `layout.object_key` (per-user prefixes, CNT-1)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from chalicelib.domain.ports.content import PresignedPost, StoredObject
from chalicelib.profile.schema import Category
from chalicelib.store import hold_state
from chalicelib.store.layout import OBJECT_PREFIXES, clock_tagging, clock_tagging_xml, object_key, owner_of_key


class ObjectStore:
    """The ObjectStorage port on S3."""

    def __init__(self, *, client: Callable[[], Any], bucket_for: Any) -> None:
        self._client = client
        self._bucket_for = bucket_for  # logical bucket name -> physical name

    @cached_property
    def _s3(self) -> Any:
        return self._client()

    def location(self, category: Category, user_id: str, object_id: str) -> tuple[str, str]:
        logical, key = object_key(category, user_id, object_id)
        return self._bucket_for(logical), key

    def prefix(self, category: Category) -> str:
        return OBJECT_PREFIXES[category][1]

    def presigned_post(
        self, category: Category, user_id: str, object_id: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        """A form upload S3 itself refuses unless the size is in range, the type is as declared and it
        carries the clock tag its lifecycle rule expires (DSR-12: `held` while a legal hold is in force)."""
        bucket, key = self.location(category, user_id, object_id)
        tagging = clock_tagging_xml(held=hold_state.held(user_id))
        post = self._s3.generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields={"Content-Type": content_type, "tagging": tagging},
            Conditions=[
                ["content-length-range", 1, max_bytes],
                {"Content-Type": content_type},
                {"key": key},
                {"tagging": tagging},
            ],
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=post["url"], fields=post["fields"], expires_in=expires_in)

    def presigned_get(self, bucket: str, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        params = {"Bucket": bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        return self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def read(self, bucket: str, key: str, *, max_bytes: int) -> StoredObject | None:
        """The object's bytes and ETag, or None when it is missing."""
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None
        if int(response.get("ContentLength", 0)) > max_bytes:
            response["Body"].close()
            return StoredObject(etag=response["ETag"], data=None)
        return StoredObject(etag=response["ETag"], data=response["Body"].read(max_bytes + 1))

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> str:
        """Writes the object with its clock tag (DSR-12); returns its ETag."""
        return self._s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type, Tagging=_clock_for(key)
        )["ETag"]

    def delete(self, bucket: str, key: str) -> None:
        self._s3.delete_object(Bucket=bucket, Key=key)  # idempotent: a missing key is not an error


def _clock_for(key: str) -> str:
    """`running`, or `held` while the key's owner is under a legal hold (DSR-12)."""
    owner = owner_of_key(key)
    return clock_tagging(held=owner is not None and hold_state.held(owner))
