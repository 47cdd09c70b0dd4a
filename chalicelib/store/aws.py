"""One botocore session per process, shared by every AWS client: pynamodb's, boto3's and Powertools'.

Each new botocore session parses the SDK's endpoint, partition and service data again; a second
session costs a cold Lambda several times what a second client on the same session does. Built on
first use, under a lock (botocore builds clients unsafely across threads); `reset()` forgets them
(tests, and the local cloud after changing the environment).
"""

from __future__ import annotations

import threading
from functools import cache, lru_cache
from typing import Any

from chalicelib.settings import get_settings

building = threading.RLock()  # held while a client is built on the shared session


@lru_cache(maxsize=1)
def botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@lru_cache(maxsize=1)
def _boto3_session() -> Any:
    import boto3

    return boto3.Session(botocore_session=botocore_session(), region_name=get_settings().region)


@cache
def client(service: str) -> Any:
    """A boto3 client of the shared session (clients are safe to share across threads once built)."""
    with building:
        return _boto3_session().client(service)


def resource(service: str) -> Any:
    with building:
        return _boto3_session().resource(service)


def reset() -> None:
    for cached in (botocore_session, _boto3_session, client):
        cached.cache_clear()
