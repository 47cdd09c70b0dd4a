"""The rights ports' contract (DSR-1, DSR-4, DSR-6 … DSR-9, OPS-6): the in-memory fakes and the
DynamoDB/S3 stores behave the same for every method the rights domain calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib import clock
from chalicelib.domain.ports.rights import (
    CapturedIds,
    DeadlineReminder,
    ErasedSubject,
    ErasureReceipt,
    ErasureRun,
    ExportJob,
    LegalHold,
    RightsRequest,
    StoredObject,
    Subject,
    Tombstone,
)
from chalicelib.errors import Conflict
from chalicelib.profile.schema import Category
from tests.support.paging import owned_items, owned_objects


@pytest.fixture(params=["fake", "dynamodb"])
def records(request):
    if request.param == "fake":
        from tests.fakes.rights import FakeRightsRecords

        return FakeRightsRecords()
    request.getfixturevalue("aws")
    from chalicelib import wiring

    return wiring.rights()


class _Objects:
    """The personal-data port, and a way to put an object where a person's uploads would be."""

    def __init__(self, store, put_object, clock_tag) -> None:
        self.store, self.put_object, self.clock_tag = store, put_object, clock_tag


@pytest.fixture(params=["fake", "dynamodb"])
def personal(request):
    if request.param == "fake":
        from tests.fakes.rights import FakePersonalData

        fake = FakePersonalData()
        return _Objects(
            fake,
            lambda bucket, key, body: fake.objects.__setitem__((bucket, key), body),
            lambda bucket, key: fake.clock_tags.get((bucket, key)),
        )
    session = request.getfixturevalue("aws")
    from chalicelib import wiring
    from chalicelib.settings import get_settings

    s3, settings = session.client("s3"), get_settings()
    def clock_tag(bucket, key):
        tags = s3.get_object_tagging(Bucket=settings.bucket_name(bucket), Key=key)["TagSet"]
        return {t["Key"]: t["Value"] for t in tags}.get("pixelkeep-clock")

    return _Objects(
        wiring.personal_data(),
        lambda bucket, key, body: s3.put_object(Bucket=settings.bucket_name(bucket), Key=key, Body=body),
        clock_tag,
    )


def _request(request_id="r1", *, owner_id="u1", status="open", due_in=timedelta(days=30)):
    now = clock.now().replace(microsecond=0)
    return RightsRequest(
        request_id=request_id,
        kind="access",
        status=status,
        channel="signed_in",
        policy_version="2026-01",
        created_at=now,
        due_at=now + due_in,
        owner_id=owner_id,
    )


# -- the requests ledger ----------------------------------------------------------------------------
def test_dsr8_a_request_reads_back_as_written_and_a_stale_copy_is_refused(records):
    opened = records.open_request(_request())
    assert records.get_request("r1") == opened
    assert opened.version is not None
    done = records.put_request(replace(opened, status="completed", reference="x1", completed_at=clock.now()))
    assert records.get_request("r1") == done
    with pytest.raises(Conflict):
        records.put_request(replace(opened, status="rejected"))
    assert records.get_request("missing") is None


def _reminders_of(request, *percents):
    span = request.due_at - request.created_at
    return [
        DeadlineReminder(request.request_id, p, request.created_at + span * p / 100, request.due_at) for p in percents
    ]


def test_dsr11_reminders_are_written_replaced_and_removed_with_the_request(records):
    opened = records.open_request(_request(), reminders=_reminders_of(_request(), 50, 90, 100))
    assert records.reminders("r1") == _reminders_of(opened, 50, 90, 100)
    # A write without `reminders` leaves them; an extension replaces them; an answer removes them.
    opened = records.put_request(replace(opened, status="in_progress"))
    assert [r.percent for r in records.reminders("r1")] == [50, 90, 100]
    later = replace(opened, due_at=opened.due_at + timedelta(days=10), reminders_passed=(50,))
    extended = records.put_request(later, reminders=_reminders_of(later, 90, 100))
    assert records.reminders("r1") == _reminders_of(later, 90, 100)
    assert records.get_request("r1").reminders_passed == (50,)
    records.put_request(replace(extended, status="completed"), reminders=[])
    assert records.reminders("r1") == []
    assert records.reminders("missing") == []


