"""Record classes are bound to the deployment as they are imported (issue 16, P1): `bind` points the
classes loaded so far at their tables, and a record module imported later binds its classes then,
into the same shared table connection, so a cold Lambda's first request imports only its own area's
records. No AWS call is made here: binding only names tables and shares connections."""

from __future__ import annotations

import pytest
from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.profile.loader import available_profiles, load_profile
from chalicelib.profile.schema import Category
from chalicelib.store import base
from chalicelib.store.models.accounts import Session, User


@pytest.fixture
def fresh_binding(monkeypatch):
    """A binding of this test's own; the classes it defines leave the registry with it."""
    monkeypatch.setattr(base, "_RECORD_CLASSES", list(base._RECORD_CLASSES))
    monkeypatch.setattr(base, "_binding", None)
    for cls in (Session, User):  # restore what the binding below repoints
        monkeypatch.setattr(cls.Meta, "table_name", cls.Meta.table_name)
        monkeypatch.setattr(cls, "_connection", cls._connection)
        monkeypatch.setattr(cls, "_profile", cls._profile)
    profile = load_profile(available_profiles()[0])
    base.bind(resource_prefix="pixelkeep-binding", region="eu-west-1", profile=profile)
    return profile


class _ByLabel(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_label"
        projection = AllProjection()

    label = UnicodeAttribute(hash_key=True)


def test_bind_points_the_classes_imported_so_far_at_the_deployments_tables(fresh_binding):
    assert Session.Meta.table_name == f"pixelkeep-binding-{Session.logical_table}"
    assert Session.Meta.region == "eu-west-1"
    assert Session._profile is fresh_binding
    assert Session._get_connection() is User._get_connection()  # one table, one connection


def test_a_record_class_imported_after_bind_is_bound_into_its_tables_shared_connection(fresh_binding):
    class LateRecord(base.Record):
        """Stands in for a record module a route imports after the stores were built."""

        logical_table = Session.logical_table
        category = Category.ACCOUNT
        personal_fields = ()
        pk_prefix = "LATE#"

        class Meta:
            table_name = "unbound"

        label = UnicodeAttribute(null=True)
        by_label = _ByLabel()

    assert LateRecord in base.record_classes()
    assert LateRecord.Meta.table_name == Session.Meta.table_name
    assert LateRecord._profile is fresh_binding
    table = LateRecord._get_connection()
    assert table is Session._get_connection()
    indexes = {index["IndexName"] for index in table.get_meta_table().data["GlobalSecondaryIndexes"]}
    assert "by_label" in indexes  # the table's metadata now names the late class's index too
    assert "by_owner" in indexes
