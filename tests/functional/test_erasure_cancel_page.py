"""DSR-9: the cancel link in the erasure e-mail works from a mail client: a GET opens a page (and
changes nothing), its form posts the code, and the account is active again."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.support.auth import sign_up
from tests.support.mail import sent_emails

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def starter(monkeypatch):
    from chalicelib import wiring
    from tests.support.rights import CapturingStarter

    capturing = CapturingStarter()
    monkeypatch.setattr(wiring, "workflow", lambda kind: capturing)
    return capturing


def _erasure_mail(person) -> str:
    return [m for m in sent_emails() if person.email in m["to"] and "will be erased" in m["subject"]][-1]["body"]


def test_dsr9_the_emailed_link_opens_a_page_whose_form_cancels_the_erasure(client, aws, starter):
    from chalicelib import wiring

    person = sign_up(client)
    client.http.delete("/me", headers=person.headers)
    link = re.search(r"(https?://\S+/me/erasure/cancel)#token=(\S+)", _erasure_mail(person))
    assert link, "the e-mail carries the cancel link with the code in its fragment"
    token = link.group(2)

    page = client.http.get("/me/erasure/cancel")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert b"<form method='post' action='/me/erasure/cancel'>" in page.body
    assert wiring.accounts_store().get_user(person.user_id).status != "active", "opening the link changes nothing"

    wrong = client.http.post("/me/erasure/cancel", headers=FORM, body=f"token={quote(person.user_id)}.nope-nope-nope")
    assert wrong.status_code == 400
    assert wrong.headers["Content-Type"].startswith("text/html")

    done = client.http.post("/me/erasure/cancel", headers=FORM, body=f"token={quote(token)}")
    assert done.status_code == 200, done.body
    assert b"Erasure cancelled" in done.body
    assert wiring.accounts_store().get_user(person.user_id).status == "active"
