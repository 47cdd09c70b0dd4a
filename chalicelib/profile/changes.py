"""What changed between two versions of a policy, and whether people must be told (OPS-2).

A pure function of the two profiles: the compiler runs it on each pair of consecutive versions
(the snapshots in `profiles/history/<id>/`, then the current TOML), so a version's classification
is computed, never typed. Significant: a new data category, a longer retention, a new processor, a
processor receiving a category it did not, a new transfer destination, a new consent purpose.
Minor: a removed category, a shorter retention, a removed processor, wording.
"""

from __future__ import annotations

from chalicelib.profile.schema import (
    DataCategory,
    LegalBasis,
    PolicyChange,
    Profile,
    Retention,
    RetentionKind,
    plain,
)

# How far a retention reaches: nothing kept, kept a bounded time, kept until something happens.
_UNBOUNDED = {
    RetentionKind.UNTIL_USER_DELETES,
    RetentionKind.UNTIL_CONSENT_WITHDRAWN,
    RetentionKind.ACCOUNT_LIFETIME_PLUS,
}
# Fields whose differences are classified on their own; any other difference is wording.
_CATEGORY_CLASSIFIED = frozenset({"retention"})
_PROCESSOR_CLASSIFIED = frozenset({"receives"})
_PROFILE_CLASSIFIED = frozenset({"policy", "history", "categories", "processors"})


def retention_reach(retention: Retention) -> tuple[int, float]:
    """Comparable length of a retention: (0, 0) not stored; (1, hours) a bounded time; (2, days
    of grace) until the person, the account or consent ends it."""
    if retention.kind == RetentionKind.NOT_STORED:
        return (0, 0)
    if retention.kind in _UNBOUNDED:
        return (2, retention.days or 0)
    hours = (retention.days or 0) * 24
    if retention.deleted_within_hours is not None:
        hours = min(hours, retention.deleted_within_hours)
    return (1, hours)


def _describe(retention: Retention) -> str:
    days = f" {retention.days} days" if retention.days is not None else ""
    return f"{retention.kind.value.replace('_', ' ')}{days}"


def _category_changes(before: DataCategory, after: DataCategory) -> list[PolicyChange]:
    name = after.id.value
    changes: list[PolicyChange] = []
    old, new = retention_reach(before.retention), retention_reach(after.retention)
    if new > old:
        text = f"{after.title}: kept longer ({_describe(before.retention)} → {_describe(after.retention)})"
        changes.append(PolicyChange("longer_retention", name, text))
    elif new < old:
        text = f"{after.title}: kept for less time ({_describe(before.retention)} → {_describe(after.retention)})"
        changes.append(PolicyChange("shorter_retention", name, text))
    if after.legal_basis == LegalBasis.CONSENT and before.legal_basis != LegalBasis.CONSENT:
        changes.append(PolicyChange("new_consent_purpose", name, f"{after.title}: now only with your consent"))
    return changes


def _wording(path: str, before: dict, after: dict, classified: frozenset[str]) -> list[str]:
    keys = sorted((set(before) | set(after)) - classified)
    return [f"{path}{key}" for key in keys if before.get(key) != after.get(key)]


def classify(before: Profile, after: Profile) -> list[PolicyChange]:
    """Every difference from `before` to `after`, each with its kind (OPS-2)."""
    changes: list[PolicyChange] = []
    reworded: list[str] = []
    old_categories = {c.id: c for c in before.categories}
    new_categories = {c.id: c for c in after.categories}
    for cid, category in new_categories.items():
        if cid not in old_categories:
            changes.append(PolicyChange("new_category", cid.value, f"New data collected: {category.title}"))
            if category.legal_basis == LegalBasis.CONSENT:
                changes.append(PolicyChange("new_consent_purpose", cid.value, f"{category.title}: asks your consent"))
            continue
        changes.extend(_category_changes(old_categories[cid], category))
        reworded += _wording(
            f"categories[{cid.value}].", plain(old_categories[cid]), plain(category), _CATEGORY_CLASSIFIED
        )
    for cid, category in old_categories.items():
        if cid not in new_categories:
            changes.append(PolicyChange("removed_category", cid.value, f"No longer collected: {category.title}"))

    old_processors = {p.name: p for p in before.processors}
    new_processors = {p.name: p for p in after.processors}
    for name, processor in new_processors.items():
        previous = old_processors.get(name)
        if previous is None:
            text = f"New processor: {name} ({processor.purpose}, {processor.country})"
            changes.append(PolicyChange("new_processor", name, text))
            continue
        wider = sorted(c.value for c in set(processor.receives) - set(previous.receives))
        if wider:
            changes.append(PolicyChange("new_recipient", name, f"{name} now receives: {', '.join(wider)}"))
        reworded += _wording(f"processors[{name}].", plain(previous), plain(processor), _PROCESSOR_CLASSIFIED)
    for name in old_processors:
        if name not in new_processors:
            changes.append(PolicyChange("removed_processor", name, f"No longer used: {name}"))
    old_countries = {p.country for p in before.processors}
    for country in sorted({p.country for p in after.processors} - old_countries):
        changes.append(PolicyChange("new_transfer", country, f"Data now transferred to: {country}"))

    reworded += _wording("", plain(before), plain(after), _PROFILE_CLASSIFIED)
    if reworded:
        changes.append(PolicyChange("wording", ", ".join(reworded), "Wording and clarifications"))
    return changes
