"""DSR-13: a restore from backup replays erasures. Every table is copied before an erasure (the restore
point), the erasure runs, the copies are "restored" as new tables in moto, and the documented replay
(infra/restore_replay.py) erases the person again in them while the other person stays whole."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.auth import sign_up
from tests.support.rights import CapturingStarter, person_identifiers, run_erasure, use_every_feature
from tests.support.scan import matches


@pytest.fixture
def starter(monkeypatch):
    from chalicelib import wiring

    capturing = CapturingStarter()
    monkeypatch.setattr(wiring, "workflow", lambda kind: capturing)
    return capturing


def _restored_copies(session, description) -> dict[str, str]:
    """Point-in-time recovery restores into new tables: copy every item as it is now into `<name>-restored`."""
    from infra.provision import create_table

    dynamodb = session.client("dynamodb")
    names = {}
    for table in description.tables:
        copy = dataclasses.replace(table, name=f"{table.name}-restored", stream=False)
        create_table(dynamodb, copy)
        for page in dynamodb.get_paginator("scan").paginate(TableName=table.name):
            for item in page["Items"]:
                dynamodb.put_item(TableName=copy.name, Item=item)
        names[table.logical] = copy.name
    return names


def _texts(session, names) -> str:
    dynamodb = session.client("dynamodb")
    return "\n".join(str(item) for name in names.values() for item in dynamodb.scan(TableName=name)["Items"])


@pytest.mark.parametrize("profile_name", ["pixera", "kaleipix"])
def test_dsr13_a_restored_backup_is_erased_again_by_the_replay(client, aws, starter, monkeypatch, profile_name):
    """The replay runs a day after the restore point: login codes and rate counters (keyed by the keyed
    hash of an address, with no owner to recognise) live at most their window + 1 h (25 h for the
    daily ones) and the replay removes what has expired, as TTL does in the live tables."""
    from datetime import timedelta

    from chalicelib import clock, wiring
    from chalicelib.domain.rights import erasure
    from chalicelib.settings import get_settings
    from infra.description import describe
    from infra.restore_replay import replay_restored

    person, other = sign_up(client), sign_up(client)
    identifiers = person_identifiers(person, use_every_feature(client, aws, person))
    others = person_identifiers(other, use_every_feature(client, aws, other))
    restored_to = clock.now()
    restored = _restored_copies(aws, describe(get_settings(), wiring.profile()))
    assert len(matches(_texts(aws, restored), identifiers)) == len(identifiers) - 1  # the backup holds the person

    context = wiring.rights_service().context
    erasure.request_erasure(context, person.user_id, reason="minor")  # no grace in any profile
    run_erasure(context, starter.started[-1][1])

    later = clock.now() + timedelta(hours=26)
    monkeypatch.setattr(clock, "now", lambda: later)
    counts = replay_restored(restored_to, restored)

    assert counts["erased_since"] == 1
    assert counts["deleted"] > 0
    assert counts["detached"] > 0
    after = _texts(aws, restored)
    assert matches(after, identifiers) == []
    assert set(matches(after, others[:3])) == {n if isinstance(n, str) else n.pattern for n in others[:3]}
    assert "erased-" in after  # money records kept, detached (PAY-3)
    assert replay_restored(clock.now(), restored)["erased_since"] == 0  # nothing erased after now
