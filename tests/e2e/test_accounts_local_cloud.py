"""e2e: a new user signs in through the local cloud by reading the code from the outbox (ACC-1),
uses the session, signs out; the tables hold neither the code nor the token."""

from __future__ import annotations

import uuid

from tests.e2e.web import call, login_code, stored_text


def test_acc1_new_user_signs_in_with_the_code_from_the_outbox(local_cloud):
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    status, body = call("POST", f"{local_cloud.api}/auth/email/code", {"email": email})
    assert (status, body) == (202, {"status": "sent_if_possible"})
    code = login_code(local_cloud, email)

    status, session = call(
        "POST", f"{local_cloud.api}/auth/email/verify", {"email": email, "code": code, "birth_date": "1990-01-01"}
    )
    assert status == 200, session
    headers = {"Authorization": f"Bearer {session['token']}"}
    status, me = call("GET", f"{local_cloud.api}/me", headers=headers)
    assert status == 200
    assert (me["email"], me["email_verified"]) == (email, True)

    stored = stored_text(local_cloud, ("-accounts", "-logs"))
    assert code not in stored
    assert session["token"] not in stored

    assert call("POST", f"{local_cloud.api}/auth/logout", headers=headers)[0] == 200
    assert call("GET", f"{local_cloud.api}/me", headers=headers)[0] == 401
    assert call("POST", f"{local_cloud.api}/auth/email/verify", {"email": email, "code": code})[0] == 401
