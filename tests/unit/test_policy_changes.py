"""OPS-2: a new policy version is compared with the one before and classified; the compiler writes
the dated history, with each version's changes, into the compiled profile."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.profile.changes import classify
from chalicelib.profile.compile import load_with_history, module_source
from chalicelib.profile.loader import ProfileError, load_profile
from chalicelib.profile.schema import Category, LegalBasis, Processor, Retention, RetentionKind
from tests.conftest import PROFILES
from tests.support.policy_versions import V2, consent_category, later_version, with_new_consent_purpose


def _kinds(before, after) -> set[tuple[str, str, bool]]:
    return {(c.kind, c.subject, c.significant) for c in classify(before, after)}


def _with_category(profile, category_id, **changes):
    categories = [replace(c, **changes) if c.id == category_id else c for c in profile.categories]
    return replace(profile, categories=categories)


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_the_same_policy_has_no_changes(name):
    profile = load_profile(name)
    assert classify(profile, profile) == []


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_a_new_category_is_significant_and_a_removed_one_minor(name):
    profile = load_profile(name)
    fewer = replace(
        profile,
        categories=[c for c in profile.categories if c.id != Category.TECHNICAL_LOGS],
        processors=[
            replace(p, receives=[c for c in p.receives if c != Category.TECHNICAL_LOGS]) for p in profile.processors
        ],
    )
    assert ("new_category", "technical_logs", True) in _kinds(fewer, profile)
    assert _kinds(profile, fewer) == {("removed_category", "technical_logs", False)}


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_longer_retention_is_significant_and_shorter_minor(name):
    profile = load_profile(name)
    account = profile.category(Category.ACCOUNT)
    longer = _with_category(
        profile, Category.ACCOUNT, retention=replace(account.retention, days=(account.retention.days or 0) + 30)
    )
    assert _kinds(profile, longer) == {("longer_retention", "account", True)}
    assert _kinds(longer, profile) == {("shorter_retention", "account", False)}


def test_ops2_retention_reach_orders_kinds_not_only_days():
    """Kept until the person deletes it reaches further than any fixed period; not stored is shortest."""
    profile = load_profile("pixera")
    fixed = _with_category(profile, Category.UPLOADS, retention=Retention(RetentionKind.FIXED, days=3000))
    forever = _with_category(profile, Category.UPLOADS, retention=Retention(RetentionKind.UNTIL_USER_DELETES))
    gone = _with_category(profile, Category.UPLOADS, retention=Retention(RetentionKind.NOT_STORED))
    assert _kinds(fixed, forever) == {("longer_retention", "uploads", True)}
    assert _kinds(gone, fixed) == {("longer_retention", "uploads", True)}
    assert _kinds(fixed, gone) == {("shorter_retention", "uploads", False)}


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_a_new_processor_and_transfer_are_significant_and_a_removed_processor_minor(name):
    profile = load_profile(name)
    newcomer = Processor(
        name="Example Mail Ltd", purpose="Email delivery", country="Japan", receives=[Category.ACCOUNT], kind="email"
    )
    more = replace(profile, processors=[*profile.processors, newcomer])
    assert _kinds(profile, more) == {
        ("new_processor", "Example Mail Ltd", True),
        ("new_transfer", "Japan", True),
    }
    assert _kinds(more, profile) == {("removed_processor", "Example Mail Ltd", False)}


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_a_processor_receiving_more_is_significant(name):
    profile = load_profile(name)
    index, first = next((i, p) for i, p in enumerate(profile.processors) if len(p.receives) < len(profile.categories))
    extra = next(c.id for c in profile.categories if c.id not in first.receives)
    processors = list(profile.processors)
    processors[index] = replace(first, receives=[*first.receives, extra])
    assert _kinds(profile, replace(profile, processors=processors)) == {("new_recipient", first.name, True)}


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_a_new_consent_purpose_is_significant(name):
    """A category moved onto consent asks a purpose anew: the person must answer (re-consent)."""
    profile = load_profile(name)
    consent = _with_category(profile, Category.TECHNICAL_LOGS, legal_basis=LegalBasis.CONSENT)
    kinds = _kinds(profile, consent)
    assert ("new_consent_purpose", "technical_logs", True) in kinds
    assert "technical_logs" in consent.consent_purposes


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_wording_is_minor(name):
    profile = load_profile(name)
    account = profile.category(Category.ACCOUNT)
    reworded = _with_category(profile, Category.ACCOUNT, title=account.title + " (your profile)")
    changes = classify(profile, reworded)
    assert [(c.kind, c.significant) for c in changes] == [("wording", False)]
    assert "categories[account].title" in changes[0].subject
    renamed = replace(profile, service=replace(profile.service, note="Clarified."))
    assert [c.kind for c in classify(profile, renamed)] == ["wording"]


# -- the compiler -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PROFILES)
def test_ops2_the_shipped_profile_has_one_dated_version(name):
    """No past version of the real policies is invented: each profile starts its history with itself."""
    profile = load_profile(name)
    assert [(r.version, r.effective, r.changes) for r in profile.history] == [
        (profile.policy.version, profile.policy.effective, [])
    ]


@pytest.mark.parametrize("name", PROFILES)
def test_ops2_compiler_writes_the_history_classified_from_the_snapshot(name, tmp_path):
    profile = with_new_consent_purpose(tmp_path, name)
    shipped = load_profile(name)
    first, second = profile.history
    assert (first.version, first.changes) == (shipped.policy.version, [])
    assert (second.version, second.effective.isoformat()) == (V2, V2)
    assert profile.policy.version == V2
    added = consent_category(shipped).value
    assert {(c.kind, c.subject) for c in second.changes} == {("new_category", added), ("new_consent_purpose", added)}
    assert second.significant
    assert second.consent_purposes_added == [added]
    # The compiled module carries it: a Lambda reads the history without the compiler or TOML.
    namespace: dict = {}
    exec(module_source(profile, f"{name}.toml"), namespace)  # noqa: S102 - our own generated module
    assert namespace["PROFILE"] == profile


def test_ops2_a_minor_version_is_compiled_as_not_significant(tmp_path):
    profile = later_version(tmp_path, "kaleipix", replace=(('title = "Account data"', 'title = "Your account"'),))
    latest = profile.history[-1]
    assert [(c.kind, c.significant) for c in latest.changes] == [("wording", False)]
    assert not latest.significant


def test_ops2_a_version_older_than_its_snapshot_refuses_to_compile(tmp_path):
    with pytest.raises(ProfileError, match=r"field 'policy'.*must be newer"):
        later_version(tmp_path, "pixera", version="2020-01-01")


def test_ops2_history_is_never_typed_in_the_toml(tmp_path):
    with pytest.raises(ProfileError, match="field 'history'"):
        later_version(tmp_path, "pixera", append="\n[[history]]\nversion = \"x\"\n")


def test_ops2_a_snapshot_must_be_named_by_its_version(tmp_path):
    later_version(tmp_path, "pixera")
    snapshot = next((tmp_path / "history" / "pixera").glob("*.toml"))
    snapshot.rename(snapshot.with_name("renamed.toml"))
    with pytest.raises(ProfileError, match="named by its version"):
        load_with_history(tmp_path / "pixera.toml")