def test_dsr11_a_stale_copy_changes_neither_the_request_nor_its_reminders(records):
    opened = records.open_request(_request(), reminders=_reminders_of(_request(), 50, 90, 100))
    records.put_request(replace(opened, status="in_progress"))
    with pytest.raises(Conflict):
        records.put_request(replace(opened, status="rejected", refusal_reason="late"), reminders=[])
    assert records.get_request("r1").status == "in_progress"
    assert records.get_request("r1").refusal_reason is None
    assert [r.percent for r in records.reminders("r1")] == [50, 90, 100]


def test_dsr11_a_reminder_past_its_time_is_no_longer_read(records, monkeypatch):
    opened = records.open_request(_request(), reminders=_reminders_of(_request(), 50, 90, 100))
    halfway = opened.created_at + (opened.due_at - opened.created_at) / 2
    monkeypatch.setattr(clock, "now", lambda: halfway + timedelta(seconds=1))
    assert [r.percent for r in records.reminders("r1")] == [90, 100]


def test_dsr8_the_open_queue_holds_only_requests_owed_an_answer_most_urgent_first(records):
    records.open_request(_request("late", due_in=timedelta(days=30)))
    records.open_request(_request("soon", due_in=timedelta(days=1)))
    records.open_request(_request("failed", status="failed", due_in=timedelta(days=2)))
    records.open_request(_request("unverified", status="unverified"))
    done = records.open_request(_request("done"))
    records.put_request(replace(done, status="completed"))
    assert [r.request_id for r in records.open_requests()] == ["soon", "failed", "late"]


def test_dsr7_a_persons_requests_are_theirs_only_and_their_trail_is_kept_in_order(records):
    records.open_request(_request("mine"))
    records.open_request(_request("theirs", owner_id="u2"))
    now = clock.now()
    records.add_event("mine", "received (signed_in)", "user", now, "u1")
    records.add_event("mine", "completed", "system", now + timedelta(seconds=1), "u1")
    assert [r.request_id for r in records.user_requests("u1")] == ["mine"]
    assert [(e.what, e.actor) for e in records.events("mine")] == [
        ("received (signed_in)", "user"),
        ("completed", "system"),
    ]


def test_ops6_the_audit_log_is_read_by_month(records):
    now = clock.now()
    records.audit("alice", "view_request_queue", now, None, {})
    records.audit("alice", "minor_takedown", now + timedelta(seconds=1), "u1", {"note": "reported"})
    records.audit("bob", "view_audit_log", now - timedelta(days=40), None, {"month": "x"})
    log = records.audit_log(f"{now:%Y-%m}")
    assert [(a.operator, a.action, a.target, dict(a.details)) for a in log] == [
        ("alice", "view_request_queue", None, {}),
        ("alice", "minor_takedown", "u1", {"note": "reported"}),
    ]


# -- consent and marketing ---------------------------------------------------------------------------
@pytest.mark.parametrize("profile_name", ["pictomancer"])  # a profile that keeps a marketing contact
def test_dsr6_consents_are_kept_and_the_marketing_contact_goes_with_withdrawal(records, profile_name):
    now = clock.now()
    records.add_consent("u1", "marketing", True, "2026-01", now)
    records.add_consent("u1", "marketing", False, "2026-01", now + timedelta(seconds=1))
    assert [(c.purpose, c.granted) for c in sorted(records.consents("u1"), key=lambda c: c.created_at)] == [
        ("marketing", True),
        ("marketing", False),
    ]
    assert records.consents("u2") == []
    records.put_marketing_contact("u1", "ana@example.org", now)
    assert records.marketing_contact("u1").email == "ana@example.org"
    records.delete_marketing_contact("u1")
    records.delete_marketing_contact("u1")
    assert records.marketing_contact("u1") is None


