"""The longest a category's data can exist, computed from the mechanisms that delete it (OPS-9).

The policy page states these bounds, never the nominal period alone, and a profile promising a
tighter one (`retention.deleted_within_hours`) refuses to load, unless the code deletes that data
explicitly when its processing completes (the timers then only catch leftovers). Facts:
- DynamoDB TTL deletes an expired item typically within 48 hours of its expiry, not at it;
- an S3 lifecycle rule of N days expires an object at the first midnight UTC after N days, and
  lifecycle runs once a day: up to a day more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chalicelib.profile.schema import Category, Profile, RetentionKind

TTL_LAG = timedelta(hours=48)
LIFECYCLE_ROUNDING = timedelta(days=1)

# Categories kept as objects, each under its own lifecycle rule (chalicelib/store/layout.py).
OBJECT_CATEGORIES = frozenset(
    {Category.UPLOADS, Category.GENERATED_IMAGES, Category.TRAINING_IMAGES, Category.RENDER_INPUTS, Category.EXPORTS}
)

# Where the code deletes `until_processed` data the moment its processing is over; the function
# named is the mechanism (tests resolve each name and exercise it).
EXPLICIT_DELETION: dict[Category, str] = {
    Category.UPLOADS: "chalicelib.domain.generations.remove_used_upload",  # when the job using it completes
    Category.GENERATED_IMAGES: "chalicelib.domain.gallery.collect_result",  # when the result is delivered
    Category.PROMPTS: "chalicelib.domain.generations.forgets_prompts",  # when the job ends
}


@dataclass(frozen=True, slots=True)
class DeletionBound:
    """How data of one category goes, and at the latest when (None: an action ends it, no clock)."""

    category: Category
    on_completion: bool  # deleted explicitly when processing completes
    latest: timedelta | None  # after its event, counting every mechanism's lag
    lag: timedelta | None  # what the timers add to the nominal period

    @property
    def promise_bound(self) -> timedelta | None:
        """What a promise of deletion "within N hours" can rest on."""
        return timedelta(0) if self.on_completion else self.latest


def deletion_bound(profile: Profile, category: Category) -> DeletionBound:
    retention = profile.category(category).retention
    on_completion = retention.kind == RetentionKind.UNTIL_PROCESSED and category in EXPLICIT_DELETION
    if not retention.time_limited:
        return DeletionBound(category, on_completion, None, None)
    lag = max(TTL_LAG, LIFECYCLE_ROUNDING if category in OBJECT_CATEGORIES else timedelta(0))
    return DeletionBound(category, on_completion, timedelta(days=retention.days) + lag, lag)


def hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


def unkept_promises(profile: Profile) -> list[tuple[Category, int, int]]:
    """(category, promised hours, guaranteed hours) for every promise the mechanisms cannot keep."""
    broken = []
    for entry in profile.categories:
        promised = entry.retention.deleted_within_hours
        if promised is None:
            continue
        bound = deletion_bound(profile, entry.id).promise_bound
        if bound is None or hours(bound) > promised:
            broken.append((entry.id, promised, hours(bound) if bound is not None else -1))
    return broken
