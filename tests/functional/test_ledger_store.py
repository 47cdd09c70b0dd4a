"""The credit ledger against moto: idempotent grants, holds that never overdraw, commit/release,
lapsed holds released by their TTL delete, paging, pseudonymization (PAY-2, PAY-3, PAY-4)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib import clock, errors


@pytest.fixture
def ledger(aws):
    from chalicelib import wiring

    return wiring.ledger()


def _entry_sum(ledger, user_id: str) -> int:
    total, cursor = 0, None
    while True:
        page = ledger.entries(user_id, limit=7, cursor=cursor)
        total, cursor = total + sum(entry.amount for entry in page.entries), page.next_cursor
        if cursor is None:
            return total


def test_pay4_grant_is_applied_once_per_business_key(ledger):
    assert ledger.grant("u1", 10, "pack:cs_1", "credit pack") is True
    assert ledger.grant("u1", 10, "pack:cs_1", "credit pack") is False
    assert ledger.grant("u1", 5, "bonus:welcome", "welcome") is True
    assert ledger.balance("u1") == 15
    assert _entry_sum(ledger, "u1") == 15


def test_pay4_grant_rejects_non_positive_amounts(ledger):
    for amount in (0, -3, True):
        with pytest.raises(errors.InvalidInput):
            ledger.grant("u1", amount, f"k{amount}", "bad")
    assert ledger.balance("u1") == 0


def test_pay4_hold_never_overdraws_and_repeated_hold_charges_nothing(ledger):
    ledger.grant("u1", 5, "g1", "grant")
    ledger.hold("u1", 3, "job-1", "generation")
    ledger.hold("u1", 3, "job-1", "generation")  # a retry of the same hold
    assert ledger.balance("u1") == 2
    with pytest.raises(errors.InsufficientCredits):
        ledger.hold("u1", 3, "job-2", "generation")
    assert ledger.balance("u1") == 2
    assert ledger.hold_state("job-2") is None


def test_pay4_hold_saves_the_callers_records_in_the_same_transaction(ledger):
    from chalicelib.store.models.ledger import LedgerClaim

    ledger.grant("u1", 1, "g1", "grant")
    marker = LedgerClaim(*LedgerClaim.key("job-record-1"), owner_id="u1", created_at=clock.now())
    ledger.hold("u1", 1, "job-1", "generation", with_records=[marker])
    assert LedgerClaim.get_live(*LedgerClaim.key("job-record-1")) is not None
    refused = LedgerClaim(*LedgerClaim.key("job-record-2"), owner_id="u1", created_at=clock.now())
    with pytest.raises(errors.InsufficientCredits):
        ledger.hold("u1", 1, "job-2", "generation", with_records=[refused])
    assert LedgerClaim.get_live(*LedgerClaim.key("job-record-2")) is None  # nothing half-written


def test_pay4_commit_and_release_are_idempotent_and_exclusive(ledger):
    ledger.grant("u1", 10, "g1", "grant")
    ledger.hold("u1", 4, "a", "generation")
    ledger.hold("u1", 3, "b", "generation")
    assert ledger.commit("a") is True
    assert ledger.commit("a") is False
    assert ledger.release("a") is False  # committed: cannot come back
    assert ledger.release("b") is True
    assert ledger.release("b") is False
    assert ledger.commit("b") is False  # released: cannot be spent
    assert ledger.commit("unknown") is False
    assert ledger.balance("u1") == 6
    assert _entry_sum(ledger, "u1") == 6


@pytest.fixture
def sweep(aws):
    """DynamoDB's TTL as the local cloud's sweeper plays it: expired items deleted, and their TTL
    stream records delivered to the app's own stream consumers through Lambda."""
    from app import app
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe
    from infra.localcloud.lambda_hook import lambda_dispatch
    from infra.localcloud.sweeper import sweep_once
    from infra.provision import create_execution_role, provision_event_sources, provision_functions

    description = describe(get_settings(), wiring.profile())
    with lambda_dispatch(app):
        handlers = [f.name for f in app.pure_lambda_functions]
        provision_event_sources(aws, description, provision_functions(aws, handlers, create_execution_role(aws)))

        def run(now):
            report = sweep_once(aws, description, now)
            assert report.consumer_errors == []
            return report

        yield run


def test_pay4_lapsed_holds_are_released_by_their_ttl_delete_once(ledger, sweep, monkeypatch):
    start = clock.now()
    ledger.grant("u1", 10, "g1", "grant")
    monkeypatch.setattr(clock, "now", lambda: start)
    ledger.hold("u1", 4, "old", "generation", deadline=start + timedelta(minutes=15))
    later = start + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    ledger.hold("u1", 2, "new", "generation", deadline=later + timedelta(minutes=15))
    ledger.hold("u1", 1, "done", "generation")
    ledger.commit("done")
    sweep(later)
    assert ledger.hold_state("old") == "released"
    assert ledger.hold_state("new") == "held"
    assert ledger.hold_state("done") == "committed"
    assert ledger.balance("u1") == 7
    assert ledger.commit("old") is False  # a result arriving late spends nothing
    sweep(later)
    assert ledger.balance("u1") == 7
    assert _entry_sum(ledger, "u1") == 7