# -- the grace-period tombstone ------------------------------------------------------------------------
NOW = clock.now().replace(microsecond=0)


def _tombstone(user_id="u1", *, expires_in=timedelta(days=30)):
    now = NOW
    return Tombstone(
        user_id=user_id,
        erasure_id="e1",
        request_id="r1",
        cancel_hash="h" * 64,
        created_at=now,
        expires_at=now + expires_in,
    )


def test_dsr9_one_tombstone_per_account_deleted_only_with_its_cancel_hash(records):
    records.put_tombstone(_tombstone())
    assert records.get_tombstone("u1") == _tombstone()
    with pytest.raises(Conflict):
        records.put_tombstone(_tombstone())
    assert records.delete_tombstone(replace(_tombstone(), cancel_hash="x" * 64)) is False
    assert records.delete_tombstone(_tombstone()) is True
    assert records.delete_tombstone(_tombstone()) is False
    assert records.get_tombstone("u1") is None


def test_dsr9_a_tombstone_past_its_grace_is_not_read_back(records):
    records.put_tombstone(_tombstone("u2", expires_in=timedelta(seconds=-1)))
    assert records.get_tombstone("u2") is None


# -- exports, erasure runs, receipts ---------------------------------------------------------------------
def test_dsr1_an_export_job_is_updated_in_place(records):
    now = clock.now().replace(microsecond=0)
    records.add_export(ExportJob(user_id="u1", export_id="x1", status="queued", created_at=now, request_id="r1"))
    records.update_export("u1", "x1", status="ready", items_total=3, items_done=3, object_key="k", ready_at=now)
    assert records.get_export("u1", "x1") == ExportJob(
        user_id="u1",
        export_id="x1",
        status="ready",
        created_at=now,
        items_total=3,
        items_done=3,
        object_key="k",
        request_id="r1",
        ready_at=now,
    )
    assert records.get_export("u2", "x1") is None
    assert records.find_export("x1").user_id == "u1"  # DSR-13: the workflow knows the export id alone
    assert records.find_export("x2") is None


def test_dsr1_a_persons_exports_are_listed_and_nobody_elses(records):
    now = clock.now().replace(microsecond=0)
    for user_id, export_id in (("u1", "x1"), ("u1", "x2"), ("u2", "x3")):
        records.add_export(ExportJob(user_id=user_id, export_id=export_id, status="queued", created_at=now))
    records.update_export("u1", "x2", status="ready")
    listed = {(job.export_id, job.status) for job in records.exports("u1")}
    assert listed == {("x1", "queued"), ("x2", "ready")}
    assert records.exports("u9") == []


def test_dsr4_a_run_is_created_once_updated_and_deleted_and_the_receipt_stays(records):
    now = clock.now().replace(microsecond=0)
    first = ErasureRun("e1", "u1", "ana@example.org", "erased-1", "r1", "user", now, "rc1")
    assert records.create_run(first) == first
    assert records.create_run(replace(first, pseudonym="erased-2")) == first
    records.update_run("e1", status="failed", failure="Plan:RuntimeError", passes=1)
    assert records.get_run("e1") == replace(first, status="failed", failure="Plan:RuntimeError", passes=1)
    many = CapturedIds(share_ids=tuple(f"s{n:05d}" for n in range(3000)), gen_ids=("g1",))
    records.keep_captured_page("e1", 0, many)
    records.keep_captured_page("e1", 1, CapturedIds())
    assert records.captured_page("e1", 0) == many  # page by page, as the plan found them (DSR-13, P3)
    assert records.captured_page("e1", 1) == CapturedIds()
    assert records.captured_page("e1", 2) is None
    records.update_run("e1", cursors={"plan": {"0": None, "1": "where page 1 starts"}})
    assert records.get_run("e1").cursors == {"plan": {"0": None, "1": "where page 1 starts"}}
    records.delete_run("e1")
    assert records.get_run("e1") is None
    assert records.captured_page("e1", 0) is None
    acks = ({"processor": "Stripe", "action": "delete_customer", "count": 1, "ok": True},)
    receipt = ErasureReceipt("rc1", "user", "kaleipix", "2026-01", {"objects": 2}, now, now, acks)
    records.put_receipt(receipt)
    assert records.get_receipt("rc1") == receipt


