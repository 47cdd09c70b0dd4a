"""The content service on in-memory ports, for the content domain tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

from chalicelib.domain.content import ContentService
from chalicelib.profile.loader import load_profile
from chalicelib.profile.schema import JobKind, Profile
from tests.fakes.content import FakeContentRecords, FakeCreditHolds, FakeMarker, FakeObjects, FakeProvider

PUBLIC_URL = "https://api.test"
COSTS = {kind: cost for cost, kind in enumerate(JobKind, start=1)}  # every kind its own price


@dataclass
class Kit:
    service: ContentService
    records: FakeContentRecords
    holds: FakeCreditHolds
    objects: FakeObjects
    provider: FakeProvider
    profile: Profile
    marker: FakeMarker


def kit(profile_name: str = "kaleipix", watcher=None) -> Kit:
    profile = load_profile(profile_name)
    holds, objects, provider, marker = FakeCreditHolds(), FakeObjects(), FakeProvider(), FakeMarker()
    records = FakeContentRecords(holds=holds, profile=profile)
    service = ContentService(
        records=records,
        objects=objects,
        holds=holds,
        provider=provider,
        marker=marker,
        profile=profile,
        costs=COSTS,
        public_base_url=PUBLIC_URL,
        watcher=watcher,
    )
    return Kit(service, records, holds, objects, provider, profile, marker)


def png(size: tuple[int, int] = (8, 6), **info: bytes) -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    for key, value in info.items():
        text.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG", pnginfo=text)
    return buffer.getvalue()