def test_pay4_a_hold_past_its_lapse_is_released_even_when_committed(ledger, monkeypatch):
    start = clock.now()
    ledger.grant("u1", 5, "g1", "grant")
    ledger.hold("u1", 3, "late", "generation", deadline=start)
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=3))  # lapsed; TTL not yet run
    assert ledger.commit("late") is False
    assert ledger.hold_state("late") == "released"
    assert ledger.balance("u1") == 5
    assert _entry_sum(ledger, "u1") == 5


def test_pay4_parallel_holds_on_a_small_balance_never_overdraw(ledger, serialized_dynamodb):
    ledger.grant("u1", 10, "g1", "grant")

    def try_hold(n: int) -> bool:
        try:
            ledger.hold("u1", 1, f"job-{n}", "generation")
            return True
        except errors.InsufficientCredits:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(try_hold, range(40)))
    assert sum(outcomes) == 10
    assert ledger.balance("u1") == 0
    assert _entry_sum(ledger, "u1") == 0


def test_pay4_claw_back_never_goes_below_zero_and_records_the_shortfall(ledger):
    ledger.grant("u1", 10, "g1", "grant")
    ledger.hold("u1", 7, "job", "generation")
    ledger.commit("job")
    assert ledger.claw_back("u1", 10, "refund:ch_1", "refund") == (3, 7)
    assert ledger.claw_back("u1", 10, "refund:ch_1", "refund") is None
    assert ledger.balance("u1") == 0
    assert ledger.unrecovered("u1") == 7
    newest = ledger.entries("u1").entries[0]
    assert newest.kind == "clawback"
    assert newest.shortfall == 7


def test_pay2_entries_are_newest_first_and_paged(ledger, monkeypatch):
    start = clock.now()
    for n in range(5):
        monkeypatch.setattr(clock, "now", lambda n=n: start + timedelta(seconds=n))
        ledger.grant("u1", n + 1, f"g{n}", f"grant {n}")
    first = ledger.entries("u1", limit=3)
    cursor = first.next_cursor
    second = ledger.entries("u1", limit=3, cursor=cursor)
    last = second.next_cursor
    assert [e.amount for e in first.entries + second.entries] == [5, 4, 3, 2, 1]
    assert last is None or ledger.entries("u1", cursor=last).entries == ()
    with pytest.raises(errors.InvalidInput):
        ledger.entries("u2", cursor=cursor)  # a cursor from another account


def test_pay3_pseudonymize_keeps_money_records_and_detaches_them(aws, ledger):
    """PAY-3 through the one pseudonymizer the erasure uses (chalicelib/domain/rights/erasure_plan.py)."""
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe
    from tests.support.rights import detach_owned
    from tests.support.scan import find

    ledger.grant("user-abc", 10, "welcome:user-abc", "welcome", {"note": "for user-abc"})
    ledger.hold("user-abc", 4, "job-1", "generation")
    ledger.commit("job-1")
    context = wiring.rights_service().context
    assert detach_owned(context, "user-abc", "anon-1", None) >= 5
    assert find(aws, describe(get_settings(), wiring.profile()), ["user-abc"]) == []
    assert ledger.balance("anon-1") == 6
    assert _entry_sum(ledger, "anon-1") == 6
    assert ledger.balance("user-abc") == 0
    assert ledger.entries("user-abc").entries == ()
    assert detach_owned(context, "user-abc", "anon-1", None) == 0


def _all_entries(ledger, user_id: str) -> list:
    """Every entry, oldest first, gathered through the paged listing."""
    entries, cursor = [], None
    while True:
        page = ledger.entries(user_id, limit=7, cursor=cursor)
        entries.extend(page.entries)
        cursor = page.next_cursor
        if cursor is None:
            return entries[::-1]


def test_pay2_concurrent_movements_replay_from_the_listed_entries_to_the_balance(ledger, serialized_dynamodb):
    """Each entry carries its sequence number and the balance after it, in the order applied: the
    listing replays, entry by entry, to the balance, whatever ran concurrently."""
    ledger.grant("u1", 20, "g0", "grant")

    def move(n: int) -> None:
        kind = n % 5
        try:
            if kind == 0:
                ledger.grant("u1", 3, f"g{n}", "grant")
            elif kind == 1:
                ledger.hold("u1", 2, f"job-{n}", "generation")
                ledger.commit(f"job-{n}")
            elif kind == 2:
                ledger.hold("u1", 4, f"job-{n}", "generation")
                ledger.release(f"job-{n}")
            elif kind == 3:
                ledger.claw_back("u1", 5, f"refund-{n}", "refund")
            else:
                ledger.hold("u1", 1, f"job-{n}", "generation")
        except errors.InsufficientCredits:
            pass

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(move, range(60)))
    entries = _all_entries(ledger, "u1")
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    replayed = 0
    for entry in entries:
        replayed += entry.amount
        assert entry.balance_after == replayed, entry
    assert replayed == ledger.balance("u1")
    assert {e.kind for e in entries} == {"grant", "hold", "commit", "release", "clawback"}
