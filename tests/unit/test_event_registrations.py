"""TTL reactions are registered by record class, and every Lambda function says what it touches.

A reaction's table and sort-key prefix come from its record class; each table with a reaction has
its consumer function; every function of the app has a declaration its role is built from."""

from __future__ import annotations

import pytest

from chalicelib.events import reactions, streams
from chalicelib.events.expiry import on_expiry, stream_consumer_name
from chalicelib.grants import DECLARED, Uses
from chalicelib.store.models.content import JobDeadline, Upload
from chalicelib.store.models.rights import Tombstone


def _reaction_for(record_class):
    (reaction,) = [r for r in reactions.TTL_REACTIONS if r.sk_prefix == record_class.SK_PREFIX]
    return reaction


def test_a_reaction_takes_its_table_and_prefix_from_the_record_class():
    tombstone = _reaction_for(Tombstone)
    assert (tombstone.table, tombstone.sk_prefix) == ("accounts", Tombstone.key("u1")[1])
    deadline = _reaction_for(JobDeadline)
    assert (deadline.table, deadline.sk_prefix) == ("content", JobDeadline.key("g1")[1])
    upload = _reaction_for(Upload)
    assert upload.matches("content", Upload.key("u1", "up1")[1])
    assert not upload.matches("accounts", Upload.key("u1", "up1")[1])


def test_a_record_class_without_a_sort_key_prefix_cannot_register():
    class Unprefixed:
        logical_table = "accounts"

    with pytest.raises(ValueError, match="Unprefixed"):
        on_expiry(Unprefixed, print)


def test_every_table_with_a_reaction_has_its_consumer_function():
    from app import app

    functions = {f.name: f.handler_string for f in app.pure_lambda_functions}
    for table in {r.table for r in reactions.TTL_REACTIONS}:
        name = stream_consumer_name(table)
        assert functions.get(name) == f"chalicelib.events.streams.{name}", (
            f"a reaction on the {table} table needs `{name} = _ttl_consumer({table!r})` in chalicelib/events/streams.py"
        )


def test_a_consumer_is_granted_what_its_reactions_declare():
    assert streams.consumer_uses("accounts") == Uses(write_tables="requests", start_workflows="erasure")
    assert streams.consumer_uses("content") == Uses(
        write_tables=("content", "ledger"),
        write_buckets="content",
        read_tables="accounts",  # a timed-out bot job is answered in the linked Telegram account's chat
        secrets="telegram-bot-token",
        read_holds=True,  # DSR-12: what it writes for a held person keeps its expiry aside
    )
    assert streams.consumer_uses("ledger").read_holds  # the ledger entries of a lapsed credit hold


def test_every_function_of_the_app_declares_what_it_touches():
    from app import app

    stream_consumers = {stream_consumer_name(r.table) for r in reactions.TTL_REACTIONS}
    functions = {f.name for f in app.pure_lambda_functions} | {"api_handler"}
    assert functions - stream_consumers == set(DECLARED)


def test_uses_takes_one_name_or_several_and_unions():
    assert Uses(read_tables="ledger").read_tables == frozenset({"ledger"})
    both = Uses(read_tables=("ledger", "logs")) | Uses(write_tables="ledger", send_email=True)
    assert both == Uses(read_tables=("ledger", "logs"), write_tables="ledger", send_email=True)
