"""Scan every table and bucket the description lists: for secrets at rest, card data, and what
erasure left behind. Reusable by every suite that provisions resources from the description."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from infra.description import Description


@dataclass(frozen=True)
class Found:
    where: str  # "table:<name>" or "bucket:<name>/<key>"
    text: str


def stored_texts(session: Any, description: Description) -> Iterator[Found]:
    """Every stored item and object, as text (DynamoDB JSON / object bytes decoded leniently)."""
    dynamodb = session.client("dynamodb")
    for table in description.all_tables():
        for page in dynamodb.get_paginator("scan").paginate(TableName=table.name):
            for item in page["Items"]:
                yield Found(f"table:{table.name}", json.dumps(item, sort_keys=True, default=str))
    s3 = session.client("s3")
    for bucket in description.buckets:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket.name):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket.name, Key=obj["Key"])["Body"].read()
                yield Found(f"bucket:{bucket.name}/{obj['Key']}", obj["Key"] + "\n" + body.decode("latin-1"))


def matches(text: str, needles: list[str | re.Pattern]) -> list[str]:
    """The needles (plain substrings or regexes) found in `text`."""
    return [
        needle.pattern if isinstance(needle, re.Pattern) else needle
        for needle in needles
        if (needle.search(text) if isinstance(needle, re.Pattern) else needle in text)
    ]


def find(session: Any, description: Description, needles: list[str | re.Pattern]) -> list[tuple[str, str]]:
    """(where, needle) for each stored place containing any needle (plain substring or regex)."""
    found_in = stored_texts(session, description)
    return [(found.where, needle) for found in found_in for needle in matches(found.text, needles)]
