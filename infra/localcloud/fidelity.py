"""Where moto is weaker than the services it stands in for, and the local stand-in for the guarantee.

DynamoDB applies each request atomically, and a failed transaction touches nothing. moto runs
concurrent requests interleaved, and rolls a failed transaction back by restoring a copy of the
whole table taken before it started, which can erase another request's write made in between.
Handling DynamoDB requests one at a time restores DynamoDB's behaviour.

A stream consumer runs inside the write that produced the record (moto calls it synchronously);
it must not call DynamoDB for plain records, or it would wait on this lock. Ours act only on TTL
deletes, which the sweeper delivers outside any DynamoDB request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def dynamodb_requests_one_at_a_time() -> Iterator[None]:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def one_at_a_time(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    DynamoHandler.call_action = one_at_a_time
    try:
        yield
    finally:
        DynamoHandler.call_action = original


@contextmanager
def s3_post_tagging() -> Iterator[None]:
    """S3 applies a browser POST upload's `tagging` form field (Tagging XML) to the object it
    stores; moto stores the object and drops the field. The clock tag lifecycle rules filter on
    (DSR-12) rides in that field, so the stand-in applies it after moto's own handling."""
    import xmltodict
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def with_tagging(self, request, bucket_name):
        answer = original(self, request, bucket_name)
        fields = getattr(self, "querystring", {}) or {}
        tagging, key = fields.get("tagging"), fields.get("key")
        if tagging and key and int(answer[0]) < 300:
            tags = xmltodict.parse(tagging[0]).get("Tagging", {}).get("TagSet", {}).get("Tag", [])
            tags = tags if isinstance(tags, list) else [tags]
            stored = self.backend.get_object(bucket_name, key[0])
            self.backend.put_object_tagging(stored, {tag["Key"]: tag["Value"] for tag in tags})
        return answer

    S3Response._bucket_response_post = with_tagging
    try:
        yield
    finally:
        S3Response._bucket_response_post = original
