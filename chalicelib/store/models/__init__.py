"""Importing this package registers every record class (see `Record.__init_subclass__`)."""

from chalicelib.store.models import accounts, content, ledger, logs, requests  # noqa: F401
