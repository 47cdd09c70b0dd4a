"""What happens when a record's TTL deletes it: one line per record class.

Each reaction receives the deleted item's old image (a dict) and declares what it touches; the
consumer function of the record's table is granted exactly that (chalicelib/grants.py).
Imported by the stream consumers on their first record, never at `import app`.

A record class reacts once it has an `SK_PREFIX`; the first reaction on a table also needs that
table's consumer line in chalicelib/events/streams.py (tests/unit/test_event_registrations.py says so).
"""

from chalicelib.events.content_ttl import expired_deadline, expired_image, expired_upload
from chalicelib.events.expiry import on_expiry
from chalicelib.events.incident_ttl import clock_mark_expired
from chalicelib.events.ledger_ttl import expired_hold
from chalicelib.events.request_ttl import reminder_expired
from chalicelib.grants import Uses
from chalicelib.store.models.content import GalleryImage, JobDeadline, Upload
from chalicelib.store.models.incidents import IncidentClockMark
from chalicelib.store.models.ledger import CreditHold
from chalicelib.store.models.rights import RequestReminder, Tombstone
from chalicelib.workflows.erasure import start_after_grace

TTL_REACTIONS = (
    # The run record (requests table) is written before the workflow starts: its input is the run id alone.
    on_expiry(Tombstone, start_after_grace, uses=Uses(write_tables="requests", start_workflows="erasure")),
    on_expiry(Upload, expired_upload, uses=Uses(write_buckets="content")),
    on_expiry(GalleryImage, expired_image, uses=Uses(write_buckets="content")),
    # a timed-out job also deletes its input archive (CNT-5, CNT-6); one the Telegram bot asked for is
    # answered in the linked account's chat (its Telegram ID read from the account, the bot's token
    # from Secrets Manager)
    on_expiry(
        JobDeadline,
        expired_deadline,
        uses=Uses(
            write_tables=("content", "ledger"),
            write_buckets="content",
            read_tables="accounts",
            secrets="telegram-bot-token",
        ),
    ),
    on_expiry(CreditHold, expired_hold, uses=Uses(write_tables="ledger")),
    on_expiry(IncidentClockMark, clock_mark_expired, uses=Uses(write_tables="requests")),
    on_expiry(RequestReminder, reminder_expired, uses=Uses(write_tables="requests")),  # DSR-11
)
