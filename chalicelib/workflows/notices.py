"""Step Functions task handlers for the policy change notices' e-mail fan-out (OPS-2): one small
function per task.

The execution's input is the policy version alone; each `notices_mail_page` invocation reads one
bounded page of accounts (P3) from the cursor kept beside the announcement and mails each person
owed the notice once (a claim is written before each send, so a retried page mails nobody twice).
The ASL (infra/asl/notices.asl.json) invokes it again while `more`, retries every task and catches
into `notices_fail`; after 2,000 pages the task starts a fresh execution from the next page.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.grants import Uses, lambda_function

bp = Blueprint(__name__)

# The announcement (cursors, counts) and the audit entry live in the requests table.
ANNOUNCEMENT = Uses(write_tables="requests")


def _rights():
    from chalicelib import wiring

    return wiring.rights_service()


# Reads the accounts a page at a time and writes each person's receipt (the claim) beside the account;
# after 2,000 pages it starts the execution that goes on.
MAILS = ANNOUNCEMENT | Uses(write_tables="accounts", send_email=True, start_workflows="notices")


@lambda_function(bp, "notices_mail_page", uses=MAILS)
def notices_mail_page(event, context):
    return _rights().notices_mail_page(event)


@lambda_function(bp, "notices_finish", uses=ANNOUNCEMENT)
def notices_finish(event, context):
    return _rights().notices_finish(event)


@lambda_function(bp, "notices_fail", uses=ANNOUNCEMENT)
def notices_fail(event, context):
    return _rights().notices_fail(event)