def test_dsr13_erased_subjects_are_listed_from_a_restore_point(records):
    now = clock.now().replace(microsecond=0)
    old, recent = ErasedSubject("h-old", now - timedelta(days=3)), ErasedSubject("h-new", now)
    records.add_erased(old, keep_days=35)
    records.add_erased(recent, keep_days=35)
    assert records.erased_since(now - timedelta(days=1)) == [recent]
    assert records.erased_since(now - timedelta(days=4)) == [old, recent]


# -- what is stored about one person -----------------------------------------------------------------------
def test_dsr4_a_persons_items_read_back_as_plain_values_and_are_deleted_by_key(personal):
    store = personal.store
    consent = {"pk": "USER#u1", "sk": "CONSENT#marketing#1", "owner_id": "u1", "granted": True, "n": Decimal(2)}
    message = {"pk": "CONTACT#m1", "sk": "MESSAGE", "owner_id": "u1", "tags": {"a", "b"}, "body": "hi"}
    assert store.put_items("accounts", [consent, {**consent, "sk": "CONSENT#marketing#2", "owner_id": "u2"}]) == 2
    store.put_items("requests", [message])
    owned = {(i.table, i.kind, i.key): dict(i.fields) for i in owned_items(store, "u1")}
    assert owned == {
        ("accounts", "consent", ("USER#u1", "CONSENT#marketing#1")): consent,
        ("requests", "message", ("CONTACT#m1", "MESSAGE")): message,
    }
    assert store.delete_items("accounts", [("USER#u1", "CONSENT#marketing#1")]) == 1
    assert [i.table for i in owned_items(store, "u1")] == ["requests"]


def test_dsr4_a_persons_objects_are_found_by_prefix_and_deleted(personal):
    store = personal.store
    personal.put_object("content", "uploads/u1/a", b"aa")
    personal.put_object("content", "generated/u1/g", b"g")
    personal.put_object("content", "uploads/u2/b", b"b")
    assert {(o.bucket, o.key, o.size) for o in owned_objects(store, "u1")} == {
        ("content", "uploads/u1/a", 2),
        ("content", "generated/u1/g", 1),
    }
    assert store.open_object(StoredObject("content", "uploads/u1/a", 2)).read() == b"aa"
    assert store.delete_objects(owned_objects(store, "u1")) == 2
    assert list(owned_objects(store, "u1")) == []
    assert [o.key for o in owned_objects(store, "u2")] == ["uploads/u2/b"]


def _walk(page_of, limit, then=lambda page: None):
    """Every page of a walk with `limit`, doing `then` to each page before asking for the next."""
    cursor, seen, pages = None, [], 0
    while True:
        page = page_of(cursor, limit)
        assert page.read <= limit
        assert len(page.items) <= page.read
        then(page)
        seen.extend(page.items)
        pages += 1
        if page.cursor is None:
            return seen, pages
        cursor = page.cursor


