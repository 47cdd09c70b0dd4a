"""What happens when a record's TTL deletes it. One line per record kind.

Each target is "module:function" and receives the deleted item's old image (a dict).
"""

from chalicelib.events.streams import register_ttl_reaction

register_ttl_reaction("accounts", "TOMBSTONE", "chalicelib.workflows.erasure:start_after_grace")
register_ttl_reaction("content", "UPLOAD#", "chalicelib.events.content_ttl:expired_upload")
register_ttl_reaction("content", "IMG#", "chalicelib.events.content_ttl:expired_image")
register_ttl_reaction("content", "DEADLINE", "chalicelib.events.content_ttl:expired_deadline")
register_ttl_reaction("ledger", "HOLD", "chalicelib.events.ledger_ttl:expired_hold")
