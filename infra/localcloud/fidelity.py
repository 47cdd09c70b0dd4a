"""Where moto's DynamoDB is weaker than DynamoDB, and the local stand-in for the guarantee.

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