def test_p3_owned_items_come_in_bounded_pages_while_they_are_deleted(personal):
    store = personal.store
    store.put_items("accounts", [{"pk": "USER#u1", "sk": f"CONSENT#m#{n}", "owner_id": "u1"} for n in range(5)])
    store.put_items("accounts", [{"pk": "USER#u2", "sk": "CONSENT#m#1", "owner_id": "u2"}])
    store.put_items("requests", [{"pk": f"CONTACT#m{n}", "sk": "MESSAGE", "owner_id": "u1"} for n in range(3)])

    def delete(page):
        for item in page.items:
            store.delete_items(item.table, [item.key])

    seen, pages = _walk(lambda cursor, limit: store.owned_page("u1", cursor, limit), 2, delete)
    assert sorted(item.key for item in seen) == sorted(
        [("USER#u1", f"CONSENT#m#{n}") for n in range(5)] + [(f"CONTACT#m{n}", "MESSAGE") for n in range(3)]
    )
    assert pages >= 4
    assert list(owned_items(store, "u1")) == []
    assert [item.key for item in owned_items(store, "u2")] == [("USER#u2", "CONSENT#m#1")]


def test_p3_objects_come_in_bounded_pages_prefix_after_prefix(personal):
    store = personal.store
    for n in range(3):
        personal.put_object("content", f"uploads/u1/{n}", b"u")
        personal.put_object("content", f"generated/u1/{n}", b"g")
    personal.put_object("content", "uploads/u2/b", b"b")
    seen, _ = _walk(
        lambda cursor, limit: store.objects_page("u1", cursor, limit), 4, lambda page: store.delete_objects(page.items)
    )
    assert sorted(o.key for o in seen) == sorted(
        [f"uploads/u1/{n}" for n in range(3)] + [f"generated/u1/{n}" for n in range(3)]
    )
    assert [o.key for o in owned_objects(store, "u2")] == ["uploads/u2/b"]


def test_p3_dsr13_keys_derived_from_the_person_come_in_bounded_pages(personal):
    """The partitions keyed by the user id, then the captured ids' own keys; `captured_only` reads
    only the latter (the residual scan reads the captured ids a page at a time)."""
    store = personal.store
    store.put_items("accounts", [{"pk": "USER#u1", "sk": f"CONSENT#m#{n}", "owner_id": "u1"} for n in range(3)])
    gens = [f"g{n}" for n in range(4)]
    store.put_items("content", [{"pk": f"GEN#{g}", "sk": f"JOB#{g}", "owner_id": "u1", "gen_id": g} for g in gens])
    who = Subject("u1", None, None, "h", captured=CapturedIds(gen_ids=tuple(gens)))
    seen, _ = _walk(lambda cursor, limit: store.subject_page(who, cursor, limit), 2)
    keys = {item.key for item in seen}
    assert {("USER#u1", f"CONSENT#m#{n}") for n in range(3)} | {(f"GEN#{g}", f"JOB#{g}") for g in gens} <= keys
    only, _ = _walk(lambda cursor, limit: store.subject_page(who, cursor, limit, captured_only=True), 3)
    assert {item.key for item in only} == {(f"GEN#{g}", f"JOB#{g}") for g in gens}


def test_dsr1_an_archive_is_written_under_the_persons_exports_prefix(personal):
    store = personal.store
    key = store.archive_key("u1", "x1")
    stream = store.archive_stream(key, None)
    stream.write(b"PK")
    paused = stream.pause()  # the next invocation resumes from here (P3)
    abandoned = store.archive_stream(key, paused)
    abandoned.write(b"half a page, then the invocation died")
    stream = store.archive_stream(key, paused)  # the retry resumes from the same state
    assert stream.tell() == 2
    stream.write(b"zip")
    stream.keep_piece(0, b"directory")
    assert stream.piece(0) == b"directory"
    stream.drop_piece(0)
    stream.complete()
    (archive,) = owned_objects(store, "u1")  # nothing left beside it
    assert archive.key == key
    assert store.open_object(archive).read() == b"PKzip"
    assert list(owned_objects(store, "u1", skip=[Category.EXPORTS])) == []
    assert key in store.download_url(key, 3600)


