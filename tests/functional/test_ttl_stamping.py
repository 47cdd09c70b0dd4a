"""The store stamps TTLs from the profile on every write path."""

from datetime import datetime, timedelta, timezone

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.store.models.accounts import User


def test_untimed_category_gets_no_ttl(aws):
    pk, sk = User.key("u1")
    User(pk, sk, user_id="u1", email="a@example.com", created_at=datetime.now(timezone.utc)).save()
    assert User.get(pk, sk).expires_at is None


def test_transaction_writes_are_stamped_too(aws):
    pk, sk = User.key("u2")
    user = User(pk, sk, user_id="u2", email="b@example.com", created_at=datetime.now(timezone.utc))
    with TransactWrite(connection=Connection(region="us-east-1")) as tx:
        tx.save(user)
    assert User.get(pk, sk).user_id == "u2"


def test_expired_items_are_hidden_from_live_reads(aws):
    pk, sk = User.key("u3")
    past = datetime.now(timezone.utc) - timedelta(days=1)
    User(pk, sk, user_id="u3", email="c@example.com", created_at=past, expires_at=past).save()
    assert User.get_live(pk, sk) is None
