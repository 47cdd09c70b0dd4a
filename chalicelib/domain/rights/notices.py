"""Policy change notices (OPS-2): who must be told of a significant version, the in-app list and its
acknowledgement (with re-consent where a version asks consent for a new purpose), and the e-mail
fan-out, one bounded page of accounts per task invocation.

A person is owed a notice of every significant version that took effect after they signed up. The
in-app list shows those not yet acknowledged where the version's `change_notice` names `in_app`, and
wherever the version adds a consent purpose (the answer is asked in the app whatever the channel).
E-mail goes only where the version's `change_notice` names `email`, once per person and version: a
conditional claim is written before each send, so a retried page never mails twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

from chalicelib import clock
from chalicelib.domain.ports.rights import Announcement
from chalicelib.domain.rights import consent, paging
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.metrics import Metric, emit
from chalicelib.profile.schema import PolicyRelease

SYSTEM = "system"
PAGES_PER_EXECUTION = 2000  # then the next execution goes on (Step Functions' 25,000 history events)


def in_force_since(release: PolicyRelease) -> datetime:
    return datetime.combine(release.effective, time(), tzinfo=UTC)


def owed(ctx: RightsContext, signed_up_at: datetime) -> list[PolicyRelease]:
    """The significant versions that took effect after the person signed up, oldest first."""
    return [r for r in ctx.profile.history[1:] if r.significant and in_force_since(r) > signed_up_at]


def _shown_in_app(release: PolicyRelease) -> bool:
    return "in_app" in release.change_notice or bool(release.consent_purposes_added)


def _view(ctx: RightsContext, release: PolicyRelease) -> dict[str, Any]:
    return {
        "version": release.version,
        "effective": release.effective.isoformat(),
        "changes": [c.text for c in release.changes if c.significant],
        "decisions": list(release.consent_purposes_added),  # answered with the acknowledgement
        "policy_url": f"{ctx.public_base_url}/policy",
    }


def pending(ctx: RightsContext, user_id: str) -> list[dict[str, Any]]:
    """`GET /me/notices`: the notices the person has not acknowledged, oldest first."""
    person = ctx.notices.addressee(user_id)
    if person is None:
        raise NotFound("No such account.")
    acknowledged = {r.version for r in ctx.notices.receipts(user_id) if r.acknowledged_at is not None}
    return [
        _view(ctx, r)
        for r in owed(ctx, person.signed_up_at)
        if r.version not in acknowledged and _shown_in_app(r)
    ]


def acknowledge(ctx: RightsContext, user_id: str, version: str, decisions: dict[str, bool]) -> dict[str, Any]:
    """`POST /me/notices/{version}/ack`. A version adding consent purposes needs an answer for each:
    it is recorded through the consent mechanism (DSR-6), then the acknowledgement."""
    notice = next((n for n in pending(ctx, user_id) if n["version"] == version), None)
    if notice is None:
        if any(r.version == version and r.acknowledged_at for r in ctx.notices.receipts(user_id)):
            raise Conflict("This notice was already acknowledged.")
        raise NotFound("No such notice for this account.")
    asked = set(notice["decisions"])
    if set(decisions) != asked:
        raise InvalidInput(
            "Answer each consent this version asks for, and only those.",
            details={"decisions": sorted(asked)},
        )
    for purpose in notice["decisions"]:
        if decisions[purpose]:
            consent.record_consent(ctx, user_id, purpose, True)
        else:  # declined, not withdrawn: nothing was granted under these terms, so no withdrawal request
            ctx.rights.add_consent(user_id, purpose, False, ctx.profile.policy.version, clock.now())
    ctx.notices.acknowledge(user_id, version, clock.now())
    return {"version": version, "acknowledged": True, "consents": consent.current_consents(ctx, user_id)["consents"]}


# -- the e-mail fan-out ----------------------------------------------------------------------------
def announce(ctx: RightsContext, operator: str, version: str | None) -> dict[str, Any]:
    """Operator action: e-mail the people owed a notice of `version` (default: the version in force)."""
    release = ctx.profile.release(version or ctx.profile.policy.version)
    if release is None:
        raise NotFound("No such policy version.")
    if not release.significant:
        raise Conflict("This version changes nothing significant: it is published, not notified.")
    if "email" not in release.change_notice:
        raise Conflict(f"This policy announces changes by {', '.join(release.change_notice)}, not by e-mail.")
    now = clock.now()
    announcement = Announcement(release.version, uuid.uuid4().hex, operator, now)
    if not ctx.notices.start_announcement(announcement):
        raise Conflict("This version is already being announced or was announced.")
    ctx.rights.audit(operator, "announce_policy_version", now, None, {"version": release.version})
    ctx.notices_workflow.start(f"notices-{announcement.run_id}", {"version": release.version})
    return announcement_view(announcement)


def announcement_view(announcement: Announcement) -> dict[str, Any]:
    return {
        "version": announcement.version,
        "status": announcement.status,
        "started_at": announcement.started_at.isoformat(),
        "sent": announcement.sent,
    }


def _message(ctx: RightsContext, release: PolicyRelease) -> tuple[str, str]:
    service = ctx.profile.service.name
    lines = [f"{service} is changing its privacy policy. Version {release.version} takes effect on "]
    lines[0] += f"{release.effective.isoformat()}. What changes for you:"
    lines += [f"- {c.text}" for c in release.changes if c.significant]
    if release.consent_purposes_added:
        lines.append(
            "We will ask for your consent to: "
            + ", ".join(release.consent_purposes_added)
            + ". Until you answer in your account's notices, we treat it as not given."
        )
    lines.append(f"The whole policy and its history: {ctx.public_base_url}/policy")
    return f"{service}: our privacy policy changes on {release.effective.isoformat()}", "\n".join(lines)


def mail_page(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Workflow task: one page of accounts; each person owed the notice is mailed once (claim first)."""
    release = ctx.profile.release(event["version"])
    run = ctx.notices.get_announcement(event["version"])
    if release is None or run is None:
        raise NotFound("No such announcement.")
    position = paging.Position.of(event, "mailed")

    def keep(cursors: dict[str, Any]) -> None:
        ctx.notices.update_announcement(release.version, cursors=cursors)

    accounts = paging.next_page(position, run.cursors, "mail", [ctx.notices.addressees_page], ctx.page_size, keep)
    subject, text = _message(ctx, release)
    since, sent = in_force_since(release), 0
    for person in accounts.items:
        if not person.active or not person.email or person.signed_up_at >= since:
            continue
        if not ctx.notices.claim_email(person.user_id, release.version, clock.now()):
            continue  # mailed by an earlier attempt of this page
        try:
            ctx.email.send(person.email, subject, text)
        except Exception:
            ctx.notices.release_email(person.user_id, release.version)
            raise
        sent += 1
    result = position.result(accounts, sent=position.total("sent", sent))
    ctx.notices.update_announcement(release.version, sent=result["sent"])
    if sent:
        emit(Metric.POLICY_NOTICES_SENT, sent)
    if result["more"] and result["page"] % PAGES_PER_EXECUTION == 0:
        # An execution keeps at most 25,000 history events (about 7 a page): a fresh execution goes
        # on from the next page, so any number of accounts is reached. Its name is fixed by the page,
        # so a retried page finds it started and starts no other.
        ctx.notices_workflow.start(
            f"notices-{run.run_id}-from-{result['page']}", {"version": release.version, "mailed": result}
        )
        return {**result, "more": False, "handed_off": True}
    return {**result, "handed_off": False}


def finish(ctx: RightsContext, event: dict[str, Any], *, failed: bool = False) -> dict[str, Any]:
    """Last task (or the failure state's): the run ends and its cursors go."""
    status = "failed" if failed else "sent"
    ctx.notices.update_announcement(event["version"], status=status, cursors={}, finished_at=clock.now())
    sent = int((event.get("mailed") or {}).get("sent", 0))
    ctx.rights.audit(SYSTEM, f"policy_notices_{status}", clock.now(), None, {"version": event["version"], "sent": sent})
    return {"status": status, "sent": sent}
