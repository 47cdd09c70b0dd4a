"""The notices port's contract (OPS-2): the in-memory fake and the DynamoDB store behave the same for
receipts (each mark set once), the accounts read in bounded pages, and announcements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.domain.ports.rights import Announcement

NOW = clock.now().replace(microsecond=0)


@dataclass
class _World:
    records: Any
    add_user: Any  # (user_id, email) -> None


@pytest.fixture(params=["fake", "dynamodb"])
def world(request):
    if request.param == "fake":
        from tests.fakes.rights import FakeNoticeRecords, FakePersonalData, FakeUsers

        users = FakeUsers(FakePersonalData())
        return _World(FakeNoticeRecords(users), lambda user_id, email: users.add(user_id, email))
    request.getfixturevalue("aws")
    from chalicelib import wiring
    from chalicelib.domain.ports.accounts import NewAccount

    accounts = wiring.accounts_store()
    return _World(
        wiring.notices(),
        lambda user_id, email: accounts.create_user(NewAccount(user_id, email, True, 18)),
    )


def test_ops2_acknowledgement_and_email_claim_are_each_set_once_per_person_and_version(world):
    records = world.records
    world.add_user("u1", "ana@example.org")
    assert records.receipts("u1") == []
    assert records.claim_email("u1", "v2", NOW) is True
    assert records.claim_email("u1", "v2", NOW + timedelta(seconds=1)) is False  # a retry never mails twice
    assert records.claim_email("u1", "v3", NOW) is True
    assert records.acknowledge("u1", "v2", NOW) is True
    assert records.acknowledge("u1", "v2", NOW) is False
    by_version = {r.version: r for r in records.receipts("u1")}
    assert by_version["v2"].emailed_at == NOW
    assert by_version["v2"].acknowledged_at == NOW
    assert by_version["v3"].acknowledged_at is None
    assert records.receipts("u2") == []


def test_ops2_a_released_claim_may_be_taken_again(world):
    records = world.records
    world.add_user("u1", "ana@example.org")
    assert records.claim_email("u1", "v2", NOW)
    records.release_email("u1", "v2")
    assert records.claim_email("u1", "v2", NOW)


def test_ops2_accounts_come_in_bounded_pages_each_once(world):
    records = world.records
    for index in range(7):
        world.add_user(f"u{index}", f"u{index}@example.org")
    seen, cursor, pages = [], None, 0
    while True:
        page = records.addressees_page(cursor, 3)
        assert page.read <= 3
        seen.extend(page.items)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(a.user_id for a in seen) == [f"u{i}" for i in range(7)]
    assert {a.email for a in seen} == {f"u{i}@example.org" for i in range(7)}
    assert all(a.active and abs(a.signed_up_at - clock.now()) < timedelta(minutes=5) for a in seen)
    assert records.addressee("u3").email == "u3@example.org"
    assert records.addressee("nobody") is None


def test_ops2_an_announcement_starts_once_unless_it_failed(world):
    records = world.records
    first = Announcement("v2", "run1", "operator:alice", NOW)
    assert records.start_announcement(first) is True
    assert records.start_announcement(Announcement("v2", "run2", "operator:bob", NOW)) is False
    records.update_announcement("v2", cursors={"1": "somewhere"}, sent=4)
    stored = records.get_announcement("v2")
    assert (stored.run_id, stored.status, stored.sent) == ("run1", "running", 4)
    assert dict(stored.cursors) == {"1": "somewhere"}
    records.update_announcement("v2", status="failed", cursors={}, finished_at=NOW)
    assert records.start_announcement(Announcement("v2", "run3", "operator:alice", NOW)) is True
    assert records.get_announcement("v2").run_id == "run3"
    assert records.get_announcement("v9") is None