# -- legal holds (DSR-12) -----------------------------------------------------------------------------
PLACED_AT = clock.now().replace(microsecond=0)


def _hold(hold_id="h1", user_id="u1"):
    return LegalHold(
        hold_id=hold_id,
        user_id=user_id,
        reason="litigation",
        reference="case 7",
        placed_by="arn:aws:iam::123456789012:user/ops",
        placed_at=PLACED_AT,
        until=None,
    )


def test_dsr12_holds_are_placed_listed_and_released_once(records):
    records.place_hold(_hold("h1"))
    records.place_hold(_hold("h2"))
    records.place_hold(_hold("h3", user_id="u2"))
    assert records.get_hold("h1") == _hold("h1")
    assert [h.hold_id for h in records.holds()] == ["h1", "h2", "h3"]
    assert records.holds_in_force("u1") == ["h1", "h2"]
    at = clock.now().replace(microsecond=0)
    released = records.release_hold("h1", by="arn:aws:iam::123456789012:user/ops", at=at)
    assert (released.status, released.released_at) == ("released", at)
    assert records.release_hold("h1", by="x", at=at) is None
    assert records.release_hold("missing", by="x", at=at) is None
    assert records.holds_in_force("u1") == ["h2"]
    assert records.forget_holds("u1") is False  # h2 is still in force
    records.release_hold("h2", by="x", at=at)
    assert records.holds_in_force("u1") == []
    assert records.forget_holds("u1") is True
    assert records.holds_in_force("u2") == ["h3"]
    records.update_hold("h3", cursors={"hold-records": {"1": "c"}})
    assert records.get_hold("h3").cursors == {"hold-records": {"1": "c"}}


def test_dsr12_an_erasure_paused_by_a_hold_is_kept_beside_the_person_until_resumed(records):
    records.pause_erasure("u1", "e1")
    records.pause_erasure("u1", "e1")
    assert records.paused_erasures("u1") == ["e1"]
    assert records.paused_erasures("u2") == []
    records.resume_erasure("u1", "e1")
    assert records.paused_erasures("u1") == []


def test_dsr12_an_items_expiry_moves_aside_and_back_only_as_read(personal):
    store = personal.store
    timed = {"pk": "USER#u1", "sk": "CONSENT#m#1", "owner_id": "u1", "expires_at": Decimal(1_900_000_000)}
    untimed = {"pk": "USER#u1", "sk": "CONSENT#m#2", "owner_id": "u1"}
    store.put_items("accounts", [timed, untimed])
    read = list(owned_items(store, "u1"))
    assert store.hold_expiry(read, held=True) == 1
    fields = {i.key[1]: dict(i.fields) for i in owned_items(store, "u1")}
    assert "expires_at" not in fields["CONSENT#m#1"]
    assert fields["CONSENT#m#1"]["held_expires_at"] == 1_900_000_000
    assert store.hold_expiry(read, held=True) == 0  # read before the move: changed since, left alone
    assert store.hold_expiry(list(owned_items(store, "u1")), held=False) == 1
    fields = {i.key[1]: dict(i.fields) for i in owned_items(store, "u1")}
    assert fields["CONSENT#m#1"]["expires_at"] == 1_900_000_000
    assert "held_expires_at" not in fields["CONSENT#m#1"]
    assert fields["CONSENT#m#2"] == untimed


def test_dsr12_objects_are_retagged_held_and_running_and_a_gone_one_is_skipped(personal):
    store = personal.store
    personal.put_object("content", "uploads/u1/a", b"aa")
    personal.put_object("content", "uploads/u1/b", b"bb")
    objects = list(owned_objects(store, "u1"))
    assert store.tag_clock(objects, held=True) == 2
    assert personal.clock_tag("content", "uploads/u1/a") == "held"
    store.delete_objects([objects[1]])
    assert store.tag_clock(objects, held=False) == 1
    assert personal.clock_tag("content", "uploads/u1/a") == "running"
