"""What happens when a record's TTL deletes it. One line per record kind.

Each target is "module:function" and receives the deleted item's old image (a dict).
"""

from chalicelib.events.streams import register_ttl_reaction  # noqa: F401

# register_ttl_reaction("accounts", "TOMBSTONE", "chalicelib.domain.erasure:start_after_grace")
