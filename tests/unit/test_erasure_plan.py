"""DSR-4, PAY-3: the erasure plan is derived from the record classes and the profile. Every record class
declares its data category and its personal fields, and every profile gives each one a fate."""

from __future__ import annotations

import pytest

from chalicelib.domain.ports.rights import RecordKind
from chalicelib.domain.rights.erasure_plan import Fate, UndeclaredRecord, fate, plan
from chalicelib.profile.loader import available_profiles, load_profile
from chalicelib.profile.schema import Category, RetentionKind
from chalicelib.store.base import Record, record_class_of, record_classes


def _kind(cls: type[Record]) -> RecordKind:
    return RecordKind(cls.__name__, cls.logical_table, cls.category, cls.personal_fields)


@pytest.mark.parametrize("profile_name", available_profiles())
@pytest.mark.parametrize("cls", record_classes(), ids=lambda cls: cls.__name__)
def test_dsr4_every_record_class_has_a_declared_fate_in_every_profile(cls, profile_name):
    """A record class without a category or personal fields fails here: the plan cannot place it."""
    profile = load_profile(profile_name)
    if cls.about_no_one:  # the breach register: names nobody, so no category and nothing to erase
        assert (cls.category, cls.personal_fields) == (None, ()), cls.__name__
        assert "owner_id" not in {cls.pk_prefix, cls.sk_prefix}
        return
    assert cls.category is not None, f"{cls.__name__} declares no data category"
    assert cls.personal_fields is not None, f"{cls.__name__} declares no personal fields"
    attributes = set(cls.get_attributes())
    assert set(cls.personal_fields) <= attributes, f"{cls.__name__} lists fields it does not have"
    legal = profile.has(cls.category) and profile.category(cls.category).retention.kind == RetentionKind.LEGAL
    assert fate(profile, _kind(cls)) is (Fate.DETACH if legal else Fate.DELETE)


def test_dsr4_a_record_class_without_a_category_is_refused():
    profile = load_profile("kaleipix")
    with pytest.raises(UndeclaredRecord):
        plan(profile, [RecordKind("NewThing", "content", None, ())])
    with pytest.raises(UndeclaredRecord):
        plan(profile, [RecordKind("NewThing", "content", Category.UPLOADS, None)])


@pytest.mark.parametrize("profile_name", available_profiles())
def test_pay3_money_and_request_records_are_kept_detached_and_content_is_deleted(profile_name):
    fates = plan(load_profile(profile_name), [_kind(cls) for cls in record_classes() if not cls.about_no_one])
    for name in ("LedgerEntry", "CreditBalance", "PaymentRecord", "RightsRequest", "RequestEvent"):
        assert fates[name][0] is Fate.DETACH, name
    for name in (
        "User",
        "Claim",
        "Upload",
        "GalleryImage",
        "ShareLink",
        "RateCounter",
        "LoginCode",
        "ExportRecord",
        "AffectedPerson",  # OPS-5: the person's place in a breach's list goes with them
    ):
        assert fates[name][0] is Fate.DELETE, name
    assert "customer_id" in fates["PaymentRecord"][1]


def test_dsr4_each_stored_key_belongs_to_exactly_one_record_class():
    """The plan finds an item's class by the key prefixes each class declares; none may be ambiguous."""
    for cls in record_classes():
        pk, sk = f"{cls.pk_prefix}x", f"{cls.sk_prefix}y"
        assert record_class_of(cls.logical_table, pk, sk) is cls, cls.__name__
    seen = {}
    for cls in record_classes():
        key = (cls.logical_table, cls.pk_prefix, cls.sk_prefix)
        assert key not in seen, f"{cls.__name__} and {seen.get(key)} share key prefixes"
        seen[key] = cls.__name__
